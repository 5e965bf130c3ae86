"""The attacks as registered parts (docs/method.md §4).

Each :class:`Attack` declares the threat level it models and what it needs — known pairs, the
disguised training data the cloud observes, public images, a unit size — and the attack task
(:mod:`disguisednets.tasks.attack`) hands it exactly that, as a :class:`Knowledge`. Threat levels
(paper §IV): ``a`` — the cloud holds disguised data only (plus public same-domain images and the
mechanism's public settings); ``b`` — it also knows m original/disguised pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from disguisednets.attacks.codebook import codebook_attack
from disguisednets.attacks.covariance import covariance_attack
from disguisednets.attacks.frequency import frequency_attack
from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.jigsaw import border_value, jigsaw_attack
from disguisednets.attacks.known_pair import (apply_block_key, apply_value_key, block_key_from_pairs, etc_variants,
                                              value_key_from_pairs)
from disguisednets.attacks.regression import regression_attack
from disguisednets.attacks.row_leak import row_leak_attack
from disguisednets.mechanisms.blocks import (from_blocks, from_channel_blocks, gather_blocks, scatter_blocks, to_blocks,
                                             to_channel_blocks)
from disguisednets.mechanisms.etc import dihedral
from disguisednets.mechanisms.learnable import split_nibbles
from disguisednets.registry import Registry

__all__ = ["ATTACKS", "Attack", "AttackerView", "Knowledge", "Reconstruction", "as_picture", "attacker_view", "cross_fit"]


@dataclass(frozen=True)
class AttackerView:
    """What the attacker knows of the disguise: geometry, unit, mode, and π or not."""

    image_shape: tuple[int, int]
    block_size: int
    unit: int
    mode: str
    permutation: np.ndarray      # what the attacker uses: the true π, or the identity if unknown
    true_permutation: np.ndarray  # for scoring only
    kind: str = "orthogonal"      # RMT's matrix kind (a public setting)
    true_matrices: np.ndarray | None = None  # RMT's secret matrices, for scoring only
    mechanism: str = "none"       # the scheme (public: Kerckhoffs)
    key: object = None            # the secret key, for scoring only

    @property
    def grid(self) -> tuple[int, int]:
        return self.image_shape[0] // self.block_size, self.image_shape[1] // self.block_size


def attacker_view(key, unit: int | None, knows_permutation: bool, image_shape: tuple[int, int]) -> AttackerView:
    """The attacker's view of ``key`` (None: no disguise). ``unit``: the unit size for a mechanism
    without one (default 1); a key with a unit (AES) gives its own."""
    unit = int(unit or 1)
    if key is None:  # no disguise: the largest block of at most 8 px that divides the image, identity π
        side = math.gcd(*image_shape)
        b = max(d for d in range(1, min(side, 8) + 1) if side % d == 0)
        n_blocks = (image_shape[0] // b) * (image_shape[1] // b)
        return AttackerView(image_shape, b, unit, "matrix", np.arange(n_blocks), np.arange(n_blocks))
    spec = key.spec
    t = (image_shape[0] // key.block_size) * (image_shape[1] // key.block_size)
    true = key.array("permutation") if key.has_array("permutation") else np.arange(t)  # blocks that stay put
    perm = true if knows_permutation else np.arange(len(true))
    matrices = key.array("matrices") if spec["mechanism"] == "rmt" else None
    return AttackerView(image_shape, key.block_size, int(spec.get("unit", unit)), spec.get("mode", "matrix"),
                        perm, true, spec.get("kind", "orthogonal"), matrices, spec["mechanism"], key)


@dataclass(frozen=True)
class Knowledge:
    """What an attack is handed: the view, the disguised images to reconstruct, and only what it
    declared — known pairs (plain, disguised), the observed disguised training data, public images."""

    view: AttackerView
    target: np.ndarray
    known_plain: np.ndarray | None = None
    known_disguised: np.ndarray | None = None
    observed: np.ndarray | None = None
    public: np.ndarray | None = None


@dataclass
class Reconstruction:
    images: np.ndarray                     # (N, H, W) float32
    extras: dict[str, float]               # attack-specific metrics
    hits: np.ndarray | None = None         # per-unit lookups found (codebook)


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


def as_picture(view: AttackerView, disguised: np.ndarray) -> np.ndarray:
    """Disguised images as a person would look at them, on the 0..255 scale: the learnable encryption's
    nibble channels joined back into bytes (16·first + second, in their shuffled places), InstaHide's
    normalized encodings back on the pixel scale; the rest as they are."""
    x = np.asarray(disguised, np.float32)
    if view.mechanism == "learnable":
        return 16 * x[..., 0] + x[..., 1]
    if view.mechanism == "instahide":
        return x * view.key.spec["std"] + view.key.spec["mean"]
    return x


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


def _covariance(k: Knowledge, o) -> Reconstruction:
    v = k.view
    blocks = covariance_attack(gather_blocks(k.public, v.block_size, v.permutation),
                               gather_blocks(k.observed, v.block_size), gather_blocks(k.target, v.block_size),
                               mode=v.mode)
    return Reconstruction(_blocks_to_images(blocks, v), {})


def _jigsaw(k: Knowledge, o) -> Reconstruction:
    v, public = k.view, k.public
    if v.block_size < 2:
        raise ValueError("The jigsaw attack needs blocks of at least 2×2 pixels.")
    if v.mechanism not in ("none", "permutation", "etc"):
        raise ValueError(f"The jigsaw attack solves puzzles of blocks in pixel space (permutation, etc); "
                         f"{v.mechanism} blocks are not.")
    limit = o.get("max_observed")
    observed = gather_blocks(k.observed[:limit] if limit else k.observed, v.block_size)
    target = gather_blocks(k.target, v.block_size)
    if v.mechanism != "etc":
        perm_hat = jigsaw_attack(observed, v.grid, border_value=border_value(public), starts=int(o["starts"]),
                                 seed=int(o.get("seed", 0)))
        images = scatter_blocks(target, v.image_shape, perm_hat).astype(np.float32)
        return Reconstruction(images, {"permutation_recovered": 100 * float(np.mean(perm_hat == v.true_permutation))})
    # EtC: a negated position's mean sits nearer 255 − (the domain's mean) than the mean itself; then 8 pieces a block
    means, ref = observed.mean(axis=(1, 2, 3)), float(public.mean())
    negated = np.abs(255 - means - ref) < np.abs(means - ref)
    observed = observed.astype(np.float32)
    observed[negated] = 255 - observed[negated]
    perm_hat, orient_hat = jigsaw_attack(observed, v.grid, border_value=border_value(public), starts=int(o["starts"]),
                                         seed=int(o.get("seed", 0)), oriented=True)

    def solved(disguised: np.ndarray) -> np.ndarray:
        x = gather_blocks(disguised, v.block_size).astype(np.float32)
        x[negated] = 255 - x[negated]
        upright = dihedral(x.swapaxes(0, 1), orient_hat, axes=(-2, -1)).swapaxes(0, 1)
        return scatter_blocks(np.ascontiguousarray(upright), v.image_shape, perm_hat)

    # edge costs cannot tell a solution from its rotations and mirror images: the one whose mean image is
    # nearest the public images' mean is taken
    sample = solved(k.observed[:limit] if limit else k.observed).mean(0)
    symmetry = int(np.argmin([np.sum((dihedral(sample[None, None], np.array([g]), axes=(-2, -1))[0, 0]
                                      - public.mean(0)) ** 2) for g in range(8)]))
    undo = lambda d: dihedral(solved(d)[:, None], np.array([symmetry]), axes=(-2, -1))[:, 0]  # noqa: E731
    return Reconstruction(undo(k.target).astype(np.float32), _key_recovered(v, undo))


def _key_recovered(v: AttackerView, undo) -> dict[str, float]:
    """Scoring only: % of block positions at which a random probe image, disguised with the true key, comes
    back exactly through the attack's estimated inverse ``undo`` (block, symmetry, sign and place right)."""
    if v.key is None:
        return {}
    from disguisednets.mechanisms.registry import make_mechanism

    probe = np.random.default_rng(0).integers(0, 256, (1, *v.image_shape)).astype(np.uint8)
    back = np.rint(undo(make_mechanism(v.key).disguise(probe)))
    same = (to_blocks(back, v.block_size) == to_blocks(probe, v.block_size)).all(axis=(2, 3))
    return {"key_recovered": 100 * float(same.mean())}


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


