"""Real data (docs/method.md §1): MNIST and Fashion-MNIST held in memory, read and verified once
per process (sources and checks: :mod:`disguisednets.datasources`), a data owner's own folder of
images (:mod:`disguisednets.folderdata`, ``dataset=folder``), and the zero padding some mechanisms need.

Command line: ``python -m disguisednets.data fetch mnist fashion``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disguisednets.datasources import (CHECKSUMS, DATASETS, DataError, DatasetNotFoundError, IDXError, cache_dir,
                                       locate, parse_idx, read_idx)

__all__ = ["CHECKSUMS", "DATASETS", "Dataset", "DataError", "DatasetNotFoundError", "IDXError", "cache_dir",
           "crop_to", "load_dataset", "locate", "pad_to", "parse_idx", "read_idx"]


@dataclass(frozen=True)
class Dataset:
    """A labelled image dataset held in memory: images (N, H, W) or, in colour, (N, H, W, C) uint8,
    labels (N,) int64. ``digest``: the SHA-256 of a folder's content (a data owner's folder), else None."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    digest: str | None = None
    classes: tuple[str, ...] | None = None

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.train_images.shape[1:3])  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return int(max(self.train_labels.max(), self.test_labels.max() if len(self.test_labels) else 0)) + 1

    @property
    def channels(self) -> int:
        """0 for grayscale (N, H, W) images, else C of (N, H, W, C)."""
        return int(self.train_images.shape[3]) if self.train_images.ndim == 4 else 0


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = True,
                 mirrors: bool = True) -> Dataset:
    """Load and verify dataset ``name`` ('mnist' or 'fashion'). Read and verified once per process
    and source files: later calls return the same read-only arrays (index or copy them to change)."""
    files = locate(name, data_dir, download=download, mirrors=mirrors)
    stamp = tuple((f, str(Path(p).resolve()), Path(p).stat().st_mtime_ns) for f, p in sorted(files.items()))
    if (name, stamp) not in _LOADED:
        if len(_LOADED) >= 2:  # both datasets of a sweep stay; older versions go
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[(name, stamp)] = _read_dataset(name, files)
    return _LOADED[(name, stamp)]


_LOADED: dict[tuple, Dataset] = {}


def _read_dataset(name: str, files: dict) -> Dataset:
    arrays = {f: read_idx(p, CHECKSUMS[name][f]) for f, p in files.items()}
    ds = Dataset(
        name=name,
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"].astype(np.int64),
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
    )
    for a in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        a.setflags(write=False)  # shared by every caller in the process
    return ds


# ------------------------------------------------------------------------------------ transforms
def pad_to(images: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad (N, H, W) or (N, H, W, C) images to size × size, centred (28 → 32 adds 2 px on each side).

    An odd difference puts the extra pixel at the bottom/right.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"pad_to expects images of shape (N, H, W) or (N, H, W, C); got shape {images.shape}.")
    h, w = images.shape[1:3]
    if size < h or size < w:
        raise ValueError(f"pad_to size {size} is smaller than the images ({h}×{w}); "
                         f"choose a size of at least {max(h, w)}.")
    top, left = (size - h) // 2, (size - w) // 2
    return np.pad(images, ((0, 0), (top, size - h - top), (left, size - w - left)) + ((0, 0),) * (images.ndim - 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m disguisednets.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fetch", help="fetch datasets into the cache and verify them")
    p.add_argument("names", nargs="+", choices=DATASETS)
    args = parser.parse_args(argv)
    for name in args.names:
        try:
            ds = load_dataset(name)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {len(ds.train_images)} train / {len(ds.test_images)} test images "
              f"{ds.image_shape}, checksums OK ({cache_dir() / name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def crop_to(images: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Undo :func:`pad_to`: the centred h × w window of (N, H, W) or (N, H, W, C) images (32 → 28 drops
    2 px on each side). Images already of that size are returned as they are."""
    images = np.asarray(images)
    h, w = size[:2]
    if images.ndim not in (3, 4) or images.shape[1] < h or images.shape[2] < w:
        raise ValueError(f"crop_to expects images (N, H, W) or (N, H, W, C) of at least {h}×{w}; got shape "
                         f"{images.shape}.")
    top, left = (images.shape[1] - h) // 2, (images.shape[2] - w) // 2
    return images[:, top:top + h, left:left + w]
