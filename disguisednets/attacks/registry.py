"""The attacks as registered parts (docs/method.md §4).

Each :class:`Attack` declares the threat level it models and what it needs — known pairs, the
disguised training data the cloud observes, public images, a unit size — and the attack task
(:mod:`disguisednets.tasks.attack`) hands it exactly that, as a :class:`Knowledge`. Threat levels
(paper §IV): ``a`` — the cloud holds disguised data only (plus public same-domain images and the
mechanism's public settings); ``b`` — it also knows m original/disguised pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import logging
from typing import Any, Callable, Mapping

import numpy as np

from disguisednets.attacks.codebook import codebook_attack
from disguisednets.attacks.covariance import covariance_attack
from disguisednets.attacks.dp_denoise import dp_denoise_attack
from disguisednets.attacks.etc_statistics import estimate_etc_key, undo_etc
from disguisednets.attacks.frequency import frequency_attack
from disguisednets.attacks.frequency_rank import frequency_rank_attack
from disguisednets.attacks.higher_order import higher_order_attack
from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.instahide_carlini import carlini_attack
from disguisednets.attacks.jigsaw import border_value, jigsaw_attack
from disguisednets.attacks.learned_inverse import silhouette_images, train_inverse
from disguisednets.attacks.peers import etc_jigsaw, instahide_magnitude, key_recovered, known_pair, nibble_statistics
from disguisednets.attacks.regression import regression_attack
from disguisednets.attacks.row_leak import row_leak_attack
from disguisednets.attacks.value_frequency import value_frequency_attack
from disguisednets.attacks.view import AttackerView, Knowledge, Reconstruction, as_picture, attacker_view
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec
from disguisednets.mechanisms.pixelization import laplace_scale
from disguisednets.mechanisms.registry import make_mechanism, traits_of
from disguisednets.plugins import ATTACK_GROUP, load_plugins
from disguisednets.registry import Registry

_log = logging.getLogger(__name__)

__all__ = ["ATTACKS", "Attack", "AttackerView", "Knowledge", "Reconstruction", "as_picture", "attacker_view",
           "check_attack", "cross_fit"]


@dataclass(frozen=True)
class Attack:
    """A registered attack: its threat level, what it needs, and its reconstruction."""

    name: str
    threat: str                  # 'a' (disguised data only) | 'b' (known pairs)
    summary: str
    run: Callable[[Knowledge, Mapping[str, Any]], Reconstruction]
    needs_pairs: bool = False
    needs_observed: bool = False
    needs_public: bool = False
    needs_unit: bool = False
    needs_epochs: bool = False   # every epoch's encodings of the private set (InstaHide's fresh encodings)
    places_blocks: bool = False  # puts reconstructed blocks back by π: the true one if handed it, else π̂
    targets: tuple[str, ...] = ()  # the schemes it is built for, by name (an adaptive attack)
    requires: frozenset[str] = frozenset()  # the traits (mechanisms.base.TRAITS) of every scheme it applies to
    colour_aware: bool = False   # reads colour images whole (a scheme that mixes channels); else channels are folded
    cross_fits: bool = True      # its clean-up may be fitted on cross-fitted pairs (False: each fit trains a network)
    # Its own stages, where it changes one (tasks/attack.py: find the arrangement → undo each position → clean up →
    # score); None: the battery's. ``run`` is the undo stage.
    arrange: Callable[[Knowledge, Mapping[str, Any]], np.ndarray] | None = None   # what the cloud holds → π̂
    clean_up: Callable[[np.ndarray, Knowledge, Mapping[str, Any]], np.ndarray] | None = None  # raw → scored images

    def applies_to(self, mechanism: str, traits: frozenset[str] | None = None) -> bool:
        """Whether the battery (an audit, a benchmark) runs it on ``mechanism``: a scheme it is built for by
        name, or one whose traits include all it requires — ``traits``, what the scheme is at the setting
        (declared or measured by the probe: mechanisms.registry.setting_traits), else what it declares; an attack
        with neither (direct) runs on all."""
        if mechanism in self.targets:
            return True
        if self.requires:
            return self.requires <= (traits_of(mechanism) if traits is None else traits)
        return not self.targets

    def with_stages(self, name: str, summary: str, **changes) -> "Attack":
        """This attack under another name with the stages (and needs) in ``changes`` replaced — how a plugin
        supplies only the stage it changes, e.g. ``ATTACKS["regression"].with_stages("my_regression", "…",
        arrange=my_arrangement)``."""
        return replace(self, name=name, summary=summary, **changes)

    def reconstruct(self, knowledge: Knowledge, options: Mapping[str, Any]) -> Reconstruction:
        view = knowledge.view
        if self.needs_unit and (view.block_size ** 2) % view.unit:
            raise ValueError(f"The {self.name} attack needs b·b to be a multiple of the unit size: "
                             f"b={view.block_size}, unit={view.unit}. Set attack.unit to a divisor of "
                             f"{view.block_size ** 2}.")
        for needed, field in ((self.needs_pairs, "known_plain"), (self.needs_observed, "observed"),
                              (self.needs_public, "public")):
            if needed and getattr(knowledge, field) is None:
                raise ValueError(f"The {self.name} attack needs {field}, and was not given it.")
        return self.run(knowledge, options)


def _blocks_to_images(blocks: np.ndarray, view: AttackerView) -> np.ndarray:
    return scatter_blocks(blocks, view.image_shape, view.permutation).astype(np.float32)


def _direct(k: Knowledge, o) -> Reconstruction:
    return Reconstruction(as_picture(k.view, k.target), {})


def _codebook(k: Knowledge, o) -> Reconstruction:
    v = k.view
    blocks, hits = codebook_attack(gather_blocks(k.known_plain, v.block_size, v.permutation),
                                   gather_blocks(k.known_disguised, v.block_size),
                                   gather_blocks(k.target, v.block_size), unit=v.unit, miss_fill=o["miss_fill"],
                                   foreground_value=o.get("foreground_value"))
    return Reconstruction(_blocks_to_images(blocks, v), {}, hits)


def _regression(k: Knowledge, o) -> Reconstruction:
    v = k.view
    blocks = regression_attack(gather_blocks(k.known_plain, v.block_size, v.permutation),
                               gather_blocks(k.known_disguised, v.block_size), gather_blocks(k.target, v.block_size),
                               mode=v.mode, form=o["regression_form"])
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _frequency(k: Knowledge, o) -> Reconstruction:
    v = k.view
    blocks = frequency_attack(gather_blocks(k.observed, v.block_size), gather_blocks(k.target, v.block_size),
                              unit=v.unit, foreground_value=o["foreground_value"])
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _frequency_rank(k: Knowledge, o) -> Reconstruction:
    v = k.view
    public = apply_noise(k.public, make_noise_spec(v.noise), np.random.default_rng(int(o.get("seed", 0))))
    blocks = frequency_rank_attack(gather_blocks(k.observed, v.block_size),
                                   gather_blocks(public, v.block_size, v.permutation),
                                   gather_blocks(k.target, v.block_size), unit=v.unit, top=int(o.get("top", 1024)),
                                   weight=float(o.get("weight", 1.0)))
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _covariance(k: Knowledge, o) -> Reconstruction:
    v = k.view
    blocks = covariance_attack(gather_blocks(k.public, v.block_size, v.permutation),
                               gather_blocks(k.observed, v.block_size), gather_blocks(k.target, v.block_size),
                               mode=v.mode)
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _higher_order(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if "linear" not in v.traits:
        raise ValueError(f"The higher_order attack undoes an invertible linear map per block position (a scheme "
                         f"with the trait 'linear', e.g. rmt); {v.mechanism} is neither declared nor measured so.")
    rng = np.random.default_rng(int(o.get("seed", 0)))
    noised = None
    if make_noise_spec(v.noise)["kind"] != "none":   # noise comes before the transform: simulated on public images
        noised = gather_blocks(apply_noise(k.public, make_noise_spec(v.noise), rng), v.block_size, v.permutation)
    limit = o.get("max_observed")
    blocks = higher_order_attack(gather_blocks(k.public, v.block_size, v.permutation),
                                 gather_blocks(k.observed[:limit] if limit else k.observed, v.block_size),
                                 gather_blocks(k.target, v.block_size), mode=v.mode, public_noised=noised,
                                 seed=int(o.get("seed", 0)), restarts=int(o.get("restarts", 8)))
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _dp_denoise(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if v.mechanism != "dp_pixelization":
        raise ValueError(f"The dp_denoise attack inverts DP pixelization (mechanism=dp_pixelization); got {v.mechanism}.")
    spec = v.key.spec  # b, ε and m: public settings (the scheme has no secret)
    scale = laplace_scale(spec["block_size"], spec["epsilon"], spec["m"])
    rng = np.random.default_rng(int(o.get("seed", 0)))
    return Reconstruction(dp_denoise_attack(k.public, k.target, v.block_size, scale, rng), {})


def _instahide_carlini(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if v.mechanism != "instahide":
        raise ValueError(f"The instahide_carlini attack reads InstaHide encodings; got {v.mechanism}.")
    spec = v.key.spec  # public settings: k and the normalization (InstaHide's secrets are one-time draws)
    epochs, rng = int(o["epochs"]), np.random.default_rng(int(o.get("seed", 0)))
    own = np.asarray(k.public[:len(k.target)])     # the attacker encodes public images itself, as many, as often
    scheme = make_mechanism(v.key)
    encoded = [scheme.encode(own, None, rng) for _ in range(epochs)]
    calibration = (np.concatenate([e for e, _, _ in encoded]), np.concatenate([s["partners"] for _, _, s in encoded]))
    return Reconstruction(carlini_attack(k.target, k.observed, k=spec["k"], epochs=epochs, mean=spec["mean"],
                                         std=spec["std"], mean_image=np.asarray(k.public, np.float64).mean(0),
                                         calibration=calibration), {})


def _etc_statistics(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if v.mechanism != "etc":
        raise ValueError(f"The etc_statistics attack reads EtC's key off per-position statistics; got {v.mechanism}.")
    limit = o.get("max_observed")
    estimate = estimate_etc_key(k.observed[:limit] if limit else k.observed, k.public, v.block_size)
    undo = lambda d: undo_etc(d, estimate)  # noqa: E731
    channels = k.target.shape[3] if np.ndim(k.target) == 4 else 0
    extras = key_recovered(v, undo, channels)
    if v.true_permutation is not None and len(v.true_permutation):
        extras["permutation_recovered"] = 100 * float(np.mean(estimate.source == v.true_permutation))
    return Reconstruction(undo(k.target).astype(np.float32), extras)


_LEARNABLE = ("dp_pixelization", "instahide", "aes_ecb", "aes_cbc")


def _learned(k: Knowledge, o) -> Reconstruction:
    """A network trained on public images from what the attacker can simulate to the image (learned_inverse)."""
    v = k.view
    if v.mechanism not in _LEARNABLE:
        raise ValueError(f"The {o['name']} attack learns an inverse of what public images can be made to show: "
                         f"{', '.join(_LEARNABLE)}; got {v.mechanism}.")
    if k.known_plain is not None and v.mechanism != "dp_pixelization":
        raise ValueError(f"The {o['name']} attack adds known pairs to the learned inverse of DP pixelization only; "
                         f"got {v.mechanism} (use attack=learned, with no pairs).")
    if v.mechanism == "aes_cbc" and v.key.spec.get("iv") == "random":
        raise ValueError("AES-CBC with a random IV per image leaks no silhouette: the learned attack needs "
                         "mechanism.iv=per_position.")
    seed = int(o.get("seed", 0))
    rng = np.random.default_rng(seed)
    noise = make_noise_spec(v.noise)
    extras: dict[str, float] = {}
    pairs = None
    if v.mechanism == "dp_pixelization":   # no secret: the attacker releases public images as the owner does
        scheme = make_mechanism(v.key)
        simulate = lambda images, r: scheme.disguise(images, r)  # noqa: E731
        inputs = np.asarray(k.target, np.float32)
        if k.known_plain is not None:
            pairs = (np.asarray(k.known_disguised, np.float32), k.known_plain)
    elif v.mechanism == "instahide":       # secrets drawn afresh per encoding: the attacker encodes public images itself
        scheme, spec = make_mechanism(v.key), v.key.spec
        picture = lambda e: mixture_picture(e, spec["mean"], spec["std"])  # noqa: E731  (signs dropped)
        def simulate(images, r):   # → (mixtures, the image each mixes with the largest coefficient)
            encoded, _, drawn = scheme.encode(images, None, r)
            rows = np.arange(len(images))
            return picture(encoded), images[drawn["partners"][rows, np.argmax(drawn["coefficients"], axis=1)]]
        inputs = picture(k.target)
    else:                                  # what ECB (or per-position-IV CBC) leaks: unit silhouettes, placed by π̂
        limit = o.get("max_observed")
        inputs, plain, perm = silhouette_images(k.observed[:limit] if limit else k.observed, k.target,
                                                apply_noise(k.public, noise, rng), v.block_size, v.unit,
                                                chained=v.mechanism == "aes_cbc")
        simulate = lambda images, r: plain(apply_noise(images, noise, r))  # noqa: E731
        if len(v.true_permutation):
            extras["permutation_recovered"] = 100 * float(np.mean(perm == v.true_permutation))
    architecture = o.get("architecture") or "auto"   # auto: a U-Net pulls apart InstaHide's mixtures, an MLP the rest
    if architecture == "auto":
        architecture = "unet" if v.mechanism == "instahide" else "mlp"
    budget = o.get("budget_s")
    recon, info = train_inverse(simulate, np.asarray(k.public), inputs, pairs=pairs, epochs=int(o.get("epochs", 30)),
                                architecture=architecture, seed=seed,
                                budget_s=float(budget) if budget is not None else None, log=_log.info)
    return Reconstruction(recon, {**extras, **info})


def _value_frequency(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if not {"pixelwise", "block_permutation"} <= v.traits:
        raise ValueError(f"The value_frequency attack reads schemes that map each pixel one-to-one in its place "
                         f"(traits pixelwise and block_permutation); {v.mechanism} is neither declared nor measured so.")
    limit = o.get("max_observed")
    images, source = value_frequency_attack(k.observed[:limit] if limit else k.observed, k.public, k.target,
                                            v.block_size, top=int(o.get("top", 8)))
    extras = {}
    if v.true_permutation is not None and len(v.true_permutation):
        extras["permutation_recovered"] = 100 * float(np.mean(source == v.true_permutation))
    return Reconstruction(images, extras)


def _jigsaw(k: Knowledge, o) -> Reconstruction:
    v, public = k.view, k.public
    if v.block_size < 2:
        raise ValueError("The jigsaw attack needs blocks of at least 2×2 pixels.")
    if "pixel_blocks" not in v.traits:
        raise ValueError(f"The jigsaw attack solves puzzles of blocks in pixel space (a scheme with the trait "
                         f"'pixel_blocks', e.g. permutation, etc); {v.mechanism} blocks are neither declared nor "
                         "measured so.")
    limit = o.get("max_observed")
    observed = gather_blocks(k.observed[:limit] if limit else k.observed, v.block_size)
    target = gather_blocks(k.target, v.block_size)
    if v.mechanism == "etc":
        return etc_jigsaw(k, o, observed)
    perm_hat = jigsaw_attack(observed, v.grid, border_value=border_value(public), starts=int(o["starts"]),
                             seed=int(o.get("seed", 0)))
    images = scatter_blocks(target, v.image_shape, perm_hat).astype(np.float32)
    return Reconstruction(images, {"permutation_recovered": 100 * float(np.mean(perm_hat == v.true_permutation))})


def _row_leak(k: Knowledge, o) -> Reconstruction:
    v = k.view
    if v.mode != "matrix":
        raise ValueError("The row_leak attack reads rows of R_i off single-pixel block rows: it needs RMT's "
                         "matrix mode (mechanism.mode=matrix).")
    blocks, found = row_leak_attack(gather_blocks(k.observed, v.block_size), gather_blocks(k.target, v.block_size),
                                    gather_blocks(k.public, v.block_size, v.permutation),
                                    orthogonal=v.kind == "orthogonal")
    extras = {"rows_found": 100 * float(np.isfinite(found[..., 0]).mean())}
    if v.true_matrices is not None:  # scoring: a found row is recovered if it points along the true one
        true = v.true_matrices[v.true_permutation]                           # (t, b, b), disguised positions
        unit = lambda m: m / np.linalg.norm(m, axis=-1, keepdims=True)      # noqa: E731
        with np.errstate(invalid="ignore", divide="ignore"):                 # rows not found: NaN → no match
            cos = np.nan_to_num(np.abs((unit(np.nan_to_num(found)) * unit(true)).sum(-1)))
        extras["rows_recovered"] = 100 * float(np.mean(cos > 0.999))
    return Reconstruction(_blocks_to_images(blocks, v), extras)


ATTACKS: Registry[Attack] = Registry("attack", ((a.name, a) for a in (
    Attack("direct", "a", "the examiner on the disguised images as they are", _direct),
    Attack("codebook", "b", "AES-ECB: ciphertext unit → plaintext unit per block position, from m pairs", _codebook,
           needs_pairs=True, needs_unit=True, places_blocks=True, requires=frozenset({"equal_units"})),
    Attack("regression", "b", "RMT: least squares per block position from m pairs", _regression, needs_pairs=True, places_blocks=True,
           requires=frozenset({"linear"})),
    Attack("frequency", "a", "AES-ECB: each position's most frequent unit is background", _frequency,
           needs_observed=True, needs_unit=True, places_blocks=True, requires=frozenset({"equal_units"})),
    Attack("frequency_rank", "a", "AES-ECB: each position's ciphertext units paired with public plaintext units "
           "by frequency and place in the block", _frequency_rank, needs_observed=True, needs_public=True,
           needs_unit=True, places_blocks=True, requires=frozenset({"equal_units"})),
    Attack("covariance", "a", "orthogonal RMT: align eigenvectors of public and disguised block covariances",
           _covariance, needs_observed=True, needs_public=True, places_blocks=True, requires=frozenset({"linear"})),
    Attack("higher_order", "a", "RMT, any invertible R_i: whitening, then the rotation left by the covariance "
           "fixed by higher-order statistics (FastICA, components paired by their distributions, moment tensors matched)",
           _higher_order, needs_observed=True, needs_public=True, places_blocks=True, requires=frozenset({"linear"})),
    Attack("jigsaw", "a", "block permutation: edge compatibility over the disguised training set", _jigsaw,
           needs_observed=True, needs_public=True, requires=frozenset({"pixel_blocks"})),
    Attack("value_frequency", "a", "any pixelwise block scheme: π from each position's sorted value frequencies, "
           "then per position and place disguised values paired with public values by frequency rank",
           _value_frequency, needs_observed=True, needs_public=True,
           requires=frozenset({"pixelwise", "block_permutation"})),
    Attack("etc_statistics", "a", "EtC: π from each position's sorted folded values min(p, 255 − p), then per position "
           "the symmetry, sign and channel order whose mean and covariance match the public images'", _etc_statistics,
           needs_observed=True, needs_public=True, targets=("etc",), colour_aware=True),
    Attack("row_leak", "a", "noiseless RMT: rows of R_i read off single-pixel block rows, then inverted",
           _row_leak, needs_observed=True, needs_public=True, places_blocks=True, requires=frozenset({"linear"})),
    Attack("known_pair", "b", "permutation, EtC, learnable encryption: the key read off m pairs, then undone",
           known_pair, needs_pairs=True, targets=("permutation", "etc", "learnable")),
    Attack("nibble_statistics", "a", "learnable encryption: flips, nibble pairs and places from the disguised "
           "data's statistics and public images", nibble_statistics, needs_observed=True, needs_public=True,
           targets=("learnable",)),
    Attack("instahide_carlini", "a", "InstaHide: Carlini et al.'s attack — encodings that share an image grouped "
           "over every epoch the cloud holds, the image solved from each group", _instahide_carlini,
           needs_public=True, needs_epochs=True, targets=("instahide",)),
    Attack("dp_denoise", "a", "DP pixelization: the least-squares linear estimate of an image from its noisy cells, "
           "fitted on public images pixelized and noised alike", _dp_denoise, needs_public=True,
           targets=("dp_pixelization",)),
    Attack("learned", "a", "DP pixelization, InstaHide, AES-ECB, per-position-IV AES-CBC: a network trained on public "
           "images from what the attacker simulates (the release; the encoding's magnitudes; the background-unit "
           "silhouette) back to the image", _learned,
           needs_observed=True, needs_public=True, targets=_LEARNABLE),
    Attack("learned_pairs", "b", "DP pixelization: the learned inverse trained on public images and the m known pairs",
           _learned, needs_pairs=True, needs_public=True, targets=("dp_pixelization",), cross_fits=False),
    Attack("instahide_magnitude", "a", "InstaHide: |e| drops the random signs and shows the k images mixed",
           instahide_magnitude, targets=("instahide",)),
)))


def check_attack(name: str, attack: Any) -> None:
    """What a plugin attack must be before it is registered (raises, in a line, what it is not): an
    :class:`Attack` named ``name``, of threat level 'a' or 'b', whose ``run`` can be called."""
    if not isinstance(attack, Attack):
        raise TypeError(f"it is {attack!r}, not a disguisednets.attacks.registry.Attack")
    if attack.name != name:
        raise ValueError(f"its Attack is named {attack.name!r}, its entry point {name!r}: they must agree")
    if attack.threat not in ("a", "b"):
        raise ValueError(f"its threat level is {attack.threat!r}; 'a' (no pairs) or 'b' (known pairs) expected")
    if not callable(attack.run):
        raise TypeError(f"its run is {attack.run!r}, not a function (knowledge, options) → Reconstruction")
    for stage in ("arrange", "clean_up"):
        if getattr(attack, stage) is not None and not callable(getattr(attack, stage)):
            raise TypeError(f"its {stage} stage is {getattr(attack, stage)!r}, not a function")
    if attack.arrange is not None and not attack.places_blocks:
        raise ValueError("it has an arrangement stage (arrange) but does not put blocks back by it "
                         "(places_blocks=False): the battery would never call it")


load_plugins(ATTACKS, ATTACK_GROUP, check_attack)


def cross_fit(attack: Attack, view: AttackerView, options: Mapping[str, Any], known_plain: np.ndarray,
              known_disguised: np.ndarray, rng: np.random.Generator, folds: int = 5,
              max_images: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample reconstructions of the attacker's own known images: the pairs are split into
    ``min(folds, m)`` groups, and (up to ``max_images`` in all of) each group's disguised images are
    reconstructed by the attack fitted on the other groups. Returns (reconstructions, originals),
    what the attacker may fit its clean-up on. Needs a pair attack and m ≥ 2."""
    m = len(known_plain)
    if not attack.needs_pairs or m < 2:
        raise ValueError("Cross-fitting needs an attack fitted on known pairs, and at least two pairs.")
    groups = np.array_split(rng.permutation(m), min(folds, m))
    per_group = max(1, max_images // len(groups))
    recon, truth = [], []
    for g in groups:  # ≤ 5 fits, each over all its images at once
        rest = np.setdiff1d(np.arange(m), g, assume_unique=True)
        held = g[:per_group]
        k = Knowledge(view, known_disguised[held], known_plain=known_plain[rest],
                      known_disguised=known_disguised[rest])
        recon.append(attack.reconstruct(k, options).images)
        truth.append(known_plain[held])
    return np.concatenate(recon), np.concatenate(truth)