def _known_pair(k: Knowledge, o) -> Reconstruction:
    v = k.view
    b = v.block_size
    if v.mechanism in ("permutation", "etc"):
        plain, disguised = to_blocks(k.known_plain, b), to_blocks(k.known_disguised, b)   # (m, t, b, b)
        variants = plain[None] if v.mechanism == "permutation" else etc_variants(plain)
        source, variant = block_key_from_pairs(plain, disguised, variants)
        undo = lambda d: from_blocks(apply_block_key(to_blocks(d, b), source, variant), v.image_shape)  # noqa: E731
        return Reconstruction(undo(k.target), _key_recovered(v, undo))
    if v.mechanism == "learnable":
        def vectors(x):  # (N, H, W, C) → (N·t, d) block vectors
            blocks = to_channel_blocks(x, b)
            return blocks.reshape(-1, int(np.prod(blocks.shape[2:]))), blocks.shape
        plain, _ = vectors(split_nibbles(np.asarray(k.known_plain, np.uint8)[..., None]))
        disguised, _ = vectors(np.asarray(k.known_disguised))
        source, flipped = value_key_from_pairs(plain, disguised)

        def undo(d):
            values, shape = vectors(np.asarray(d))
            nib = apply_value_key(values, source, flipped).reshape(shape)
            return from_channel_blocks(16 * nib[..., :1] + nib[..., 1:], v.image_shape)[..., 0]
        return Reconstruction(undo(k.target).astype(np.float32), _key_recovered(v, undo))
    raise ValueError(f"The known_pair attack reads the key of a key-deterministic block scheme (permutation, etc, "
                     f"learnable) off known pairs; for {v.mechanism} use its own attack (rmt: regression, aes_ecb: "
                     "codebook; instahide's secrets are one-time, so pairs tell nothing of other encodings).")


