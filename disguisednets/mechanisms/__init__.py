"""The disguising mechanisms (docs/method.md §2) and their registry.

``get_mechanism(name)`` gives the class; ``make_mechanism(key)`` the object for a key;
``validate_key_arrays`` checks a loaded key against its mechanism's schema.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from disguisednets.keys import KeyFileError
from disguisednets.mechanisms.aes import AESCBC, AESECB
from disguisednets.mechanisms.base import BlockMechanism, BlockPermutation, NoDisguise
from disguisednets.mechanisms.rmt import RMT

__all__ = ["MECHANISMS", "AESCBC", "AESECB", "BlockMechanism", "BlockPermutation", "NoDisguise", "RMT",
           "get_mechanism", "make_mechanism", "validate_key_arrays"]

MECHANISMS: dict[str, type[BlockMechanism]] = {cls.name: cls for cls in (BlockPermutation, RMT, AESECB, AESCBC)}


def get_mechanism(name: str) -> type[BlockMechanism]:
    try:
        return MECHANISMS[name]
    except KeyError:
        raise ValueError(f"Unknown mechanism {name!r}; keyed mechanisms are {', '.join(MECHANISMS)} "
                         "('none' is the baseline and takes no key).") from None


def make_mechanism(key) -> BlockMechanism:
    return get_mechanism(key.mechanism)(key)


def validate_key_arrays(spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`KeyFileError` unless ``arrays`` are exactly what ``spec`` needs."""
    name = spec.get("mechanism")
    if name not in MECHANISMS:
        raise KeyFileError(f"unknown mechanism {name!r} in the key spec")
    cls = MECHANISMS[name]
    try:
        settings = {k: v for k, v in spec.items()
                    if k not in ("mechanism", "image_shape", "block_size", "n_classes", "noise")}
        canonical = cls.make_spec(image_shape=spec["image_shape"], block_size=spec["block_size"],
                                  n_classes=spec["n_classes"], noise=spec["noise"], **settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"invalid key spec for {name!r}: {exc}") from None
    if canonical != dict(spec):
        raise KeyFileError(f"invalid key spec for {name!r}: it does not match its canonical form")
    expected = cls.key_arrays(spec)
    if set(arrays) != set(expected):
        raise KeyFileError(f"a {name!r} key needs arrays {sorted(expected)}; the file has {sorted(arrays)}")
    for k, (shape, kind) in expected.items():
        a = arrays[k]
        if a.shape != shape or a.dtype.kind != kind:
            raise KeyFileError(f"key array {k!r} has shape {a.shape} and dtype {a.dtype}; a {name!r} key "
                               f"for images {tuple(spec['image_shape'])} with block size {spec['block_size']} "
                               f"needs shape {shape} ({ {'i': 'integer', 'u': 'uint8', 'f': 'float'}[kind]})")
        if kind == "f" and not np.all(np.isfinite(a)):
            raise KeyFileError(f"key array {k!r} holds non-finite values")
    for k in ("permutation", "label_map"):
        if not np.array_equal(np.sort(arrays[k]), np.arange(len(arrays[k]))):
            raise KeyFileError(f"key array {k!r} is not a permutation")
