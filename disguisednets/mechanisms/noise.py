"""Noise applied before the block transform (SPEC §2 step 1), fresh per image and pixel.

Noise randomness is not key material: it comes from a ``numpy.random.Generator`` that the
caller passes (seeded for experiments, fresh OS entropy otherwise).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["NOISE_KINDS", "make_noise_spec", "apply_noise", "uniform_noise", "salt_and_pepper"]

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
    """X + Δ with Δ ~ U(0, level) per pixel, float32."""
    noise = rng.random(images.shape, dtype=np.float32)
    noise *= np.float32(level)
    noise += images
    return noise


def salt_and_pepper(images: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel, with probability ``rate``, becomes 0 or 255 (50/50); dtype kept."""
    u = rng.random(images.shape, dtype=np.float32)
    pepper = u < np.float32(rate / 2)
    salt = (u < np.float32(rate)) & ~pepper
    return np.where(salt, images.dtype.type(255), np.where(pepper, images.dtype.type(0), images))


def apply_noise(images: np.ndarray, spec: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    kind = spec["kind"]
    if kind == "none":
        return images
    if kind == "uniform":
        return uniform_noise(images, spec["level"], rng)
    return salt_and_pepper(images, spec["rate"], rng)
