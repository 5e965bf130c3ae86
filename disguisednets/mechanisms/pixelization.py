"""Differentially private image pixelization (docs/method.md §6 "Peers").

After Fan, "Image Pixelization with Differential Privacy", DBSec 2018 — the alternative with a provable
guarantee that the paper sets its work against (its Fig. 1a, ref. [6]). The image is cut into b×b cells;
each cell is replaced by its mean plus Laplace noise of scale

    Δ/ε = 255·m / (b²·ε),

where m is the number of pixels in which two neighbouring images may differ: changing one pixel moves
one cell mean by at most 255/b², so m pixels move the vector of cell means by at most Δ = 255·m/b² in
L1, and the Laplace mechanism with scale Δ/ε makes the pixelized image ε-differentially private for
m-neighbouring images. ``epsilon=None`` is ε = ∞: pixelization alone, no guarantee. On colour images
every channel of a cell is a cell of its own and m counts pixel values (a pixel that differs in all
three channels counts 3). ``clip`` clips the output to 0..255 (post-processing: the guarantee holds;
off by default, so that the output's mean over draws is the pixelized image).

There is no secret: the key holds the settings only (and an identity label map), and the noise is
fresh per image and never kept, so there is no ``restore``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.base import SettingsOnlyKey

__all__ = ["DPPixelization", "laplace_scale", "pixelize"]


def laplace_scale(block_size: int, epsilon: float | None, m: int) -> float:
    """The Laplace noise scale 255·m/(b²·ε) of a cell mean (0 for ε = ∞)."""
    return 0.0 if epsilon is None else 255.0 * m / (block_size ** 2 * float(epsilon))


def pixelize(images: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W) → (N, t) cell means, float64, cells row-major."""
    return B.to_blocks(np.asarray(images, np.float64), block_size).mean(axis=(2, 3))


class DPPixelization(SettingsOnlyKey):
    """b×b pixelization plus Laplace noise of scale 255·m/(b²·ε) per cell (Fan 2018).

    Example
    -------
    >>> key = generate_key("dp_pixelization", (28, 28), block_size=4, epsilon=1.0, m=16)
    >>> released = DPPixelization(key).disguise(images)   # float32, each 4×4 cell one noisy value
    """

    name = "dp_pixelization"
    traits = frozenset({"keyless"})

    @classmethod
    def _settings(cls, spec, epsilon: float | None = 1.0, m: int = 16, clip: bool = False) -> dict[str, Any]:
        if epsilon is not None:
            if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) \
                    or epsilon <= 0:
                raise ValueError(f"The 'epsilon' parameter of DPPixelization must be a positive number, or None for "
                                 f"ε = ∞ (pixelization without noise). Got {epsilon!r} instead.")
            epsilon = float(epsilon)
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"The 'm' parameter of DPPixelization (pixels in which neighbouring images may differ) "
                             f"must be a positive integer. Got {m!r} instead.")
        if not isinstance(clip, bool):
            raise ValueError(f"The 'clip' parameter of DPPixelization must be true or false. Got {clip!r} instead.")
        return {"epsilon": epsilon, "m": int(m), "clip": clip}

    @property
    def scale(self) -> float:
        """The Laplace scale of every cell mean."""
        s = self.key.spec
        return laplace_scale(s["block_size"], s["epsilon"], s["m"])

    def _disguise_chunk(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b = self.key.block_size
        cells = pixelize(images, b)
        if self.scale > 0:
            cells += rng.laplace(0.0, self.scale, size=cells.shape)
        if self.key.spec["clip"]:
            np.clip(cells, 0, 255, out=cells)
        n, t = cells.shape
        out = np.broadcast_to(cells.astype(np.float32)[:, :, None, None], (n, t, b, b))
        return B.from_blocks(np.ascontiguousarray(out), self.image_hw)

    def _restore_chunk(self, disguised: np.ndarray) -> np.ndarray:
        raise NotImplementedError("DP pixelization averages each cell and adds fresh Laplace noise that is never "
                                  "kept: the pixels it averaged away cannot be restored.")
