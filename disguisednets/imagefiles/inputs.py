"""Image inputs for the data owner's command line: a folder of images in class subfolders
(ImageFolder layout; labels = class index in sorted order), a flat folder of unlabeled images, or
``.npy`` / ``.npz`` arrays. Images are read in chunks, so a folder or ``.npy`` larger than memory
streams through. A folder's file names travel with its images (``ImageSource.names``), so that a
disguised folder restores to the same names. Images nested deeper than one level of class
subfolders are refused with their path, never skipped."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "MANIFEST", "ImageSource", "InputError", "class_names", "open_source"]

IMAGE_SUFFIXES = (".png", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".webp", ".jpg", ".jpeg")
IMAGE_KEYS, LABEL_KEYS = ("images", "x", "x_train", "arr_0"), ("labels", "y", "y_train", "arr_1")


class InputError(ValueError):
    """Bad input or output for the command line: the message says what was wrong and how to fix it."""


@dataclass
class ImageSource:
    """``n`` images of ``shape``, readable in chunks; ``labels`` (class indices) if the input has them."""

    n: int
    shape: tuple[int, ...]   # (H, W), or (H, W, C) for colour
    dtype: np.dtype
    labels: np.ndarray | None
    classes: list[str] | None
    description: str
    _read: Callable[[int, int], np.ndarray]
    fingerprint: str | None = None  # the key that disguised these images, where the input records it
    names: list[str] | None = None  # the images' file names (no folders), where the input has them

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._read(start, stop)

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.n, size):
            yield start, self.read(start, min(start + size, self.n))


def _class_index(names: list[str]) -> dict[str, int]:
    """Class folder name → class index: folders named by integers are those indices (0, 1, …);
    otherwise the names in sorted order are numbered 0..n-1."""
    if names and all(n.isdigit() for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(sorted(names))}


def class_names(folder: str | os.PathLike) -> dict[int, str]:
    """The classes of an ImageFolder: class index → folder name (see :func:`_class_index`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the folder of class subfolders the data came from.")
    names = [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if not names:
        raise InputError(f"{folder} has no class subfolders.")
    return {i: n for n, i in _class_index(names).items()}


def _is_image(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def _scan_headers(files: list[Path]) -> tuple[tuple[int, ...], np.dtype]:
    """Check that every file is an 8-bit grayscale (L, or 1-bit) or RGB image of one size and kind
    (headers only, no pixel data); the shape is (H, W) or (H, W, 3)."""
    from PIL import Image, UnidentifiedImageError

    sizes: dict[tuple[int, int], Path] = {}
    modes: dict[str, Path] = {}
    for f in files:
        try:
            with Image.open(f) as im:
                sizes.setdefault((im.height, im.width), f)
                modes.setdefault(im.mode, f)
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"{f} is not a readable image ({exc}). Remove it or replace it.") from None
    bad = {m: f for m, f in modes.items() if m not in ("L", "1", "RGB")}
    if bad:
        mode, f = next(iter(bad.items()))
        channels = {"RGBA": "4 channels", "LA": "2 channels", "P": "a palette", "I;16": "16-bit",
                    "CMYK": "4 channels", "YCbCr": "3 channels"}.get(mode, "not 8-bit grayscale or RGB")
        raise InputError(f"{f} has mode {mode} ({channels}); DisguisedNets disguises 8-bit grayscale (mode L) "
                         "and RGB images. Convert them first, e.g. with Pillow: "
                         "Image.open(path).convert('RGB').save(path) (or .convert('L') for grayscale).")
    if "RGB" in modes and set(modes) - {"RGB"}:
        gray = next(f for m, f in modes.items() if m != "RGB")
        raise InputError(f"The folder mixes RGB images ({modes['RGB'].name}) and grayscale ones ({gray.name}); "
                         "a key is for one kind. Convert them all to one mode first.")
    if len(sizes) > 1:
        listing = ", ".join(f"{h}×{w} ({f.name})" for (h, w), f in list(sizes.items())[:4])
        raise InputError(f"The images have different sizes: {listing}. Every image must have the key's size; "
                         "resize or pad them to one size first.")
    if not sizes:
        raise InputError("No images found.")
    return next(iter(sizes)) + ((3,) if "RGB" in modes else ()), np.dtype(np.uint8)


def _read_files(files: list[Path], dtype: np.dtype) -> Callable[[int, int], np.ndarray]:
    from PIL import Image

    def read(start: int, stop: int) -> np.ndarray:
        out = []
        for f in files[start:stop]:  # file decoding is per file; the disguise itself is vectorized
            try:
                with Image.open(f) as im:
                    out.append(np.asarray(im.convert("L") if im.mode == "1" else im, dtype=dtype))
            except (OSError, ValueError, SyntaxError) as exc:  # Pillow's errors for damaged pixel data
                raise InputError(f"{f} cannot be decoded ({exc}); the file is damaged or truncated. Replace or "
                                 "remove it; nothing was written.") from None
        return np.stack(out)

    return read


def _check_depth(folder: Path) -> None:
    """Refuse images nested deeper than one level of class subfolders: they would be left out."""
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if len(rel.parts) > 2 and _is_image(p) and not any(part.startswith(".") for part in rel.parts):
            raise InputError(f"{p} lies in a nested sub-folder ({rel.parent}); DisguisedNets reads a flat folder or "
                             "one level of class subfolders. Move the images up into their class folder (or "
                             "disguise that sub-folder on its own); nothing was written.")


def _open_folder(folder: Path) -> ImageSource:
    _check_depth(folder)
    top = sorted(p for p in folder.iterdir() if _is_image(p))
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    labelled = {d.name: sorted(p for p in d.iterdir() if _is_image(p)) for d in subdirs}
    labelled = {k: v for k, v in labelled.items() if v}
    if top and labelled:
        raise InputError(f"{folder} holds images both at its top level and in subfolders "
                         f"({', '.join(sorted(labelled)[:3])}). Use either class subfolders (labelled data) "
                         "or a flat folder (unlabeled data), not both.")
    if not top and not labelled:
        raise InputError(f"{folder} holds no images (looked for {', '.join(IMAGE_SUFFIXES)} at the top level and "
                         "in class subfolders).")
    if top:
        files, labels, classes = top, None, None
    else:
        index = _class_index(list(labelled))
        classes = sorted(labelled, key=index.get)
        files = [f for c in classes for f in labelled[c]]
        labels = np.concatenate([np.full(len(labelled[c]), index[c], np.int64) for c in classes])
    shape, dtype = _scan_headers(files)
    kind = f"{len(classes)} class folders" if classes else "a flat folder"
    return ImageSource(len(files), shape, dtype, labels, classes, f"{len(files)} images in {kind} of {folder}",
                       _read_files(files, dtype), _manifest_fingerprint(folder), [f.name for f in files])


def _check_array(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] > 8):
        raise InputError(f"{path}: images must be an (N, H, W) array of grayscale images or (N, H, W, C) with "
                         f"C = 2..8 channels last (RGB: 3; the learnable encryption's RGB output: 6); got shape "
                         f"{images.shape}.")
    if images.dtype.kind not in "uif":
        raise InputError(f"{path}: images must be numeric; got dtype {images.dtype}.")
    if len(images) == 0:
        raise InputError(f"{path} holds no images.")
    return images


def _open_npz(path: Path) -> ImageSource:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a readable .npz file ({exc}).") from None
    with npz:
        image_key = next((k for k in IMAGE_KEYS if k in npz.files), None)
        if image_key is None:
            raise InputError(f"{path} has arrays {npz.files}; name the images 'images' (and the labels 'labels').")
        images = _check_array(npz[image_key], path)  # an .npz member is read whole; use .npy for huge data
        label_key = next((k for k in LABEL_KEYS if k in npz.files and k != image_key), None)
        labels = None if label_key is None else np.asarray(npz[label_key]).reshape(-1)
        fingerprint = str(npz["key_fingerprint"]) if "key_fingerprint" in npz.files else None
        names = [str(n) for n in npz["names"]] if "names" in npz.files else None
    if names is not None and len(names) != len(images):
        raise InputError(f"{path}: {len(names)} file names for {len(images)} images.")
    if labels is not None:
        if len(labels) != len(images):
            raise InputError(f"{path}: {len(labels)} labels for {len(images)} images.")
        if labels.dtype.kind not in "iu" or (len(labels) and labels.min() < 0):
            raise InputError(f"{path}: labels must be non-negative integers (class indices); got {labels.dtype}.")
    return ImageSource(len(images), tuple(images.shape[1:]), images.dtype, labels, None,
                       f"{len(images)} images from {path}", lambda a, b: np.asarray(images[a:b]), fingerprint, names)


MANIFEST = "disguisednets.json"


def _manifest_fingerprint(folder: Path) -> str | None:
    import json

    try:
        return json.loads((folder / MANIFEST).read_text()).get("key_fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def _open_npy(path: Path) -> ImageSource:
    try:
        images = np.load(path, mmap_mode="r", allow_pickle=False)  # memory-mapped: larger than memory is fine
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable .npy file ({exc}).") from None
    images = _check_array(images, path)
    return ImageSource(len(images), tuple(images.shape[1:]), images.dtype, None, None,
                       f"{len(images)} images from {path}", lambda a, b: np.asarray(images[a:b]))


def open_source(path: str | os.PathLike) -> ImageSource:
    """Open an input: a folder (class subfolders or flat), an ``.npz`` or an ``.npy``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        return _open_folder(path)
    if path.suffix == ".npz":
        return _open_npz(path)
    if path.suffix == ".npy":
        return _open_npy(path)
    raise InputError(f"{path}: give a folder of images, an .npz or an .npy file.")
