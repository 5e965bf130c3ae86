"""A data owner's own images as a dataset (``dataset=folder``, docs/method.md §1 "Your own images").

A folder of class subfolders (PNG/JPEG…, 8-bit grayscale or RGB, one size) — or a folder with ``train/``
and ``test/``, each of class subfolders — read once through the command line's folder reader
(:func:`disguisednets.imagefiles.inputs.open_source`: the same refusals, the same messages) and cached
as arrays keyed by the folder's content digest (the SHA-256 of every image file's relative path and
bytes). Without ``train/``/``test/``, a seeded, per-class ``test_fraction`` of the images is the test
split; the rest are training images (the harness samples the owner's training set from them, and the
training images outside it are the attacker's public images at level (a)).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from disguisednets.data import Dataset, load_dataset
from disguisednets.datasources import cache_dir
from disguisednets.imagefiles.inputs import IMAGE_SUFFIXES, ImageSource, InputError, open_source

__all__ = ["content_digest", "dataset_id", "load_configured", "load_folder"]

_LOADED: dict[tuple, Dataset] = {}


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def content_digest(folder: str | os.PathLike) -> str:
    """SHA-256 (hex) of a folder's image files: their relative paths and bytes, in sorted order."""
    folder = Path(folder)
    h = hashlib.sha256()
    for p in _image_files(folder):
        data = p.read_bytes()
        h.update(f"{p.relative_to(folder).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _labelled(source: ImageSource, where: Path) -> ImageSource:
    if source.labels is None:
        raise InputError(f"{where} holds images but no class subfolders; dataset=folder needs one subfolder per "
                         "class (e.g. cats/, dogs/) holding that class's images.")
    if len(source.classes or ()) < 2:
        raise InputError(f"{where} has one class folder ({source.classes[0] if source.classes else '?'}); a "
                         "classifier needs at least two classes. Add a subfolder per class.")
    return source


def _read(source: ImageSource) -> np.ndarray:
    return source.read(0, source.n)  # decoding is per file (Pillow); the arrays are whole from here on


def _split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A boolean mask of the test images: ``fraction`` of each class (rounded; at least one of a class with two
    or more images), drawn with ``seed``."""
    rng = np.random.default_rng([seed, 7])
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(labels[shuffled], kind="stable")]    # each class's images, in random order
    classes, starts, counts = np.unique(labels[by_class], return_index=True, return_counts=True)
    take = np.where(counts >= 2, np.maximum(1, np.rint(fraction * counts)), 0).astype(int)
    rank = np.arange(len(labels)) - np.repeat(starts, counts)          # place within its class
    mask = np.zeros(len(labels), bool)
    mask[by_class[rank < np.repeat(take, counts)]] = True
    return mask


def load_folder(path: str | os.PathLike, *, test_fraction: float = 0.2, split_seed: int = 0,
                use_cache: bool = True) -> Dataset:
    """The folder's images as a :class:`Dataset` (name ``<folder>-<digest[:8]>``, ``digest`` its content
    digest); read once per process and content, and cached under ``<cache>/folders/``."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InputError(f"dataset.path={path} is not a folder; give the folder of class subfolders (or of "
                         "train/ and test/, each of class subfolders).")
    if not 0 < test_fraction < 1:
        raise ValueError(f"dataset.test_fraction must be between 0 and 1; got {test_fraction}.")
    files = _image_files(folder)
    stamp = (str(folder.resolve()), test_fraction, split_seed,
             tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if stamp in _LOADED:
        return _LOADED[stamp]
    digest = content_digest(folder)
    cached = cache_dir() / "folders" / f"{digest[:24]}-test{test_fraction:g}-seed{split_seed}.npz"
    if use_cache and cached.is_file():
        with np.load(cached, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        arrays = _read_folder(folder, test_fraction, split_seed)
        if use_cache:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, cached)
    ds = Dataset(f"{folder.name}-{digest[:8]}", arrays["train_images"], arrays["train_labels"].astype(np.int64),
                 arrays["test_images"], arrays["test_labels"].astype(np.int64), digest=digest,
                 classes=tuple(str(c) for c in arrays["classes"]))
    for a in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        a.setflags(write=False)
    if len(_LOADED) >= 2:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[stamp] = ds
    return ds


def _read_folder(folder: Path, test_fraction: float, split_seed: int) -> dict[str, np.ndarray]:
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        train = _labelled(open_source(folder / "train"), folder / "train")
        test = _labelled(open_source(folder / "test"), folder / "test")
        if train.classes != test.classes:
            raise InputError(f"{folder}/train has classes {train.classes}, {folder}/test has {test.classes}; "
                             "both need the same class subfolders.")
        if train.shape != test.shape:
            raise InputError(f"{folder}/train holds images of shape {train.shape}, {folder}/test of {test.shape}; "
                             "every image must have one size and kind.")
        return {"train_images": _read(train), "train_labels": train.labels, "test_images": _read(test),
                "test_labels": test.labels, "classes": np.array(train.classes)}
    source = _labelled(open_source(folder), folder)
    images, labels = _read(source), np.asarray(source.labels)
    test = _split(labels, test_fraction, split_seed)
    if test.all() or not test.any():
        raise InputError(f"{folder}: {len(labels)} images leave no {'training' if test.all() else 'test'} image at "
                         f"dataset.test_fraction={test_fraction}; add images or change the fraction.")
    return {"train_images": images[~test], "train_labels": labels[~test], "test_images": images[test],
            "test_labels": labels[test], "classes": np.array(source.classes)}


def load_configured(d) -> Dataset:
    """The dataset a ``dataset/`` config names: ``mnist`` or ``fashion`` (:func:`load_dataset`), or
    ``folder`` — a data owner's folder of class subfolders at ``d.path`` (:func:`disguisednets.folderdata.load_folder`)."""
    if d.name == "folder":
        path = d.get("path")
        if not path or str(path) == "???":
            raise ValueError("dataset=folder needs dataset.path: the folder of class subfolders (PNG/JPEG), e.g. "
                             "dataset.path=/data/my_images.")
        return load_folder(path, test_fraction=float(d.get("test_fraction", 0.2)), split_seed=int(d.get("split_seed", 0)))
    return load_dataset(d.name, d.get("data_dir"))


def dataset_id(d) -> str:
    """A name that tells datasets apart in caches: the dataset's name, or a folder's name and content digest."""
    if d.name != "folder":
        return str(d.name)
    ds = load_configured(d)
    return ds.name

