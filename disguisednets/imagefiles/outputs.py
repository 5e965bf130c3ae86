"""Image outputs for the data owner's command line: written to a temporary name beside the target
and renamed at the end, so an interrupted or failed run leaves no half-written output. Only lossless
outputs exist: ``.npz``, ``.npy`` or a folder of PNG files (uint8 only). File names given with the
images (``names``) are kept: a PNG folder writes each image under its own name (``.png``), an ``.npz``
records them, so that a disguised folder restores to the names it came from."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from disguisednets.imagefiles.inputs import MANIFEST, InputError

__all__ = ["OutputWriter", "check_output_path", "open_output"]


def check_output_path(path: str | os.PathLike, dtype: np.dtype, shape: tuple[int, ...] = ()) -> str:
    """The output kind for ``path`` ('npz', 'npy' or 'png'); an error if it exists or is lossy, or if PNG
    cannot hold images of ``shape`` (PNG: grayscale or RGB)."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; choose a new output path (nothing is ever overwritten).")
    if not path.parent.is_dir():
        raise InputError(f"The folder {path.parent} for the output does not exist; create it first.")
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return suffix[1:]
    if suffix in (".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".png", ".tif", ".tiff"):
        raise InputError(f"{path}: write an .npz, an .npy or a folder (of PNG files). Lossy formats such as "
                         "JPEG would destroy AES ciphertext, so single image files are not offered.")
    if suffix:
        raise InputError(f"{path}: unknown output kind {suffix!r}; write an .npz, an .npy or a folder of PNGs.")
    if np.dtype(dtype) != np.uint8:
        raise InputError(f"The output is {np.dtype(dtype)} (this key's images are not whole 0..255 values); "
                         f"PNG would round it and lose information. Write an .npz or .npy instead, e.g. {path}.npz")
    if len(shape) == 3 and shape[2] != 3:
        raise InputError(f"The output images have {shape[2]} channels; PNG files here are grayscale or RGB. Write an "
                         f".npz or .npy instead, e.g. {path}.npz")
    return "png"


class OutputWriter:
    """Write ``n`` images in chunks to a temporary name; :meth:`commit` renames it into place."""

    def __init__(self, path: str | os.PathLike, n: int, shape: tuple[int, ...], dtype, labels: np.ndarray | None,
                 class_names: dict[int, str] | None = None, fingerprint: str | None = None,
                 names: list[str] | None = None):
        self.path = Path(path)
        self.kind = check_output_path(self.path, dtype, tuple(shape))
        self.n, self.labels = n, labels
        self.names = _check_names(names, n, labels) if names is not None else None
        self.class_names = class_names
        self.fingerprint = fingerprint
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent))
        if self.kind in ("npz", "npy"):
            self._images = np.lib.format.open_memmap(self._tmpdir / "images.npy", mode="w+", dtype=dtype,
                                                     shape=(n, *shape))
        else:
            self._images = None
            self._digits = max(6, len(str(n - 1)))
            if labels is not None:
                for c in np.unique(labels):
                    (self._tmpdir / self._class_folder(int(c))).mkdir()

    def _class_folder(self, c: int) -> str:
        return (self.class_names or {}).get(c, str(c))

    def write(self, start: int, images: np.ndarray) -> None:
        if self._images is not None:
            self._images[start:start + len(images)] = images
            return
        from PIL import Image

        for i, image in enumerate(images, start):  # PNG encoding is per file
            folder = self._tmpdir if self.labels is None else self._tmpdir / self._class_folder(int(self.labels[i]))
            name = f"{i:0{self._digits}d}.png" if self.names is None else self.names[i]
            Image.fromarray(np.ascontiguousarray(image)).save(folder / name, optimize=False)

    def commit(self) -> Path:
        if self.kind == "png":
            if self.fingerprint:
                import json

                (self._tmpdir / MANIFEST).write_text(json.dumps({"key_fingerprint": self.fingerprint}) + "\n")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmpdir, 0o777 & ~umask)  # mkdtemp made it 0700; the output is an ordinary folder
            os.rename(self._tmpdir, self.path)
            return self.path
        self._images.flush()
        del self._images
        if self.kind == "npy":
            os.replace(self._tmpdir / "images.npy", self._tmpdir / "out")
        else:
            with zipfile.ZipFile(self._tmpdir / "out", "w", zipfile.ZIP_STORED, allowZip64=True) as z:
                z.write(self._tmpdir / "images.npy", "images.npy")
                if self.labels is not None:
                    with z.open("labels.npy", "w") as f:
                        np.lib.format.write_array(f, np.asarray(self.labels, np.int64))
                if self.fingerprint:
                    with z.open("key_fingerprint.npy", "w") as f:
                        np.lib.format.write_array(f, np.array(self.fingerprint))
                if self.names is not None:
                    with z.open("names.npy", "w") as f:
                        np.lib.format.write_array(f, np.array(self.names))
        if self.path.exists():
            raise InputError(f"{self.path} appeared while this ran; the output is left in {self._tmpdir}/out.")
        os.replace(self._tmpdir / "out", self.path)
        shutil.rmtree(self._tmpdir, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        self._images = None
        shutil.rmtree(self._tmpdir, ignore_errors=True)


def _check_names(names: list[str], n: int, labels: np.ndarray | None) -> list[str]:
    """The PNG names of ``names`` (suffix → .png); an error if two would land in one folder."""
    if len(names) != n:
        raise InputError(f"{len(names)} file names for {n} images.")
    png = [str(Path(name).with_suffix(".png").name) for name in names]
    seen: dict[tuple, int] = {}
    for i, name in enumerate(png):
        where = (None if labels is None else int(labels[i]), name)
        if where in seen:
            raise InputError(f"Two images would both be written as {name} (images {seen[where]} and {i}); "
                             "give them distinct names, or number the outputs instead (--no-names).")
        seen[where] = i
    return png


def open_output(path, n, shape, dtype, labels=None, class_names=None, fingerprint=None, names=None) -> OutputWriter:
    """An :class:`OutputWriter`; ``fingerprint`` (of the disguising key, not secret) is recorded in an
    .npz or a PNG folder's manifest, so that restore can tell a wrong key; ``names`` (file names
    without folders) name a PNG folder's files and are recorded in an .npz."""
    return OutputWriter(path, n, shape, dtype, labels, class_names, fingerprint, names)
