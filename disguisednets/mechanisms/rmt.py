"""Randomized multidimensional transformation, RMT (paper §III-B, docs/method.md §2 "RMT").

Per block position i a secret b×b matrix R_i; the block becomes X_i R_i (``mode='matrix'``), or
vec(X_i) times a b²×b² matrix (``mode='flat'``). Kinds: ``orthogonal`` (Haar) and ``gaussian``
(random projection, entries N(0, 1/d) for d×d matrices, condition number ≤ 20·d so that restore
is exact from float32). Optional uniform noise
Y_i = (X_i + Δ_i) R_i, Δ ~ U(0, level). Output float32.

The same bytes however the batch is split: R_i is applied as its entries rounded to multiples of 2^-24,
accumulated in float64 and rounded to float32 once (:mod:`disguisednets.mechanisms.exact`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from disguisednets.keys import KeyRandom
from disguisednets.mechanisms.base import BlockMechanism
from disguisednets.mechanisms.exact import exact_matmul, on_grid

__all__ = ["RMT", "haar_orthogonal", "gaussian_matrices"]

KINDS = ("orthogonal", "gaussian")
MODES = ("matrix", "flat")


def haar_orthogonal(count: int, d: int, rng: KeyRandom) -> np.ndarray:
    """``count`` Haar-distributed d×d orthogonal matrices (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.normal((count, d, d)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


# A Gaussian matrix is redrawn while its condition number exceeds this many times d (~10% of draws
# at every d): the disguised images are float32, and restore multiplies their rounding error by the
# condition number; unbounded (the tail is heavy: 1 in 1,000 of 49×49 draws exceeds 10^5) some keys
# could not restore their own images to the grey level.
MAX_CONDITION_PER_DIM = 20.0


def gaussian_matrices(count: int, d: int, rng: KeyRandom, max_rounds: int = 200) -> np.ndarray:
    """``count`` random-projection d×d matrices with entries N(0, 1/d), each redrawn while its
    condition number exceeds ``MAX_CONDITION_PER_DIM · d``."""
    m = rng.normal((count, d, d)) / np.sqrt(d)
    bound = MAX_CONDITION_PER_DIM * d
    for _ in range(max_rounds):  # rounds of redraws, all bad matrices at once
        bad = np.flatnonzero(np.linalg.cond(m) > bound)
        if bad.size == 0:
            return m
        m[bad] = rng.normal((bad.size, d, d)) / np.sqrt(d)
    raise RuntimeError(f"Could not draw well-conditioned {d}×{d} Gaussian matrices in {max_rounds} rounds.")


class RMT(BlockMechanism):
    """Block-wise random matrix transform. ``restore`` inverts it (noise stays in).

    Example
    -------
    >>> from disguisednets.mechanisms import generate_key
    >>> key = generate_key("rmt", (28, 28), block_size=7, seed=0)
    >>> y = RMT(key).disguise(images)            # (N, 28, 28) float32
    """

    name = "rmt"
    noise_kinds = ("none", "uniform")
    traits = frozenset({"block_permutation", "linear"})
    chunk_pixels = 1 << 17  # float64 work arrays of ~1 MB stay in cache (results/bench_mechanisms.md)

    @classmethod
    def _settings(cls, spec, kind: str = "orthogonal", mode: str = "matrix") -> dict[str, Any]:
        if kind not in KINDS:
            raise ValueError(f"The 'kind' parameter of RMT must be one of {KINDS}. Got {kind!r} instead.")
        if mode not in MODES:
            raise ValueError(f"The 'mode' parameter of RMT must be one of {MODES}. Got {mode!r} instead.")
        return {"kind": kind, "mode": mode}

    @staticmethod
    def _dim(spec: Mapping[str, Any]) -> int:
        b = spec["block_size"]
        return b * b if spec["mode"] == "flat" else b

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t = arrays["permutation"][0][0]
        d = cls._dim(spec)
        arrays["matrices"] = ((t, d, d), "f")
        return arrays

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t, d = len(arrays["permutation"]), cls._dim(spec)
        draw = haar_orthogonal if spec["kind"] == "orthogonal" else gaussian_matrices
        arrays["matrices"] = draw(t, d, rng)
        return arrays

    def __init__(self, key):
        super().__init__(key)
        self._matrices = on_grid(key.array("matrices"))  # R_i as applied (see the module's docstring)

    def _rows(self, blocks: np.ndarray) -> np.ndarray:
        """Block-major (t, N, b, b) → (t, rows, d): the rows each R_i multiplies."""
        t, n, b, _ = blocks.shape
        return blocks.reshape(t, n, b * b) if self.key.spec["mode"] == "flat" else blocks.reshape(t, n * b, b)

    def _transform(self, blocks: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        return exact_matmul(self._rows(blocks), self._matrices[positions]).reshape(blocks.shape)

    def _inverse(self, blocks: np.ndarray, positions: np.ndarray) -> np.ndarray:
        r = self._matrices[positions]
        inv = r.transpose(0, 2, 1) if self.key.spec["kind"] == "orthogonal" else np.linalg.inv(r)
        return np.matmul(self._rows(blocks).astype(np.float64), inv).reshape(blocks.shape)
