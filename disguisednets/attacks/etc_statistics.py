"""Per-position statistics attack on EtC block-wise encryption, level (a) (docs/method.md §6 "Peers",
beyond the published attacks).

EtC's key, per disguised position j: the original block π(j) it holds, one of the block's 8 rotations
and flips, a negative–positive flip p ↦ 255 − p, and, in colour, a shuffle of the channels. Every one of
these leaves the *multiset of folded values* min(p, 255 − p) of a block unchanged, so the position's mean
sorted folded profile (over the disguised training set) is that of its original position (over public
images): positions are paired one-to-one by these profiles (Hungarian assignment). The rest of the key is
then a choice among 8 symmetries × 2 signs × C! channel orders per position — each an index permutation
of the block's pixels, with or without negation — taken as the one that carries the disguised blocks'
mean and covariance nearest the public blocks' at the paired position.

It needs only that the domain's images are not alike at every position (blank positions are
interchangeable, and any choice among them is as good); replacing the paired π̂ by the identity breaks
it (a test shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.mechanisms.blocks import from_channel_blocks, to_channel_blocks
from disguisednets.mechanisms.etc import dihedral

__all__ = ["EtcKeyEstimate", "block_symmetries", "estimate_etc_key", "folded_profiles", "undo_etc"]


def _channel_blocks(images: np.ndarray, b: int) -> np.ndarray:
    x = np.asarray(images)
    return to_channel_blocks(x if x.ndim == 4 else x[..., None], b)          # (N, t, b, b, C)


def folded_profiles(blocks: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(N, t, b, b, C) blocks → (t, b·b·C): per position the mean over images of the block's sorted folded
    values min(p, 255 − p), which no rotation, flip, negation or channel shuffle changes."""
    n, t = blocks.shape[:2]
    total = np.zeros((t, int(np.prod(blocks.shape[2:]))))
    for s in range(0, n, chunk):                     # chunks over images, vectorized within
        x = np.asarray(blocks[s:s + chunk], np.int16).reshape(min(chunk, n - s), t, -1)
        total += np.sort(np.minimum(x, 255 - x), axis=-1).sum(0)
    return total / max(n, 1)


def block_symmetries(b: int, channels: int) -> np.ndarray:
    """(8·C!, b·b·C) index maps: entry g, k is the pixel of the disguised block that lands at pixel k of the
    block once symmetry g (a rotation/flip of ``dihedral`` and a channel order) is undone."""
    grid = np.arange(b * b * channels).reshape(b, b, channels)
    maps = []
    for o in range(8):
        turned = dihedral(grid[None, None], np.array([o]), axes=(-3, -2))[0, 0]   # where each pixel goes
        for order in permutations(range(channels)):
            maps.append(turned[..., list(order)].ravel())
    return np.array(maps)


@dataclass(frozen=True)
class EtcKeyEstimate:
    """An estimate of EtC's key: per disguised position j the original position ``source[j]``, the index map
    that undoes its symmetry (``maps[j]``: b·b·C indices) and whether it is negated."""

    source: np.ndarray
    maps: np.ndarray
    negative: np.ndarray
    block_size: int


