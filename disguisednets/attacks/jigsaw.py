"""Jigsaw attack on the shared block permutation π, level (a) (paper §III-A, docs/method.md §4).

Every image is permuted by the same π, so edge compatibility averaged over many disguised
images is far more telling than in one puzzle. For each ordered pair of blocks (a, c), the mean
squared error of predicting c's left (top) column from a's last two columns by linear
extrapolation, and back (prediction-based compatibility, as in Gallagher's jigsaw solver), over
all images. A block on the image's border also pays for the distance between its outer edge and
the border value of public same-domain images (0 for MNIST's background): without it, seams
through the empty background are cheaper than the true seams through the content, and the best
arrangement is the true one shifted. Then the arrangement of blocks on the grid that minimizes
the summed cost, by greedy placement and pairwise-swap descent from several starts.

Works on blocks in pixel space: the ``permutation`` mechanism as it is, or blocks another
attack has already decoded. ``oriented=True`` solves the puzzle of EtC blocks (docs/method.md §6):
every block may also have been rotated or flipped, so each enters as 8 pieces (its 8 symmetries),
one of which is placed; the descent also tries every cell's other orientations.
"""

from __future__ import annotations

import numpy as np

from disguisednets.mechanisms.etc import dihedral

__all__ = ["border_value", "edge_dissimilarity", "jigsaw_attack"]


