"""The attack task (docs/method.md §4), in explicit stages:

0. **gather** (:func:`gather`) — what the threat level grants, drawn from the grid point;
1. **find the arrangement** (:func:`find_arrangement`) — π̂, for an attack that puts blocks back;
2. **undo each position** — the attack's own ``run`` (:class:`~disguisednets.attacks.registry.Attack`);
3. **clean up** (:func:`clean_up`) — the attacker's clean-up of the raw map;
4. **score** (:func:`score`) — the examiners, linkage, SSIM.

An attack changes a stage by bringing its own (``Attack.arrange``, ``Attack.clean_up``; ``Attack.with_stages``
derives one from another): a plugin's attack supplies only the stage it changes, and the battery's stages do the
rest. Scoring is the battery's alone — every attack is measured alike.

Known pairs are drawn from the owner's training sample, attacked images are the test sample,
"observed" data is the disguised training sample the cloud holds, and public images (level (a))
are training images outside the owner's sample; each attack gets only what it declares
(:data:`disguisednets.attacks.registry.ATTACKS`). The attacker knows the public settings (b, the unit,
the mode, the noise), not π: an attack that puts blocks back in place uses π̂, estimated from what its
threat level grants (:mod:`disguisednets.attacks.permutation_estimate`) — the disguised data the cloud
holds against public images (and its own known originals), plus, at level (b), the fit of its pairs —
and logs how much of π it got right. ``attack.knows_permutation=true`` hands it the true π instead: an
upper bound, labelled as such.

Every reconstruction ends with the attacker's clean-up (:mod:`disguisednets.attacks.cleanup`;
``attack.cleanup=false`` scores the raw map) and is scored three ways: success under the robust
examiner, success under the paper-protocol examiner (the baseline model of the run's scale), and
the examiner-free linkage rate; plus SSIM and MSE. Scores are taken at the dataset's own image
size (padding cropped off: it is known and zero). Every accuracy and rate is in %. On InstaHide,
whose encodings mix k private images, ``linkage_rate_any`` also counts a reconstruction whose best
match is any of the k (a private image revealed, if not the encoding's own).

Colour (docs/method.md §4 "Colour"): the mechanisms that apply one key to every channel (those that are not
``channel_aware`` and do not mix images: none, the block permutation, RMT, AES, DP pixelization, and a plugin's
alike) are attacked with the channels folded into the batch — each
channel of an image is one more image under the same key, which is what the attacker knows — and the
reconstruction is scored in colour (examiners on C channels, linkage on the whole colour vector, SSIM per
channel). A scheme that mixes channels (EtC's colour shuffle, the learnable encryption, InstaHide) is
refused on colour, but for the direct attack where its images keep their shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from omegaconf import DictConfig

from disguisednets.attacks import hit_rates, images_recovered, linkage_rate, mse, recovered_ssim, ssim, success_rate
from disguisednets.attacks._units import as_units
from disguisednets.attacks.cleanup import Cleanup, fit_cleanup, prior_cleanup
from disguisednets.attacks.examiner import paper_examiner, robust_examiner
from disguisednets.attacks.permutation_estimate import (STATISTICS_BY_TRAIT, estimable, estimate_permutation,
                                                       placement_scores)
from disguisednets.attacks.registry import (ATTACKS, Attack, AttackerView, Knowledge, as_picture, attacker_view,
                                           cross_fit)
from disguisednets.gridpoint import STREAM_ATTACK, STREAM_PERMUTATION, GridPoint
from disguisednets.mechanisms.blocks import gather_blocks
from disguisednets.mechanisms.registry import folds_channels

__all__ = ["AttackResult", "Holdings", "attack", "clean_up", "find_arrangement", "fold_channels", "gather", "score",
           "unfold_channels"]


def fold_channels(images: np.ndarray | None) -> np.ndarray | None:
    """(N, H, W, C) → (N·C, H, W), image-major (each image's channels together); others as they are."""
    if images is None or np.ndim(images) != 4:
        return images
    n, h, w, c = images.shape
    return np.moveaxis(np.asarray(images), -1, 1).reshape(n * c, h, w)


def unfold_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """The inverse of :func:`fold_channels` for ``channels`` ≥ 1 (0: grayscale, as it is)."""
    if not channels:
        return images
    nc, h, w = images.shape
    return np.ascontiguousarray(np.moveaxis(images.reshape(nc // channels, channels, h, w), 1, -1))


def _check_colour(name: str, mechanism: str, same_shape: bool, colour_aware: bool = False) -> None:
    if folds_channels(mechanism) or (name == "direct" and same_shape) or colour_aware:
        return
    raise ValueError(f"The {name} attack on colour images: {mechanism} mixes colour channels (or images), so its "
                     "attack cannot run channel by channel. On colour, attacks run for the schemes that apply one key "
                     "to every channel (a scheme that is not channel_aware and does not mix images: none, permutation, "
                     "rmt, aes_ecb, aes_cbc, dp_pixelization); attack.name=direct shows what the cloud sees. Use "
                     "grayscale images for this scheme's attacks.")


@dataclass
class AttackResult:
    """Metrics (rates and accuracies in %), params and tags to record, and the images of the gallery."""

    metrics: dict[str, float]
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    gallery: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # originals, disguised, recon, labels


def _cleanup(attack: Attack, view: AttackerView, options, raw: np.ndarray, known_plain: np.ndarray,
             known_disguised: np.ndarray, public: np.ndarray | None, rng: np.random.Generator) -> Cleanup:
    """The clean-up this attacker can fit (docs/method.md §4): on cross-fitted known pairs when it has two or
    more (and the attack is cheap enough to refit per fold), else a background prior from the originals it holds
    (its pairs, else public images)."""
    m = len(known_plain)
    if attack.needs_pairs and attack.cross_fits and m >= 2:
        return fit_cleanup(*cross_fit(attack, view, options, known_plain, known_disguised, rng),
                           fitted_on=f"cross-fitted reconstructions of the {m} known pairs")
    if m >= 1:
        return prior_cleanup(raw, known_plain, fitted_on=f"the background share of the {m} known original(s)")
    if public is None or len(public) == 0:
        raise ValueError(f"The {attack.name} attack's clean-up needs public images (training images outside the "
                         "owner's sample), but the owner's sample takes every training image. Set "
                         "dataset.train_size (e.g. dataset.train_size=45000), or attack.cleanup=false to score "
                         "the raw map.")
    return prior_cleanup(raw, public, fitted_on="the background share of public images")


def _public_images(pool: np.ndarray, size: int | None, name: str) -> np.ndarray:
    if size is None:
        return pool
    if size > len(pool):
        raise ValueError(f"The {name} attack asks for {size} public images, but only {len(pool)} training "
                         "images lie outside the owner's sample. Lower attack.public_size or dataset.train_size.")
    return pool[:size]


@dataclass
class Holdings:
    """What the attacker holds (stage 0, :func:`gather`): the targets to reconstruct, its known pairs, the disguised
    training data the cloud observes, public images — channels folded into the batch where the scheme uses one
    key for every channel — and what scoring needs (the originals, InstaHide's partners)."""

    view: AttackerView
    target: np.ndarray
    shown: np.ndarray                 # the disguised test images as they are (the gallery's)
    known_plain: np.ndarray
    known_disguised: np.ndarray
    observed: np.ndarray | None
    public: np.ndarray | None
    folded_public: np.ndarray | None  # every public image (the clean-up's prior when the attack takes none)
    originals: np.ndarray
    labels: np.ndarray
    channels: int                     # 0: grayscale
    fold: bool
    partners: np.ndarray | None       # InstaHide: the private images each encoding mixes
    pairs: int                        # m, the known pairs (images, before channels are folded)
    rng: np.random.Generator

    def knowledge(self, spec: Attack, view: AttackerView) -> Knowledge:
        """Only what ``spec`` declared, with ``view``'s π."""
        return Knowledge(view, self.target, known_plain=self.known_plain if spec.needs_pairs else None,
                         known_disguised=self.known_disguised if spec.needs_pairs else None,
                         observed=self.observed, public=self.public)


def gather(point: GridPoint, cfg: DictConfig, spec: Attack) -> Holdings:
    """Stage 0: what the attack's threat level grants, drawn from the grid point (pairs from the owner's sample,
    targets from the test sample, the observed disguised training data, public images)."""
    a = cfg.attack
    splits = point.splits
    train_x = splits.train[0]
    test_x, test_y = splits.test
    if spec.needs_epochs and a.get("private_images"):  # the attack's cost grows with the square of the set
        test_x, test_y = test_x[:int(a.private_images)], test_y[:int(a.private_images)]
    m = len(train_x) if a.get("known_pairs") is None else int(a.known_pairs)
    if not 0 <= m <= len(train_x):
        raise ValueError(f"attack.known_pairs must be between 0 and {len(train_x)}; got {m}.")
    if spec.needs_pairs and m < 1:
        raise ValueError(f"The {a.name} attack needs at least one known pair (attack.known_pairs ≥ 1).")
    if not spec.needs_pairs and m > 0:
        raise ValueError(f"The {a.name} attack (threat level (a)) uses no known pairs; set attack.known_pairs=0.")
    view = attacker_view(point.key, a.get("unit"), bool(a.get("knows_permutation", True)), splits.image_hw)
    channels = int(test_x.shape[3]) if test_x.ndim == 4 else 0
    if channels:
        same_shape = tuple(point.mechanism.disguise(test_x[:1]).shape[1:]) == tuple(test_x.shape[1:])
        _check_colour(a.name, view.mechanism, same_shape, spec.colour_aware)

    rng = point.rng(STREAM_ATTACK)
    known = rng.choice(len(train_x), size=m, replace=False)
    known_plain = train_x[known]
    known_disguised = point.disguise(known_plain, rng)
    partners = None
    if getattr(point.mechanism, "mixes_labels", False):  # InstaHide: keep which images each encoding mixes (scoring)
        target, _, secrets = point.mechanism.encode(test_x, None, rng)
        partners = secrets["partners"]
    else:
        target = point.disguise(test_x, rng)
    observed = point.disguise(train_x, rng) if spec.needs_observed else None
    if spec.needs_epochs:  # the cloud's encodings of the same private set in the other epochs, each epoch in a new order
        if partners is None:
            raise ValueError(f"The {a.name} attack reads a scheme that encodes afresh every epoch (instahide); "
                             f"got {point.mechanism.name}.")
        others = [point.mechanism.encode(test_x, None, rng)[0][rng.permutation(len(test_x))]
                  for _ in range(int(a.epochs) - 1)]
        observed = np.concatenate(others) if others else target[:0]
    public = _public_images(splits.public, a.get("public_size"), a.name) if spec.needs_public else None
    shown = target
    fold = bool(channels) and a.name != "direct" and not spec.colour_aware
    if fold:                                 # one key for every channel: each channel is one more image
        target, known_plain, known_disguised, observed, public = map(
            fold_channels, (target, known_plain, known_disguised, observed, public))
    return Holdings(view, target, shown, known_plain, known_disguised, observed, public,
                    fold_channels(splits.public) if fold else splits.public, test_x, test_y, channels, fold,
                    partners, m, rng)


def find_arrangement(point: GridPoint, cfg: DictConfig, spec: Attack, held: Holdings) -> tuple[AttackerView, str]:
    """Stage 1 (docs/method.md §4 "Finding π"): the attacker's view with π̂ in place of π, and how π̂ was found —
    by the attack's own stage (``Attack.arrange``) or from position statistics chosen by the scheme's traits
    (:mod:`disguisednets.attacks.permutation_estimate`). The cloud holds the disguised training data at both
    threat levels; the public images it may use are the training images outside the owner's sample and the
    originals of its known pairs; at level (b) the pairs themselves too."""
    view, a = held.view, cfg.attack
    if view.mechanism == "none":
        return view, "the identity (no disguise moves a block)"
    if spec.arrange is None and view.fixed_permutation is not None and "block_permutation" not in view.traits:
        return (replace(view, permutation=view.fixed_permutation),
                "measured: the blocks go the same way under every key (the probe's own keys)")
    if spec.arrange is None and not estimable(view.mechanism, view.traits):
        raise ValueError(f"An attack that puts blocks back needs π, and {view.mechanism} declares no trait π is "
                         f"estimated from ({', '.join(STATISTICS_BY_TRAIT)}, with block_permutation): its π has its "
                         "own attacks (jigsaw, known_pair), or an attack may bring its own arrangement stage "
                         "(Attack.arrange). Set attack.knows_permutation=true to hand this attack the true π (an "
                         "upper bound).")
    fold = fold_channels if held.channels else (lambda x: x)
    rng = point.rng(STREAM_PERMUTATION)  # its own stream: the attack's draws stay those of a run handed π
    limit = int(a.get("permutation_images", 20000))
    train_x = point.splits.train[0]
    observed = fold(point.disguise(train_x[:limit], rng)) if held.observed is None else held.observed[:limit]
    pool = fold(point.splits.public[:limit] if point.splits.public is not None else train_x[:0])
    public = np.concatenate([pool, held.known_plain]) if len(held.known_plain) else pool
    pairs = spec.needs_pairs
    if spec.arrange is not None:
        evidence = Knowledge(view, held.target, known_plain=held.known_plain if pairs else None,
                             known_disguised=held.known_disguised if pairs else None, observed=observed,
                             public=public)
        pihat = np.asarray(spec.arrange(evidence, a), np.int64)
        t = len(view.true_permutation)
        if pihat.shape != (t,) or not np.array_equal(np.sort(pihat), np.arange(t)):
            raise ValueError(f"The {spec.name} attack's arrangement stage returned {pihat.shape} values, not a "
                             f"permutation of the {t} block positions (π̂[j] = the original position of disguised "
                             "position j).")
        used = f"the {spec.name} attack's own arrangement stage, from {len(observed)} disguised and {len(public)} " \
               "public images" + (f" and {len(held.known_plain)} known pairs" if pairs else "")
        return replace(view, permutation=pihat), f"found by {used}"
    pihat, used = estimate_permutation(
        view.mechanism, view.block_size, observed=observed, public=public if len(public) else None,
        known_plain=held.known_plain if pairs else None, known_disguised=held.known_disguised if pairs else None,
        noise=view.noise, unit=view.unit, kind=view.kind, mode=view.mode, rng=rng, traits=view.traits)
    return replace(view, permutation=pihat), f"estimated from {used}"


def clean_up(spec: Attack, cfg: DictConfig, knowledge: Knowledge, raw: np.ndarray,
             held: Holdings) -> tuple[np.ndarray, str, dict[str, float]]:
    """Stage 3: the attacker's clean-up of the raw map (docs/method.md §4) — the attack's own
    (``Attack.clean_up``) or the battery's, fitted on what the attacker holds. Returns (the images scored, what the
    clean-up was, its settings as metrics)."""
    a = cfg.attack
    if spec.name == "direct" or not a.get("cleanup", True):
        return raw, "none (raw map)", {}
    if spec.clean_up is not None:
        images = np.asarray(spec.clean_up(raw, knowledge, a), np.float32)
        if images.shape != raw.shape:
            raise ValueError(f"The {spec.name} attack's clean-up stage returned shape {images.shape} for raw "
                             f"reconstructions of shape {raw.shape}; it must keep the shape.")
        return images, f"the {spec.name} attack's own clean-up stage", {}
    cleanup = _cleanup(spec, knowledge.view, a, raw, held.known_plain, held.known_disguised,
                       held.public if held.public is not None else held.folded_public, held.rng)
    return cleanup(raw), cleanup.describe(), {"cleanup_sigma": cleanup.sigma, "cleanup_threshold": cleanup.threshold}


def score(recon: np.ndarray, originals: np.ndarray, labels: np.ndarray, robust, paper,
          on_originals: tuple[float, float] | None = None) -> dict[str, float]:
    """Success under both examiners, linkage, examiner accuracies (all %), SSIM and MSE, at the
    examiners' image size. ``on_originals``: the two examiners' accuracies (0..1) on the originals."""
    recon_v, orig_v = robust.view(recon), robust.view(originals)
    acc_robust, acc_paper = on_originals or (robust.accuracy(orig_v, labels), paper.accuracy(orig_v, labels))
    attacked_robust, attacked_paper = robust.accuracy(recon_v, labels), paper.accuracy(recon_v, labels)
    return {
        "success_rate": success_rate(attacked_robust, acc_robust),
        "success_rate_paper": success_rate(attacked_paper, acc_paper),
        "linkage_rate": linkage_rate(recon_v, orig_v),
        "ssim": ssim(np.clip(recon_v, 0, 255), orig_v),
        "mse": mse(recon_v, orig_v),
        "examiner_acc_original": 100 * acc_robust,
        "examiner_acc_attacked": 100 * attacked_robust,
        "paper_examiner_acc_original": 100 * acc_paper,
        "paper_examiner_acc_attacked": 100 * attacked_paper,
    }


def attack(point: GridPoint, cfg: DictConfig) -> AttackResult:
    """Attack the point's disguise with ``cfg.attack``, stage by stage: gather what the threat level grants →
    find the arrangement (attacks that put blocks back) → undo each position (the attack's ``run``) → clean up →
    score. An attack replaces a stage by bringing its own (``Attack.arrange``, ``Attack.clean_up``)."""
    t_start = time.perf_counter()
    a = cfg.attack
    spec = ATTACKS[a.name]
    held = gather(point, cfg, spec)
    robust, paper = robust_examiner(cfg), paper_examiner(cfg)
    view, arranged = held.view, None
    if spec.places_blocks and not view.knows_permutation:
        view, arranged = find_arrangement(point, cfg, spec, held)
    knowledge = held.knowledge(spec, view)

    t0 = time.perf_counter()
    result = spec.reconstruct(knowledge, a)                       # undo each position
    raw = result.images
    recon, cleaned, cleanup_metrics = clean_up(spec, cfg, knowledge, raw, held)
    attack_s = time.perf_counter() - t0
    raw_too = recon is not raw               # cleaned up: the raw map is scored too
    if held.fold:                            # scored in colour
        raw, recon = unfold_channels(raw, held.channels), unfold_channels(recon, held.channels)

    test_x, test_y = held.originals, held.labels
    on_originals = (robust.accuracy(test_x, test_y), paper.accuracy(test_x, test_y))
    metrics = {**score(recon, test_x, test_y, robust, paper, on_originals), "attack_time_s": attack_s,
               "test_images": float(len(test_x)), **result.extras}
    if raw_too:  # the raw map, under the robust examiner and linkage only
        raw_v = robust.view(raw)
        metrics.update({"success_rate_raw": success_rate(robust.accuracy(raw_v, test_y), on_originals[0]),
                        "linkage_rate_raw": linkage_rate(raw_v, robust.view(test_x)), **cleanup_metrics})
    if held.partners is not None:  # the reconstruction matches one of the k private images mixed into its encoding
        partners = held.partners
        metrics["linkage_rate_any"] = linkage_rate(robust.view(recon), robust.view(test_x), candidates=partners)
        metrics["images_recovered"] = images_recovered(robust.view(recon), robust.view(test_x), partners)
        close = recovered_ssim(recon, test_x, partners)   # on the images' own pixels, as ``ssim``
        if np.isfinite(close):
            metrics["ssim_recovered"] = close
    if spec.places_blocks and len(view.true_permutation):
        metrics.update(placement_scores(view.permutation, view.true_permutation, fold_channels(test_x),
                                        view.block_size))
    metrics.update({f"examiner_calib_{k}": v for k, v in robust.calibration.items()})
    metrics["examiner_calib_worst"] = robust.worst_calibration
    metrics["paper_examiner_calib_worst"] = paper.worst_calibration
    if result.hits is not None:
        truth = as_units(gather_blocks(fold_channels(test_x), view.block_size, view.true_permutation),
                         view.unit).any(axis=-1)
        metrics.update(hit_rates(result.hits, truth))
    tags = {"attack": a.name, "threat_level": spec.threat, "examiner": robust.name, "paper_examiner": paper.name,
            "train_run_id": paper.run_id or "none (trained by an attack run)", "cleanup": cleaned}
    if spec.places_blocks:
        tags["permutation"] = ("none (no disguise moves a block)" if view.mechanism == "none" else
                               arranged or "given (the true π: an upper bound)")
    metrics["total_time_s"] = time.perf_counter() - t_start
    return AttackResult(metrics, params={"attack.known_pairs": str(held.pairs)}, tags=tags,
                        gallery=(test_x, as_picture(view, held.shown), recon, test_y))
