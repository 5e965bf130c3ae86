"""A labelled colour dataset built from Fashion-MNIST, for the README's colour audit (no colour image set is
carried by the package registries this project installs from): each garment is painted in a random colour
on a random, darker background colour and padded to 32×32 — colour drawn independently of the class, so the
class is in the shape alone, and a disguise has three channels to hide.

    .venv/bin/python experiments/colour_fashion.py --count 10000 -o fashion-colour/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from disguisednets.data import load_dataset

CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")


def colour_fashion(images: np.ndarray, seed: int = 0, size: int = 32) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, size, size, 3) uint8: ink colour × the garment's intensity over a background colour."""
    rng = np.random.default_rng(seed)
    n = len(images)
    ink = rng.integers(96, 256, (n, 1, 1, 3)).astype(np.float32)
    paper = rng.integers(0, 96, (n, 1, 1, 3)).astype(np.float32)
    pad = (size - images.shape[1]) // 2
    alpha = np.pad(images, ((0, 0), (pad, size - 28 - pad), (pad, size - 28 - pad)))[..., None] / 255.0
    return np.rint(paper + alpha * (ink - paper)).astype(np.uint8)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=10000, help="images, the first of Fashion-MNIST's training set")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="a new folder (class subfolders of PNG files)")
    args = p.parse_args(argv)
    out = Path(args.output)
    if out.exists():
        print(f"error: {out} exists; give a new folder.", file=sys.stderr)
        return 2
    ds = load_dataset("fashion")
    images, labels = colour_fashion(ds.train_images[:args.count], args.seed), ds.train_labels[:args.count]
    for name in CLASSES:
        (out / name).mkdir(parents=True)
    files = tqdm(zip(images, labels), total=len(images), desc="PNG files", disable=None)   # no bar off a terminal
    for i, (image, label) in enumerate(files):
        Image.fromarray(image).save(out / CLASSES[label] / f"{i:05d}.png")   # one file per image: Pillow's own loop
    print(f"Wrote {len(images)} 32×32 RGB images in {len(CLASSES)} class folders under {out}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