def _pairwise(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(t, K) rows → (t, t) mean squared distance between a[i] and c[j]."""
    sq = (a * a).sum(1)[:, None] + (c * c).sum(1)[None, :] - 2 * a @ c.T
    return np.maximum(sq, 0) / a.shape[1]


def _seam(last: np.ndarray, before_last: np.ndarray, first: np.ndarray, after_first: np.ndarray) -> np.ndarray:
    """Cost of block c following block a across a seam, from their two pixel lines each side."""
    return _pairwise(2 * last - before_last, first) + _pairwise(last, 2 * first - after_first)


def edge_dissimilarity(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block-major (t, N, b, b), b ≥ 2 → (horizontal, vertical) (t, t) costs: h[a, c] for c standing
    right of a, v[a, c] for c standing below a."""
    x = blocks.astype(np.float64)
    t = x.shape[0]
    col = lambda k: x[:, :, :, k].reshape(t, -1)  # noqa: E731
    row = lambda k: x[:, :, k, :].reshape(t, -1)  # noqa: E731
    return _seam(col(-1), col(-2), col(0), col(1)), _seam(row(-1), row(-2), row(0), row(1))


def border_value(public: np.ndarray) -> float:
    """The mean pixel of the outer ring of public same-domain images (N, H, W): what lies beyond an image's edge."""
    return float(np.concatenate([public[:, 0], public[:, -1], public[:, :, 0], public[:, :, -1]], axis=1).mean())


def border_costs(blocks: np.ndarray, border_value: float = 0.0) -> np.ndarray:
    """(4, t): mean squared distance of each block's top, bottom, left and right edge from the
    border value of the domain's images."""
    x = blocks.astype(np.float64) - border_value
    return np.stack([np.mean(x[:, :, 0, :] ** 2, axis=(1, 2)), np.mean(x[:, :, -1, :] ** 2, axis=(1, 2)),
                     np.mean(x[:, :, :, 0] ** 2, axis=(1, 2)), np.mean(x[:, :, :, -1] ** 2, axis=(1, 2))])


def _cost(grid: np.ndarray, h: np.ndarray, v: np.ndarray, border: np.ndarray) -> float:
    return float(h[grid[:, :-1], grid[:, 1:]].sum() + v[grid[:-1, :], grid[1:, :]].sum()
                 + border[0, grid[0]].sum() + border[1, grid[-1]].sum()
                 + border[2, grid[:, 0]].sum() + border[3, grid[:, -1]].sum())


def _best_shift(grid, h, v, border) -> tuple[np.ndarray, float]:
    """The best cyclic shift of rows and columns: the move that pairwise swaps cannot make."""
    shifted = [np.roll(grid, (dr, dc), axis=(0, 1)) for dr in range(grid.shape[0]) for dc in range(grid.shape[1])]
    costs = [_cost(g, h, v, border) for g in shifted]
    k = int(np.argmin(costs))
    return shifted[k].copy(), costs[k]


def _descend(grid, h, v, border, max_rounds: int = 200, n_orient: int = 1) -> tuple[np.ndarray, float]:
    grid, best = _best_shift(grid, h, v, border)
    flat = grid.ravel()
    t = flat.size
    for _ in range(max_rounds):
        improved = False
        for p in range(t):
            for q in range(p + 1, t):
                flat[p], flat[q] = flat[q], flat[p]
                c = _cost(grid, h, v, border)
                if c < best - 1e-12:
                    best, improved = c, True
                else:
                    flat[p], flat[q] = flat[q], flat[p]
        if n_orient > 1:
            best, turned = _reorient(grid, h, v, border, best, n_orient)
            improved = improved or turned
        shifted, cost = _best_shift(grid, h, v, border)
        if cost < best - 1e-12:
            grid[...] = shifted
            best, improved = cost, True
        if not improved:
            break
    return grid, best


def _reorient(grid, h, v, border, best: float, n_orient: int) -> tuple[float, bool]:
    """Try every cell's other orientations (piece = block·n_orient + orientation); keep what helps."""
    flat, improved = grid.ravel(), False
    for p in range(flat.size):
        base, keep = flat[p] - flat[p] % n_orient, flat[p]
        for o in range(n_orient):
            flat[p] = base + o
            c = _cost(grid, h, v, border)
            if c < best - 1e-12:
                best, keep, improved = c, flat[p], True
        flat[p] = keep
    return best, improved


def _greedy(h, v, border, shape: tuple[int, int], start: int, n_orient: int = 1) -> np.ndarray:
    gh, gw = shape
    grid = -np.ones(shape, dtype=np.int64)
    free = set(range(h.shape[0])) - set(range(start - start % n_orient, start - start % n_orient + n_orient))
    grid[0, 0] = start
    for r in range(gh):
        for c in range(gw):
            if r == 0 and c == 0:
                continue
            cand = np.array(sorted(free))
            cost = np.zeros(len(cand))
            cost += border[0, cand] if r == 0 else 0
            cost += border[1, cand] if r == gh - 1 else 0
            cost += border[2, cand] if c == 0 else 0
            cost += border[3, cand] if c == gw - 1 else 0
            if c > 0:
                cost += h[grid[r, c - 1], cand]
            if r > 0:
                cost += v[grid[r - 1, c], cand]
            pick = int(cand[np.argmin(cost)])
            grid[r, c] = pick
            free.difference_update(range(pick - pick % n_orient, pick - pick % n_orient + n_orient))
    return grid


def jigsaw_attack(observed_blocks: np.ndarray, grid_shape: tuple[int, int], *, border_value: float = 0.0,
                  starts: int = 16, seed: int = 0, oriented: bool = False):
    """Estimate π from the disguised blocks (t, N, b, b) the cloud sees; ``border_value`` is the
    mean outer-ring pixel of public same-domain images.

    Returns ``perm_hat`` with ``perm_hat[j]`` the estimated original position of disguised block j
    (the true π has disguised position j holding original block π(j)); with ``oriented``, also
    ``orient_hat``: the symmetry (:func:`disguisednets.mechanisms.etc.dihedral`) that turns disguised
    block j upright.
    """
    t = observed_blocks.shape[0]
    n_orient = 8 if oriented else 1
    if oriented:  # piece 8·j + o: block j under symmetry o
        pieces = np.stack([dihedral(observed_blocks.swapaxes(0, 1), np.full(t, o), axes=(-2, -1))
                           for o in range(8)], axis=2)                       # (N, t, 8, b, b)
        observed_blocks = pieces.reshape(pieces.shape[0], 8 * t, *pieces.shape[3:]).swapaxes(0, 1)
    h, v = edge_dissimilarity(observed_blocks)
    border = border_costs(observed_blocks, border_value)
    rng = np.random.default_rng(seed)
    # first pieces: every block (in every orientation, for EtC) when there are no more than ``starts`` of them
    firsts = rng.choice(t * n_orient, size=min(starts, t * n_orient), replace=False)
    best_grid, best_cost = None, np.inf
    for first in firsts:  # a few restarts (not a loop over images)
        grid, cost = _descend(_greedy(h, v, border, grid_shape, int(first), n_orient), h, v, border,
                              n_orient=n_orient)
        if cost < best_cost:
            best_grid, best_cost = grid.copy(), cost
    perm_hat = np.empty(t, dtype=np.int64)
    perm_hat[best_grid.ravel() // n_orient] = np.arange(t)
    if not oriented:
        return perm_hat
    orient_hat = np.empty(t, dtype=np.int64)
    orient_hat[best_grid.ravel() // n_orient] = best_grid.ravel() % n_orient
    return perm_hat, orient_hat
