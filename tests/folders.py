"""Tiny image folders for the tests of ``dataset=folder`` and ``disguisednets audit``: labelled shapes a
network tells apart after one epoch, written as PNG files (class subfolders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def shapes(n_per_class: int = 40, size: int = 16, colour: bool = True, classes: int = 3,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, size, size, 3) or (N, size, size) uint8 images and their labels: class 0 a filled square, 1 a
    ring, 2 a horizontal bar, 3 a vertical bar…, each at a random place, in a random colour, on noise."""
    rng = np.random.default_rng(seed)
    n = n_per_class * classes
    labels = np.repeat(np.arange(classes), n_per_class)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 4, size - size // 4, (2, n))
    r = size // 4
    dy, dx = yy[None] - cy[:, None, None], xx[None] - cx[:, None, None]
    masks = np.stack([(abs(dy) <= r) & (abs(dx) <= r),                          # square
                      (abs(np.hypot(dy, dx) - r) < 1.2),                         # ring
                      (abs(dy) <= 1) & (abs(dx) <= r + 2),                       # horizontal bar
                      (abs(dx) <= 1) & (abs(dy) <= r + 2)])[labels % 4, np.arange(n)]
    background = rng.integers(0, 60, (n, size, size, 3 if colour else 1))
    ink = rng.integers(140, 256, (n, 1, 1, 3 if colour else 1))
    images = np.where(masks[..., None], ink, background).astype(np.uint8)
    return (images if colour else images[..., 0]), labels


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray, names: list[str] | None = None) -> Path:
    """Write ``images`` as PNG files into ``root/<class name>/`` (class names: ``names`` or c0, c1, …)."""
    from PIL import Image

    root = Path(root)
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / (names[label] if names else f"c{label}")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root
