"""Augmentations a person shrugs off (docs/method.md §4, the robust examiner): additive noise, an intensity
offset, a contrast change, a blur and a one-pixel shift, drawn afresh for every image of every
batch. Torch on whole batches: every operation is one tensor op over the batch (the shift is one
masked copy per offset, nine in all), never a loop over images. Images are on the 0..255 scale;
nothing is clipped, so the examiner also sees values outside the range (raw reconstructions do).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

__all__ = ["PersonInvariances"]


@dataclass(frozen=True)
class PersonInvariances:
    """Each perturbation applies to an image with probability ``p`` (independently):

    - noise: U(−a, a) per pixel, a ~ U(0, ``noise``);
    - offset: + U(``offset``) grey levels; contrast: × U(``contrast``);
    - blur: a Gaussian of width σ ~ U(0.3, ``blur``);
    - shift: up to ``shift`` pixels in each direction (zeros enter).
    """

    p: float = 0.5
    noise: float = 60.0
    offset: tuple[float, float] = (-30.0, 60.0)
    contrast: tuple[float, float] = (0.6, 1.2)
    blur: float = 1.3
    shift: int = 1

    def _uniform(self, n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
        return torch.rand(n, 1, 1, 1, device=like.device, dtype=like.dtype) * (high - low) + low

    def _chosen(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, device=like.device) < self.p).to(like.dtype)

    def _blur(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        sigma = self._uniform(n, 0.3, self.blur, x).view(n, 1)
        r = torch.arange(-2, 3, device=x.device, dtype=x.dtype).view(1, 5)
        k1 = torch.exp(-r ** 2 / (2 * sigma ** 2))
        k1 = k1 / k1.sum(dim=1, keepdim=True)                               # (n, 5)
        kernels = (k1[:, :, None] * k1[:, None, :]).view(n, 1, 5, 5)          # one kernel per image
        c = x.shape[1]
        out = F.conv2d(F.pad(x.reshape(1, n * c, *x.shape[2:]), (2, 2, 2, 2), mode="replicate"),
                       kernels.repeat_interleave(c, dim=0), groups=n * c)
        return out.view_as(x).to(x.dtype)

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        s = self.shift
        n, _, h, w = x.shape
        dy = torch.randint(-s, s + 1, (n,), device=x.device)
        dx = torch.randint(-s, s + 1, (n,), device=x.device)
        padded = F.pad(x, (s, s, s, s))
        out = x.clone()
        for oy in range(-s, s + 1):           # (2s+1)² masked copies per batch, not per image
            for ox in range(-s, s + 1):
                sel = (dy == oy) & (dx == ox)
                if sel.any():
                    out[sel] = padded[sel, :, s - oy:s - oy + h, s - ox:s - ox + w]
        return out

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images on the 0..255 scale → perturbed copies, same shape and dtype."""
        x = images
        n = x.shape[0]
        if self.blur > 0:
            x = torch.lerp(x, self._blur(x), self._chosen(n, x))
        if self.shift > 0:
            x = torch.lerp(x, self._shift(x), self._chosen(n, x))
        if self.contrast:
            x = x * (1 + self._chosen(n, x) * (self._uniform(n, *self.contrast, x) - 1))
        if self.offset:
            x = x + self._chosen(n, x) * self._uniform(n, *self.offset, x)
        if self.noise > 0:
            amp = self._chosen(n, x) * self._uniform(n, 0, self.noise, x)
            x = x + amp * (2 * torch.rand_like(x) - 1)
        return x
