"""Matrix products whose float32 result no BLAS kernel, summation order or batch split can change
(docs/method.md §2 "Same bytes, however the batch is split").

A float32 product of pixels and a matrix is rounded at every partial sum, and OpenBLAS orders those sums
differently for different batch shapes and CPUs (its Haswell kernels on AMD Zen and other AVX2-only CPUs
gave one-ulp differences between an image disguised alone and in a batch). Here the matrix's entries are
rounded to multiples of ``GRID`` = 2^-24 (a change below 3·10^-8, less than float32's own rounding of
an entry), the product is accumulated in float64 and rounded to float32 once. With 8-bit pixels every
product is a whole multiple of 2^-24 and every partial sum one below 2^29 · 2^-24 in size (|Σ x·m| ≤
255 · Σ|m|), so each float64 operation is exact: the float32 result is the same whatever the order.
With non-integer inputs (uniform noise) the float64 sums may round, but a float32 result changes only
when that error straddles a float32 rounding boundary (about 2^-29 of values).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRID", "on_grid", "exact_matmul"]

GRID = 2.0 ** -24


def on_grid(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` as float64 with its entries rounded to multiples of ``GRID``."""
    return np.rint(np.asarray(matrix, dtype=np.float64) / GRID) * GRID


def exact_matmul(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` (``matrix`` already :func:`on_grid`), accumulated in float64, rounded to float32 once."""
    return np.matmul(x.astype(np.float64, copy=False), matrix).astype(np.float32)