def _instahide_magnitude(k: Knowledge, o) -> Reconstruction:
    if k.view.mechanism != "instahide":
        raise ValueError(f"The instahide_magnitude attack reads InstaHide encodings; got {k.view.mechanism}.")
    spec = k.view.key.spec  # public settings: the normalization
    return Reconstruction(mixture_picture(k.target, spec["mean"], spec["std"]), {})


ATTACKS: Registry[Attack] = Registry("attack", ((a.name, a) for a in (
    Attack("direct", "a", "the examiner on the disguised images as they are", _direct),
    Attack("codebook", "b", "AES-ECB: ciphertext unit → plaintext unit per block position, from m pairs", _codebook,
           needs_pairs=True, needs_unit=True),
    Attack("regression", "b", "RMT: least squares per block position from m pairs", _regression, needs_pairs=True),
    Attack("frequency", "a", "AES-ECB: each position's most frequent unit is background", _frequency,
           needs_observed=True, needs_unit=True),
    Attack("covariance", "a", "orthogonal RMT: align eigenvectors of public and disguised block covariances",
           _covariance, needs_observed=True, needs_public=True),
    Attack("jigsaw", "a", "block permutation: edge compatibility over the disguised training set", _jigsaw,
           needs_observed=True, needs_public=True),
    Attack("row_leak", "a", "noiseless RMT: rows of R_i read off single-pixel block rows, then inverted",
           _row_leak, needs_observed=True, needs_public=True),
    Attack("known_pair", "b", "permutation, EtC, learnable encryption: the key read off m pairs, then undone",
           _known_pair, needs_pairs=True),
    Attack("instahide_magnitude", "a", "InstaHide: |e| drops the random signs and shows the k images mixed",
           _instahide_magnitude),
)))


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