def _moments(blocks: np.ndarray, max_images: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """(N, t, b, b, C) → per position the mean (t, D) and covariance (t, D, D) of the flattened blocks."""
    x = np.asarray(blocks[:max_images], np.float64).reshape(min(len(blocks), max_images), blocks.shape[1], -1)
    mean = x.mean(0)
    centred = x - mean
    return mean, np.einsum("ntd,nte->tde", centred, centred, optimize=True) / max(len(x) - 1, 1)


def estimate_etc_key(observed: np.ndarray, public: np.ndarray, block_size: int, *,
                     source: np.ndarray | None = None) -> EtcKeyEstimate:
    """The key from the disguised images the cloud holds and public images (both (N, H, W[, C]) uint8).
    ``source``: use this position map instead of the one the profiles give (a test hands the identity)."""
    b = block_size
    obs, pub = _channel_blocks(observed, b), _channel_blocks(public, b)
    t, channels = obs.shape[1], obs.shape[-1]
    # Per pair (disguised j, original i) and candidate (8 symmetries × 2 signs, on the channel-mean blocks, which
    # a channel shuffle leaves unchanged): how far j's blocks so undone are from i's in mean and covariance
    mean_y, cov_y = _moments(obs.mean(-1, keepdims=True))
    mean_x, cov_x = _moments(pub.mean(-1, keepdims=True))
    turns = block_symmetries(b, 1)                                 # (8, b·b)
    scale_m = np.maximum(mean_x.var(axis=1), 1.0)                  # (t,): scale-free costs per original position
    scale_c = np.maximum((cov_x ** 2).mean(axis=(1, 2)), 1.0)
    fit = np.empty((t, t, 16))                                     # (disguised, original, candidate)
    for negate in (False, True):                                   # negation keeps the covariance, flips the mean
        m = (255.0 - mean_y if negate else mean_y)
        for g, turn in enumerate(turns):
            mg, cg = m[:, turn], cov_y[:, turn[:, None], turn[None, :]]
            fit[:, :, 8 * negate + g] = (((mg[:, None] - mean_x[None]) ** 2).mean(-1) / scale_m
                                         + ((cg[:, None] - cov_x[None]) ** 2).mean(axis=(-2, -1)) / scale_c)
    if source is None:  # pairing: the folded profiles (invariant by construction) and the best candidate's fit
        profile = ((folded_profiles(obs)[:, None] - folded_profiles(pub)[None]) ** 2).sum(-1)
        best_fit = fit.min(-1)
        cost = profile / max(float(np.median(profile)), 1e-9) + best_fit / max(float(np.median(best_fit)), 1e-9)
        rows, cols = linear_sum_assignment(cost)
        source = np.empty(t, int)
        source[rows] = cols
    best = fit[np.arange(t), source].argmin(axis=1)                # (t,) over 2 × 8
    turn, negative = best % 8, best >= 8
    orders = np.array(list(permutations(range(channels))))         # (C!, C)
    order = _channel_orders(obs, pub, source, negative, orders)
    maps = block_symmetries(b, channels)[turn * len(orders) + order]
    return EtcKeyEstimate(source, maps, negative, b)


def _channel_orders(obs: np.ndarray, pub: np.ndarray, source: np.ndarray, negative: np.ndarray,
                    orders: np.ndarray, max_images: int = 20000) -> np.ndarray:
    """Per position, which channel order (an index into ``orders``) puts its channels back. An image's colours
    are shared by its blocks, so each position's per-image channel means are aligned to those of the position
    that varies most (the order whose channels correlate best with its); one global order, the one whose
    channel statistics come nearest the public images', is then applied to all."""
    t, channels = obs.shape[1], obs.shape[-1]
    if channels == 1:
        return np.zeros(t, int)
    u = np.asarray(obs[:max_images]).mean(axis=(2, 3), dtype=np.float64)   # (N, t, C) per-image channel means
    u[:, negative] = 255.0 - u[:, negative]
    z = (u - u.mean(0)) / np.maximum(u.std(0), 1e-9)
    corr = (z.reshape(len(z), -1).T @ z.reshape(len(z), -1) / len(z)).reshape(t, channels, t, channels)
    ref = int(np.argmax(u.var(0).sum(-1)))
    local = np.zeros((t, channels), int)
    local[ref] = np.arange(channels)
    done = np.zeros(t, bool)
    done[ref] = True
    for _ in range(t - 1):  # grow a tree of aligned positions, each new one aligned to its best-correlated aligned one
        ks = np.flatnonzero(done)
        # score[j, k, p] = Σ_c corr(channel p[c] of j, channel local[k][c] of k)
        best_val, best = -np.inf, None
        for k in ks:
            c_k = corr[:, :, k, :][:, :, local[k]]                                # (t, C, C): [j, c', c] vs k's aligned c
            val = c_k[:, orders, np.arange(channels)].sum(-1)                    # (t, C!): Σ_c corr(j's p[c], k's c)
            val[done] = -np.inf
            j, p = np.unravel_index(int(np.argmax(val)), val.shape)
            if val[j, p] > best_val:
                best_val, best = val[j, p], (j, p)
        j, p = best
        local[j], done[j] = orders[p], True
    # one global order from the public images' channel statistics
    v = np.asarray(pub[:max_images]).mean(axis=(2, 3), dtype=np.float64)[:, source]  # (P, t, C) at the paired positions
    aligned = np.take_along_axis(u, local[None], axis=-1)                      # (N, t, C)
    stat = lambda w: np.concatenate([w.mean(0).ravel(), w.std(0).ravel()])  # noqa: E731
    target = stat(v)
    glob = orders[int(np.argmin([np.sum((stat(aligned[..., g]) - target) ** 2) for g in orders]))]
    final = np.take_along_axis(local, glob[None].repeat(t, 0), axis=1)         # out c ← aligned g[c] ← y local[g[c]]
    index = {tuple(o): i for i, o in enumerate(orders.tolist())}
    return np.array([index[tuple(row)] for row in final.tolist()])


def undo_etc(disguised: np.ndarray, key: EtcKeyEstimate) -> np.ndarray:
    """Disguised images (N, H, W[, C]) → the images as the estimated key puts them back (float32, same shape)."""
    grey = np.asarray(disguised).ndim == 3
    blocks = _channel_blocks(disguised, key.block_size).astype(np.float32)
    n, t = blocks.shape[:2]
    flat = blocks.reshape(n, t, -1)
    flat = np.take_along_axis(flat, key.maps[None], axis=-1)       # each position's symmetry undone
    flat[:, key.negative] = 255.0 - flat[:, key.negative]
    out = np.empty_like(flat)
    out[:, key.source] = flat                                      # disguised position j → original position
    images = from_channel_blocks(out.reshape(blocks.shape), np.asarray(disguised).shape[1:3])
    return images[..., 0] if grey else images
