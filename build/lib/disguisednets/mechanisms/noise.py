"""Noise applied before the block transform (docs/method.md §2 step 1), fresh per image and pixel.

Noise randomness is not key material: it comes from a ``numpy.random.Generator`` that the
caller passes (seeded for experiments, fresh OS entropy otherwise).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["NOISE_KINDS", "make_noise_spec", "apply_noise", "uniform_noise", "salt_and_pepper",
           "bernoulli_positions"]

NOISE_KINDS = ("none", "uniform", "salt_and_pepper")


def make_noise_spec(noise: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate a noise setting: {'kind': 'none'}, {'kind': 'uniform', 'level': u} (pixel scale
    0..255) or {'kind': 'salt_and_pepper', 'rate': p} (0 ≤ p ≤ 1)."""
    noise = dict(noise or {"kind": "none"})
    kind = noise.get("kind", "none")
    if kind == "none":
        return {"kind": "none"}
    if kind == "uniform":
        level = float(noise.get("level", -1))
        if not level >= 0:
            raise ValueError(f"Uniform noise needs a 'level' u ≥ 0 (pixel scale 0..255). Got {noise.get('level')!r}.")
        return {"kind": "uniform", "level": level}
    if kind == "salt_and_pepper":
        rate = float(noise.get("rate", -1))
        if not 0 <= rate <= 1:
            raise ValueError(f"Salt-and-pepper noise needs a 'rate' p in [0, 1]. Got {noise.get('rate')!r}.")
        return {"kind": "salt_and_pepper", "rate": rate}
    raise ValueError(f"Unknown noise kind {kind!r}; choose one of {', '.join(NOISE_KINDS)}.")


def uniform_noise(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """X + Δ per pixel, float32, with Δ uniform on 65,536 equally spaced values from 0 to ``level``
    (mean level/2, variance within 0.01% of level²/12; the spacing, level/65,535, is far below one
    grey level). Sixteen raw random bits per pixel: a quarter of the draws of float32 uniforms."""
    n = int(np.prod(images.shape))
    bits = rng.bit_generator.random_raw(-(-n // 4)).view(np.uint16)[:n].reshape(images.shape)
    noise = np.multiply(bits, np.float32(level / 65535), dtype=np.float32)
    noise += images
    return noise


# Above this rate drawing every pixel's coin is cheaper than drawing the gaps between hits.
_DENSE_RATE = 0.2


def bernoulli_positions(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices in 0..n-1 of independent Bernoulli(``rate``) successes, in O(n·rate) work for
    small rates: the gaps between successes of a Bernoulli process are Geometric(rate), so the
    positions are the cumulative sums of geometric draws (exact, not an approximation)."""
    if rate <= 0 or n == 0:
        return np.zeros(0, np.int64)
    if rate >= _DENSE_RATE:
        return np.flatnonzero(rng.random(n) < rate)
    expected = n * rate
    parts, last = [], -1
    while True:  # one draw almost always covers all n; a loop over draws, not pixels
        gaps = rng.geometric(rate, size=int(expected + 6 * np.sqrt(expected) + 16))
        pos = last + np.cumsum(gaps)
        parts.append(pos[pos < n])
        if pos[-1] >= n:
            return np.concatenate(parts)
        last = int(pos[-1])
        expected = (n - 1 - last) * rate


def salt_and_pepper(images: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel, independently with probability ``rate``, becomes 0 or 255 (50/50); dtype kept.
    Only the hit pixels are drawn (:func:`bernoulli_positions`), so 2% noise costs a copy."""
    out = np.array(images, copy=True, order="C")
    flat = out.reshape(-1)
    hits = bernoulli_positions(flat.size, float(rate), rng)
    flat[hits] = np.where(rng.random(hits.size) < 0.5, 255, 0).astype(out.dtype)
    return out


def apply_noise(images: np.ndarray, spec: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    kind = spec["kind"]
    if kind == "none":
        return images
    if kind == "uniform":
        return uniform_noise(images, spec["level"], rng)
    return salt_and_pepper(images, spec["rate"], rng)
