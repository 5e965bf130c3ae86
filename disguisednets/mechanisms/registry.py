"""The registry of keyed mechanisms, and the key functions that need it (docs/method.md §2).

``get_mechanism(name)`` gives the class; ``make_mechanism(key)`` the object for a key;
``generate_key`` draws a key for a mechanism; ``load_key`` reads a key file and checks it against its
mechanism's schema (``validate_key_arrays``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from disguisednets.keys import COMMON_SPEC_FIELDS, DisguiseKey, KeyFileError, KeyRandom
from disguisednets.mechanisms.aes import AESCBC, AESECB
from disguisednets.mechanisms.base import TRAITS, BlockMechanism, BlockPermutation
from disguisednets.mechanisms.etc import BlockScrambling
from disguisednets.mechanisms.instahide import InstaHide
from disguisednets.mechanisms.learnable import LearnableEncryption
from disguisednets.mechanisms.pixelization import DPPixelization
from disguisednets.mechanisms.probe import Probe, probe_scheme
from disguisednets.mechanisms.rmt import RMT
from disguisednets.plugins import MECHANISM_GROUP, load_plugins
from disguisednets.registry import Registry

__all__ = ["MECHANISMS", "check_mechanism", "folds_channels", "get_mechanism", "make_mechanism", "probe_setting",
           "setting_traits", "traits_of", "validate_key_arrays", "generate_key", "load_key"]

_log = logging.getLogger("disguisednets.plugins")

PROBE_SHAPE = (28, 28)   # the images a plugin mechanism is checked on (its ``probe_block_size``, default 4)

MECHANISMS: Registry[type[BlockMechanism]] = Registry(
    "mechanism", ((cls.name, cls) for cls in (BlockPermutation, RMT, AESECB, AESCBC, BlockScrambling,
                                              LearnableEncryption, InstaHide, DPPixelization)))


def get_mechanism(name: str) -> type[BlockMechanism]:
    """The keyed mechanism ``name`` ('none', the baseline, takes no key and is not registered)."""
    return MECHANISMS[name]


def make_mechanism(key) -> BlockMechanism:
    return get_mechanism(key.mechanism)(key)


def traits_of(mechanism: str) -> frozenset[str]:
    """What a scheme declares it is (:data:`~disguisednets.mechanisms.base.TRAITS`); 'none', the baseline, is
    every kind of block scheme with the identity; an unknown name declares nothing."""
    if mechanism == "none":
        return frozenset(TRAITS) - {"keyless", "mixes_images"}
    return MECHANISMS[mechanism].traits if mechanism in MECHANISMS else frozenset()


_PROBES: dict[str, Probe] = {}


def probe_setting(spec: Mapping[str, Any]) -> Probe:
    """What the scheme of the key spec ``spec`` is at that setting, measured with keys of the probe's own
    (:func:`~disguisednets.mechanisms.probe.probe_scheme`; public settings only, never a key's arrays); once per
    setting and process."""
    text = json.dumps(dict(spec), sort_keys=True, default=str)
    if text not in _PROBES:
        _PROBES[text] = probe_scheme(get_mechanism(spec["mechanism"]), spec)
    return _PROBES[text]


def setting_traits(spec: Mapping[str, Any] | None) -> frozenset[str]:
    """The traits the battery follows at the setting ``spec``: declared or measured (a declaration only adds);
    ``None`` (no disguise) is 'none'."""
    return traits_of("none") if spec is None else probe_setting(spec).traits


def folds_channels(mechanism: str) -> bool:
    """Whether ``mechanism`` disguises a colour image channel by channel with one key (its channels are folded
    into the batch, ``BlockMechanism.channel_aware`` False) and keeps images apart — so that, to an attacker,
    each channel is one more grayscale image under the same key."""
    if mechanism == "none":
        return True
    if mechanism not in MECHANISMS:
        return False
    cls = MECHANISMS[mechanism]
    return not cls.channel_aware and "mixes_images" not in cls.traits


def validate_key_arrays(spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`KeyFileError` unless ``arrays`` are exactly what ``spec`` needs."""
    name = spec.get("mechanism")
    if name not in MECHANISMS:
        raise KeyFileError(MECHANISMS.refused.get(name, f"unknown mechanism {name!r} in the key spec"))
    _check_key_arrays(MECHANISMS[name], spec, arrays)


def _check_key_arrays(cls: type[BlockMechanism], spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    name = spec.get("mechanism")
    try:
        settings = {k: v for k, v in spec.items() if k not in COMMON_SPEC_FIELDS}
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
        top = {"orientation": 7, "negative": 1}.get(k)
        if top is not None and a.size and (a.min() < 0 or a.max() > top):
            raise KeyFileError(f"key array {k!r} holds values outside 0..{top}")
        if a.shape != shape or a.dtype.kind != kind:
            raise KeyFileError(f"key array {k!r} has shape {a.shape} and dtype {a.dtype}; a {name!r} key "
                               f"for images {tuple(spec['image_shape'])} with block size {spec['block_size']} "
                               f"needs shape {shape} ({ {'i': 'integer', 'u': 'uint8', 'f': 'float'}[kind]})")
        if kind == "f" and not np.all(np.isfinite(a)):
            raise KeyFileError(f"key array {k!r} holds non-finite values")
    for k in ("permutation", "label_map", "shuffle", "channel_order"):
        if k not in arrays:
            continue
        if k == "channel_order":
            if not np.array_equal(np.sort(arrays[k], axis=1), np.broadcast_to(np.arange(arrays[k].shape[1]),
                                                                             arrays[k].shape)):
                raise KeyFileError("key array 'channel_order' is not a permutation in every row")
            continue
        if not np.array_equal(np.sort(arrays[k]), np.arange(len(arrays[k]))):
            raise KeyFileError(f"key array {k!r} is not a permutation")


def load_key(path: str | os.PathLike, *, mechanism: str | None = None) -> DisguiseKey:
    """Load and validate a key file; with ``mechanism``, also require that mechanism."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"Key file {path} does not exist.")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise KeyFileError(f"Key file {path} is not text; it is corrupt or not a DisguisedNets key.") from None
    key = DisguiseKey.from_json(text, source=f"Key file {path}", validate=validate_key_arrays)
    if mechanism is not None and key.mechanism != mechanism:
        raise KeyFileError(f"Key file {path} is a {key.mechanism!r} key; a {mechanism!r} key is needed. "
                           f"Generate one for {mechanism!r}.")
    return key


def generate_key(mechanism: str, image_shape: tuple[int, int], block_size: int, *, n_classes: int = 10,
                 noise: Mapping[str, Any] | None = None, seed: int | None = None, context: str = "",
                 **settings: Any) -> DisguiseKey:
    """Draw a key for ``mechanism``.

    ``seed=None`` draws from the OS CSPRNG; an int gives a reproducible experiment key, drawn from
    the seed, the key's spec and ``context`` (the experiments pass the dataset's name): keys of two
    grid points that differ in dataset, mechanism or any setting share no key material.
    """
    cls = get_mechanism(mechanism)
    spec = cls.make_spec(image_shape=image_shape, block_size=block_size, n_classes=n_classes,
                         noise=noise, **settings)
    rng = KeyRandom(seed, context=f"{context}|{json.dumps(spec, sort_keys=True)}")
    return DisguiseKey(spec, cls.draw_key_arrays(spec, rng), experiment=seed is not None)


def check_mechanism(name: str, cls: Any) -> None:
    """What a plugin mechanism must do before it is registered (raises, in a line, what it does not): be a
    :class:`BlockMechanism` subclass named ``name``; on 28×28 probe images (block ``cls.probe_block_size``,
    default 4, no noise), draw a key that comes back the same from its key file, disguise uint8 images into
    uint8 or float32 images of its ``disguised_shape``, and — where it has an inverse — restore them."""
    if not (isinstance(cls, type) and issubclass(cls, BlockMechanism)):
        raise TypeError(f"it is {cls!r}, not a subclass of disguisednets.mechanisms.BlockMechanism")
    if getattr(cls, "name", None) != name:
        raise ValueError(f"its class is named {getattr(cls, 'name', None)!r}, its entry point {name!r}: they must agree")
    unknown = sorted(set(getattr(cls, "traits", ())) - set(TRAITS))
    if unknown:
        raise ValueError(f"it declares traits {unknown} that no attack knows; choose from {sorted(TRAITS)}")
    block = int(getattr(cls, "probe_block_size", 4))
    spec = cls.make_spec(image_shape=PROBE_SHAPE, block_size=block)
    key = DisguiseKey(spec, cls.draw_key_arrays(spec, KeyRandom(0, context="plugin check")), experiment=True)
    try:
        back = DisguiseKey.from_json(key.to_json(), source=f"the {name} key file",
                                     validate=lambda s, a: _check_key_arrays(cls, s, a))
    except KeyFileError as exc:
        raise ValueError(f"its key does not round-trip through a key file ({exc})") from None
    if back.fingerprint != key.fingerprint:
        raise ValueError("its key does not round-trip through a key file: the arrays read back differ")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, *PROBE_SHAPE), dtype=np.uint8)
    scheme = cls(key)
    out = np.asarray(scheme.disguise(images, rng))
    expected = (len(images), *scheme.disguised_shape)
    if out.shape != expected:
        raise ValueError(f"its disguise changes the shape: images {images.shape} came back {out.shape}, "
                         f"{expected} expected (its disguised_shape)")
    if out.dtype not in (np.uint8, np.float32):
        raise ValueError(f"its disguise returns dtype {out.dtype}; uint8 or float32 expected")
    try:
        restored = np.asarray(scheme.restore(out))
    except NotImplementedError:
        restored = None   # a keyless or one-way scheme: nothing to restore
    if restored is not None and (restored.shape != images.shape or not np.allclose(restored, images, atol=0.5)):
        worst = (float(np.abs(restored.astype(np.float64) - images).max()) if restored.shape == images.shape
                 else f"shape {restored.shape}")
        raise ValueError(f"its key does not round-trip: restore(disguise(x)) is not x (largest error {worst})")
    probe = probe_scheme(cls, spec)
    if probe.mismatches():   # not a refusal: the battery runs the attacks of both, so a verdict only gets stronger
        _log.warning("plugin %r: %s (the battery follows declared and measured traits alike)", name,
                     "; ".join(probe.mismatches()))


load_plugins(MECHANISMS, MECHANISM_GROUP, check_mechanism)
