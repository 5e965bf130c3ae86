"""The secret block permutation π found by the attacker (docs/method.md §4 "Finding π"), beyond the paper.

Each block position i has its own secret (RMT's R_i, AES-ECB's K_i), but one π moves block i of every
image to the same disguised position. Statistics of a position's blocks that its own secret leaves
unchanged therefore identify where the position came from:

- **RMT** (each row y = x R_i, R_i invertible): the whitened Gram matrix of a block's rows,
  Y M⁻¹ Yᵀ with M the position's mean row outer product, equals X M_x⁻¹ Xᵀ whatever R_i is: its
  mean over images (how much each row carries, how rows co-vary) and the quantiles of its diagonal.
  An orthogonal R_i also keeps lengths: the mean Gram Y Yᵀ and the spectrum of M.
- **AES-ECB** (a bijection per position on u-pixel units): the share of images in which each unit
  offset holds the position's most frequent unit (a background map), and the sorted unit frequencies.
- **Any pixelwise scheme** (a one-to-one map of each pixel's value per position and place, e.g. a plugin's):
  the sorted value frequencies at each place of the block, which a one-to-one map leaves as they are.

Which statistics a scheme gets follows from the traits it declares (``linear``, ``equal_units``,
``pixelwise``, with ``block_permutation``): :func:`estimable` says whether there are any.

Level (a): the attacker computes the same statistics on public images at each original position,
after adding noise of the public noise setting (noise comes before the transform), and assigns
disguised to original positions one-to-one (Hungarian assignment on the summed, scale-free
distances). Level (b) adds what its pairs say of each pairing: RMT's least-squares residual, AES's
codebook conflicts. Blank positions are interchangeable, so :func:`placement_scores` also counts the
pixels that land in the right place.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.attacks._units import as_units
from disguisednets.attacks.value_frequency import as_8bit, frequency_profiles, value_counts
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec
from disguisednets.mechanisms.registry import traits_of

__all__ = ["ESTIMABLE", "STATISTICS_BY_TRAIT", "estimable", "estimate_permutation", "match_positions", "pair_costs",
           "placement_scores", "position_statistics", "value_statistics"]

ESTIMABLE = ("rmt", "aes_ecb")   # the schemes whose π the theft task estimates (the permutation has the jigsaw attack)
STATISTICS_BY_TRAIT = ("linear", "equal_units", "pixelwise")   # what a block scheme declares → its statistics


def estimable(mechanism: str, traits: frozenset[str] | None = None) -> bool:
    """Whether π can be estimated from ``mechanism``'s position statistics: a scheme that moves blocks by π
    (trait ``block_permutation``) with a trait the statistics are known for — ``traits`` (declared or measured),
    else what it declares."""
    traits = traits_of(mechanism) if traits is None else traits
    return "block_permutation" in traits and any(t in traits for t in STATISTICS_BY_TRAIT)


QUANTILES = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])


def _row_vectors(blocks: np.ndarray, mode: str) -> np.ndarray:
    """(t, N, b, b) → (t, N, r, d): the vectors the transform multiplies, b rows of b ('matrix') or one of b²."""
    t, n, b, _ = blocks.shape
    return blocks.reshape(t, n, b, b) if mode == "matrix" else blocks.reshape(t, n, 1, b * b)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def rmt_statistics(blocks: np.ndarray, kind: str, mode: str = "matrix") -> dict[str, np.ndarray]:
    """Per position, statistics that R_i leaves unchanged: (t, N, b, b) blocks → {group: (t, F)}."""
    rows = _row_vectors(np.asarray(blocks, np.float64), mode)
    t, n, r, d = rows.shape
    second = np.einsum("tnri,tnrj->tij", rows, rows) / (n * r)            # (t, d, d) mean row outer product
    values, vectors = np.linalg.eigh(second)
    upper = np.triu_indices(r)
    gram_mean, diag_q, rank = [], [], []
    for j in range(t):  # per block position (≤ 64), vectorized over images
        keep = values[j] > 1e-10 * max(values[j].max(), 1e-300)
        z = rows[j] @ (vectors[j][:, keep] / np.sqrt(values[j][keep]))     # (N, r, k) whitened rows
        gram = z @ z.transpose(0, 2, 1)                                   # (N, r, r): = X M⁻¹ Xᵀ for any R_i
        gram_mean.append(gram.mean(0)[upper])
        diag_q.append(np.quantile(np.diagonal(gram, axis1=1, axis2=2), QUANTILES, axis=0).T.ravel())
        rank.append([keep.sum() / d])
    stats = {"whitened_gram": np.array(gram_mean), "whitened_norms": np.array(diag_q), "rank": np.array(rank)}
    if kind == "orthogonal":   # lengths are kept too
        gram = np.einsum("tnri,tnsi->trs", rows, rows) / n
        stats["gram"] = _signed_log(gram[:, upper[0], upper[1]])
        stats["spectrum"] = np.log1p(np.clip(values, 0, None))
    return stats


def unit_ids(blocks: np.ndarray, unit: int) -> np.ndarray:
    """(t, N, b, b) → (t, N, M) int64 ids of the u-pixel units, equal iff the units' values are equal
    (a 64-bit hash of their bytes: a collision among the few million units of a dataset is ~1e-7 likely)."""
    units = np.ascontiguousarray(as_units(np.asarray(blocks), unit))
    raw = units.view(np.uint8).reshape(*units.shape[:3], -1)
    pad = -raw.shape[-1] % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((*raw.shape[:3], pad), np.uint8)], axis=-1)
    words = np.ascontiguousarray(raw).view(np.uint64)                    # (t, N, M, W)
    h = np.full(words.shape[:3], 0x9E3779B97F4A7C15, np.uint64)
    with np.errstate(over="ignore"):
        for w in range(words.shape[-1]):  # ≤ 8 words of a unit's bytes
            h = (h ^ words[..., w]) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
    return h.view(np.int64)


def unit_statistics(blocks: np.ndarray, unit: int, top: int = 16) -> dict[str, np.ndarray]:
    """Per position, statistics that a bijection of units leaves unchanged: {group: (t, F)}."""
    ids = unit_ids(blocks, unit)
    t, n, m = ids.shape
    background, freqs = np.empty((t, m)), np.zeros((t, top))
    for j in range(t):  # per block position (≤ 64), vectorized over images
        uniq, inverse, counts = np.unique(ids[j].ravel(), return_inverse=True, return_counts=True)
        background[j] = (inverse.reshape(n, m) == np.argmax(counts)).mean(0)
        share = np.sort(counts)[::-1][:top] / (n * m)
        freqs[j, :len(share)] = np.sqrt(share)
    return {"background_map": background, "frequencies": freqs}


def value_statistics(blocks: np.ndarray, top: int = 8) -> dict[str, np.ndarray]:
    """Per position, statistics that a one-to-one map of each place's values leaves unchanged: the ``top``
    largest value frequencies at each place of the block (8-bit values) → {group: (t, F)}."""
    values = as_8bit(blocks, "π is estimated for a pixelwise scheme from the frequencies of its 8-bit values, and "
                     "these disguised images are not integers in 0..255 (noise after the map?). Set "
                     "attack.knows_permutation=true to hand the attack the true π (an upper bound).")
    return {"value_frequencies": frequency_profiles(value_counts(values), top)}


def position_statistics(blocks: np.ndarray, mechanism: str, *, unit: int = 1, kind: str = "orthogonal",
                        mode: str = "matrix", traits: frozenset[str] | None = None) -> dict[str, np.ndarray]:
    """The statistics of ``mechanism``'s blocks (t, N, b, b) that each position's secret leaves unchanged,
    chosen by what the scheme is — ``traits`` (declared or measured), else what it declares (RMT and AES-ECB by
    name: their own settings)."""
    traits = traits_of(mechanism) if traits is None else traits
    if mechanism == "rmt" or (mechanism != "aes_ecb" and "linear" in traits):
        return rmt_statistics(blocks, kind, mode)
    if mechanism == "aes_ecb" or "equal_units" in traits:
        return unit_statistics(blocks, unit)
    if "pixelwise" in traits:
        return value_statistics(blocks)
    raise ValueError(f"π is estimated from position statistics for block schemes that declare one of the traits "
                     f"{', '.join(STATISTICS_BY_TRAIT)}; {mechanism!r} declares {sorted(traits) or 'none'}. Set "
                     "attack.knows_permutation=true to hand the attack the true π (an upper bound), or give the "
                     "attack an arrangement stage of its own (Attack.arrange).")


def _scale_free(cost: np.ndarray) -> np.ndarray:
    """A (t, t) cost divided by its median over all pairings (or its mean, if that is 0)."""
    scale = np.median(cost)
    scale = scale if scale > 0 else cost.mean()
    return cost / scale if scale > 0 else np.zeros_like(cost)


def statistic_costs(disguised: dict[str, np.ndarray], original: dict[str, np.ndarray]) -> np.ndarray:
    """(t, t) cost of disguised position j coming from original position i: the distances of each
    statistic, each divided by its median over all pairings, summed."""
    total = 0.0
    for group, d in disguised.items():
        o = original[group]
        total = total + _scale_free(np.sqrt(((d[:, None, :] - o[None, :, :]) ** 2).sum(-1)))
    return np.asarray(total, np.float64)


def match_positions(cost: np.ndarray) -> np.ndarray:
    """The one-to-one assignment of least total cost: π̂[j] = the original position of disguised j."""
    _, perm = linear_sum_assignment(cost)
    return perm.astype(np.int64)


def pair_costs(known_plain: np.ndarray, known_disguised: np.ndarray, mechanism: str, *, unit: int = 1,
               mode: str = "matrix", traits: frozenset[str] | None = None) -> np.ndarray | None:
    """Level (b): (t, t) cost of each pairing from m pairs' blocks (t, m, b, b) — the plain blocks at
    original positions i, the disguised at positions j. RMT: the relative least-squares residual of
    Y_j ≈ [X_i 1] W (None when the pairs are too few to over-determine it); AES-ECB: the share of units
    that break a one-to-one codebook between position j's ciphertext and position i's plaintext."""
    t = known_plain.shape[0]
    traits = traits_of(mechanism) if traits is None else traits
    if mechanism == "rmt" or (mechanism != "aes_ecb" and "linear" in traits):
        x = _row_vectors(np.asarray(known_plain, np.float64), mode)
        y = _row_vectors(np.asarray(known_disguised, np.float64), mode)
        _, m, r, d = x.shape
        if m * r <= 2 * (d + 1):
            return None
        x = np.concatenate([x.reshape(t, m * r, d), np.ones((t, m * r, 1))], axis=2)
        y = y.reshape(t, m * r, d)
        y_c = y - y.mean(axis=1, keepdims=True)
        cost = np.empty((t, t))
        for i in range(t):  # per original position (≤ 64): fit every disguised position at once
            fit = x[i] @ (np.linalg.pinv(x[i]) @ y)                     # (t, mr, d)
            cost[:, i] = ((y - fit) ** 2).sum((1, 2)) / np.maximum((y_c ** 2).sum((1, 2)), 1e-12)
        return cost
    if mechanism == "aes_ecb" or "equal_units" in traits:
        plain, cipher = unit_ids(known_plain, unit), unit_ids(known_disguised, unit)   # (t, m, M)
        p, c = plain.reshape(t, -1), cipher.reshape(t, -1)
        cost = np.empty((t, t))
        for j in range(t):
            for i in range(t):  # t² ≤ 4,096 pairings of m·M units each
                pairs = np.unique(np.stack([c[j], p[i]], axis=1), axis=0).shape[0]
                cost[j, i] = (2 * pairs - np.unique(c[j]).size - np.unique(p[i]).size) / p.shape[1]
        return cost
    return None


def estimate_permutation(mechanism: str, block_size: int, *, observed: np.ndarray | None = None,
                         public: np.ndarray | None = None, known_plain: np.ndarray | None = None,
                         known_disguised: np.ndarray | None = None, noise: dict | None = None, unit: int = 1,
                         kind: str = "orthogonal", mode: str = "matrix", rng: np.random.Generator | None = None,
                         max_pairs: int = 2000, traits: frozenset[str] | None = None) -> tuple[np.ndarray, str]:
    """π̂ from what the attacker holds: position statistics of the disguised images it observes
    against public images (noised as the public setting says), and, with pairs, their fit. Returns
    (π̂, what it used)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    cost, used = 0.0, []
    if observed is not None and public is not None and len(observed) and len(public):
        noised = apply_noise(np.asarray(public), make_noise_spec(noise), rng)
        kw = dict(unit=unit, kind=kind, mode=mode, traits=traits)
        cost = cost + statistic_costs(position_statistics(gather_blocks(observed, block_size), mechanism, **kw),
                                      position_statistics(gather_blocks(noised, block_size), mechanism, **kw))
        used.append(f"position statistics of {len(observed)} disguised and {len(public)} public images")
    if known_plain is not None and known_disguised is not None and len(known_plain):
        pick = slice(None) if len(known_plain) <= max_pairs else rng.choice(len(known_plain), max_pairs, replace=False)
        fit = pair_costs(gather_blocks(np.asarray(known_plain)[pick], block_size),
                         gather_blocks(np.asarray(known_disguised)[pick], block_size), mechanism, unit=unit,
                         mode=mode, traits=traits)
        if fit is not None:
            cost = cost + _scale_free(fit)
            used.append(f"the fit of {min(len(known_plain), max_pairs)} known pairs")
    if not used:
        raise ValueError("Estimating π needs the disguised data the cloud holds and public images (level a), or "
                         "enough known pairs (level b); this attack was given neither. Set dataset.train_size "
                         "below the training set (public images), or attack.knows_permutation=true.")
    return match_positions(np.asarray(cost)), " and ".join(used)


def placement_scores(estimate: np.ndarray, true: np.ndarray, images: np.ndarray, block_size: int) -> dict[str, float]:
    """How right π̂ is, in %: block positions right, and pixels of ``images`` that land in their own
    place when the true blocks are put where π̂ says (a blank block in another blank place counts)."""
    images = np.asarray(images)
    placed = scatter_blocks(gather_blocks(images, block_size, true), images.shape[1:3], estimate)
    return {"permutation_recovered": 100 * float(np.mean(estimate == true)),
            "pixels_placed": 100 * float(np.mean(placed == images))}
