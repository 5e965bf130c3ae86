"""A ciphertext-only attack on Tanaka's learnable image encryption, level (a) (docs/method.md §6).

One key serves every block of every image, so the disguised training set holds, for each of the
2M² value positions of a block, tens of thousands of samples of one original value position (upper
or lower 4 bits of one pixel), possibly flipped. Statistics of the domain (public images) pin the key
down up to the block's symmetries:

1. **flips**: the background is dark, so an unflipped value position's most frequent value is 0 and
   a flipped one's is 15 (where the public images' background is light, the other way round);
2. **upper vs lower nibbles**: each position's value histogram is set against the public images'
   upper- and lower-nibble histograms; the M² most upper-like positions are the upper nibbles;
3. **pairs**: a pixel's upper and lower nibbles are zero together (a black pixel) far more often than
   two nibbles of different pixels: pairs by the correlation of their "non-zero" indicators (Hungarian);
4. **places**: the M² pixels go to the block's M² places whose public pixel correlations their own
   correlations match best (pairwise-swap descent from several starts).

The places are found up to the block's 8 symmetries (a correlation pattern on a square grid looks the
same rotated or mirrored); the caller chooses among them with the public images' mean image.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["nibble_statistics_attack"]


def _histograms(values: np.ndarray) -> np.ndarray:
    """(R, d) values 0..15 → (d, 16) relative frequencies per column."""
    counts = np.stack([np.bincount(col, minlength=16) for col in values.T.astype(np.int64)])
    return counts / np.maximum(counts.sum(1, keepdims=True), 1)


def _corr(x: np.ndarray) -> np.ndarray:
    c = np.corrcoef(x.T.astype(np.float64))
    return np.nan_to_num(c)


def _places(obs: np.ndarray, pub: np.ndarray, starts: int, rng: np.random.Generator) -> np.ndarray:
    """The permutation p (track k → place p[k]) making obs' correlations match pub's,
    argmin ‖obs − pub[p][:, p]‖², by swap descent from ``starts`` random starts (d ≤ 64: a few thousand cheap evaluations per start)."""
    d = len(obs)
    best, best_cost = None, np.inf
    for _ in range(starts):  # restarts, not a loop over images
        p = rng.permutation(d)
        cost = np.sum((obs - pub[np.ix_(p, p)]) ** 2)
        improved = True
        while improved:
            improved = False
            for i in range(d):
                for j in range(i + 1, d):
                    p[i], p[j] = p[j], p[i]
                    c = np.sum((obs - pub[np.ix_(p, p)]) ** 2)
                    if c < cost - 1e-12:
                        cost, improved = c, True
                    else:
                        p[i], p[j] = p[j], p[i]
        if cost < best_cost:
            best, best_cost = p.copy(), cost
    return best


def nibble_statistics_attack(observed: np.ndarray, public_pixels: np.ndarray, *, starts: int = 32,
                             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``observed`` (R, 2M²): disguised block vectors of a grayscale learnable encryption (values 0..15);
    ``public_pixels`` (R', M²): public images' blocks as pixel vectors (0..255, row-major in the block).
    Returns (source, flipped) as :func:`disguisednets.attacks.known_pair.apply_value_key` takes them:
    disguised value q is original value ``source[q]`` (pixel place·2 + 0 for upper, + 1 for lower bits)."""
    d = observed.shape[1]
    m2 = d // 2
    pub = np.asarray(public_pixels).astype(np.int64)
    pub_up, pub_low = pub >> 4, pub & 15
    light = np.bincount(pub_up.ravel(), minlength=16).argmax() > 7   # the domain's background is light
    hist = _histograms(observed)
    flipped = (hist[:, 15] > hist[:, 0]) != light
    v = np.where(flipped, 15 - observed, observed)
    hist = _histograms(v)
    h_up, h_low = _histograms(pub_up.reshape(-1, 1))[0], _histograms(pub_low.reshape(-1, 1))[0]
    upper_like = np.abs(hist - h_low).sum(1) - np.abs(hist - h_up).sum(1)
    upper = np.sort(np.argsort(-upper_like)[:m2])
    lower = np.setdiff1d(np.arange(d), upper)
    nz = (v != 0).astype(np.float64)
    pair = _corr(nz)[np.ix_(upper, lower)]
    rows, cols = linear_sum_assignment(-pair)
    lower = lower[cols[np.argsort(rows)]]                              # lower[k] pairs with upper[k]
    tracks = 16 * v[:, upper].astype(np.int64) + v[:, lower]           # (R, M²) pixels in unknown places
    place = _places(_corr(tracks), _corr(pub), starts, np.random.default_rng(seed))
    source = np.empty(d, np.int64)
    source[upper], source[lower] = 2 * place, 2 * place + 1
    return source, flipped
