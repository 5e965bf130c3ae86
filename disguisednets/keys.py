"""The secret key K of a disguise (docs/method.md §2, "The key").

A key is a non-secret *spec* (mechanism, image shape, block size, noise, mechanism settings)
plus secret arrays (block permutation, label map, per-block matrices or AES keys). Keys are
drawn from the OS CSPRNG; a ``seed`` gives a deterministic *experiment key* instead, drawn from
an AES-CTR keystream keyed by the seed and what the key is for (its spec, and a context such as
the dataset), so that no two grid points share key material by accident; the key says it is one.

The key material is never shown: ``repr`` and every error give the fingerprint only, a short
SHA-256 of the spec and the arrays. Saved keys are JSON with base64 arrays, written 0600,
never overwritten, and validated field by field when loaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from Crypto.Cipher import AES
from scipy.special import ndtri

__all__ = ["COMMON_SPEC_FIELDS", "DisguiseKey", "KeyFileError", "KeyRandom"]

# The spec fields every key has; the others are its mechanism's settings.
COMMON_SPEC_FIELDS = ("mechanism", "image_shape", "block_size", "n_classes", "noise")

FORMAT = "disguisednets-key"
VERSION = 1


class KeyFileError(ValueError):
    """A key file or key object that is missing, corrupt, or of the wrong mechanism or shape."""



class KeyRandom:
    """Cryptographic randomness for key generation.

    ``seed=None`` reads the OS CSPRNG (``os.urandom``). An integer seed gives a reproducible
    experiment stream: the AES-128-CTR keystream under SHA-256 of the seed and ``context`` (what the
    key is for: :func:`disguisednets.mechanisms.generate_key` passes the spec and the dataset).
    """

    def __init__(self, seed: int | None = None, context: str = ""):
        self.seed = seed
        self._ctr = None
        if seed is not None:
            k = hashlib.sha256(f"disguisednets-experiment-key:{int(seed)}|{context}".encode()).digest()[:16]
            self._ctr = AES.new(k, AES.MODE_CTR, nonce=b"", initial_value=0)

    def bytes(self, n: int) -> bytes:
        if self._ctr is None:
            return os.urandom(n)
        return self._ctr.encrypt(bytes(n))

    def integers64(self, shape) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(self.bytes(8 * n), dtype="<u8").reshape(shape)

    def uniform(self, shape) -> np.ndarray:
        """Uniform floats in the open interval (0, 1), 53 bits each."""
        return ((self.integers64(shape) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53

    def normal(self, shape) -> np.ndarray:
        """Standard normal draws by inverse CDF of :meth:`uniform`."""
        return ndtri(self.uniform(shape))

    def permutation(self, n: int) -> np.ndarray:
        """A uniformly random permutation of range(n) (sort by 64-bit random tags)."""
        return np.argsort(self.integers64((n,)), kind="stable").astype(np.int64)


def _encode(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def _decode(name: str, d: Any) -> np.ndarray:
    try:
        dtype = np.dtype(d["dtype"])
        shape = tuple(int(s) for s in d["shape"])
        raw = base64.b64decode(d["data"], validate=True)
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except Exception as exc:  # noqa: BLE001 - any decoding problem is one clear error
        raise KeyFileError(f"key array {name!r} cannot be decoded ({type(exc).__name__}); "
                           "the key file is corrupt") from None


class DisguiseKey:
    """A disguise key: public ``spec`` and secret arrays (never shown).

    Make one with :func:`disguisednets.mechanisms.generate_key`, store it with :meth:`save`, read it
    back with :func:`disguisednets.mechanisms.load_key`.

    Attributes
    ----------
    spec : dict
        Non-secret settings: ``mechanism``, ``image_shape``, ``block_size``, ``n_classes``,
        ``noise`` and mechanism settings.
    experiment : bool
        True for a key drawn from a seed (reproducible, for experiments only).
    fingerprint : str
        16 hex digits of SHA-256 over the spec and the key material.
    """

    def __init__(self, spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray], experiment: bool):
        self._spec = json.loads(json.dumps(dict(spec)))  # a plain, JSON-safe copy
        self._arrays = {k: np.array(v) for k, v in arrays.items()}
        for a in self._arrays.values():
            a.setflags(write=False)
        self.experiment = bool(experiment)

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._spec))

    @property
    def mechanism(self) -> str:
        return self._spec["mechanism"]

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self._spec["image_shape"])  # type: ignore[return-value]

    @property
    def block_size(self) -> int:
        return int(self._spec["block_size"])

    def has_array(self, name: str) -> bool:
        return name in self._arrays

    def array(self, name: str) -> np.ndarray:
        """A secret array (read-only). For mechanisms and tests; never log what it returns."""
        return self._arrays[name]

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps(self._spec, sort_keys=True).encode())
        for name in sorted(self._arrays):
            a = np.ascontiguousarray(self._arrays[name])
            h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        kind = "experiment key" if self.experiment else "key"
        return (f"DisguiseKey({self.mechanism}, image_shape={self.image_shape}, block_size={self.block_size}, "
                f"{kind}, fingerprint={self.fingerprint})")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DisguiseKey) and other.fingerprint == self.fingerprint

    __hash__ = None  # type: ignore[assignment]

    # -------------------------------------------------------------------------------- storage
    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "experiment": self.experiment, "spec": self._spec,
            "arrays": {k: _encode(v) for k, v in sorted(self._arrays.items())},
            "fingerprint": self.fingerprint,
        })

    def save(self, path: str | os.PathLike) -> Path:
        """Write the key to ``path`` readable by its owner only (0600); never overwrites."""
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"Refusing to overwrite the existing key file {path}; "
                                  "choose another path or delete it yourself.")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-", suffix=".tmp")  # created 0600
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(self.to_json())
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # atomic, and fails if path appeared meanwhile
        finally:
            os.unlink(tmp)
        return path

    @classmethod
    def from_json(cls, text: str, source: str = "key", validate=None) -> "DisguiseKey":
        """Parse a key file's text: format, version, arrays and fingerprint. ``validate(spec, arrays)``
        checks the arrays against their mechanism's schema (:func:`disguisednets.mechanisms.load_key`
        passes the registry's); it raises :class:`KeyFileError`."""
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"{source} is not a valid key file (not JSON: {exc.msg} at "
                               f"position {exc.pos}); it is corrupt or not a DisguisedNets key.") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise KeyFileError(f"{source} is not a DisguisedNets key file (format field missing or wrong).")
        if doc.get("version") != VERSION:
            raise KeyFileError(f"{source} has key format version {doc.get('version')!r}; "
                               f"this version of DisguisedNets reads version {VERSION}.")
        for field in ("spec", "arrays", "experiment", "fingerprint"):
            if field not in doc:
                raise KeyFileError(f"{source} lacks the field {field!r}; the key file is corrupt.")
        if not isinstance(doc["arrays"], dict) or not isinstance(doc["spec"], dict):
            raise KeyFileError(f"{source}: 'spec' and 'arrays' must be objects; the key file is corrupt.")
        arrays = {k: _decode(k, v) for k, v in doc["arrays"].items()}
        if validate is not None:
            try:
                validate(doc["spec"], arrays)
            except KeyFileError as exc:
                raise KeyFileError(f"{source}: {exc}") from None
        key = cls(doc["spec"], arrays, doc["experiment"])
        if key.fingerprint != doc["fingerprint"]:
            raise KeyFileError(f"{source}: the key material does not match its recorded fingerprint "
                               f"{doc['fingerprint']}; the key file is corrupt or was edited.")
        return key
