"""What every keyed disguise shares (docs/method.md §2): the order of operations, the block permutation,
the secret label map, and input validation against the key's spec.

Colour (docs/method.md §2 "Colour images"): a key for (H, W, C) images disguises (N, H, W, C) arrays.
This paper's mechanisms apply the same key to every channel — the permutation moves a block with all
its channels, RMT multiplies each channel's block by the same R_i, AES encrypts each channel's block
under the same K_i — so channels are folded into the batch; a mechanism whose transform mixes
channels (the peers' EtC colour shuffle, the learnable encryption's nibble channels) sets
``channel_aware`` and receives (N, H, W, C) chunks itself.

A mechanism is a small object holding a key; ``disguise(images) -> images`` and, where the key
allows, ``restore(disguised) -> images``. Pure numpy, no I/O, no global state.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from disguisednets.keys import DisguiseKey, KeyFileError, KeyRandom
from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec

__all__ = ["BlockMechanism", "BlockPermutation", "NoDisguise", "SettingsOnlyKey", "TRAITS", "as_bytes"]

# What a scheme can declare it is (``BlockMechanism.traits``); an attack applies to every scheme that has the
# traits it requires (``Attack.requires``), so a new scheme meets every generic attack the day it is added.
TRAITS = {
    "block_permutation": "blocks are moved by a secret permutation π, with one secret per original block position "
                         "(π can be estimated from statistics the position's own secret leaves unchanged)",
    "pixel_blocks": "each block keeps its own pixels, at most rotated, flipped or negated (edges can be matched)",
    "linear": "each block position's transform is one linear map shared by every image (noise before it)",
    "equal_units": "equal u-pixel units at a block position give equal output units, wherever they lie in the "
                   "block (ECB)",
    "pixelwise": "each output pixel is one fixed one-to-one function of one input pixel, the same for every image "
                 "(per block position and place in the block)",
    "keyless": "no secret beyond one-time draws: the attacker can make the release of public images itself",
    "mixes_images": "an output mixes several private images",
}


def as_bytes(images: np.ndarray, owner: str) -> np.ndarray:
    """``images`` as uint8, for the mechanisms that work on 8-bit pixels (AES, EtC, the learnable encryption);
    a clear error, naming ``owner``, unless they are integers in 0..255."""
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.integer) or (images.size and (images.min() < 0 or images.max() > 255)):
        lo, hi = (images.min(), images.max()) if images.size else (0, 0)
        raise ValueError(f"{owner} need 8-bit pixels, integer pixels in 0..255 (uint8); got dtype {images.dtype} "
                         f"with range {lo}..{hi}. Convert them first, e.g. "
                         "np.clip(np.rint(x), 0, 255).astype(np.uint8).")
    return images.astype(np.uint8)


class BlockMechanism:
    """Base class: noise → blocks → per-block transform (parameter of the block's original
    position) → permutation → reassemble. Subclasses implement ``_transform`` on t-major blocks
    of shape (t, N, b, b) and declare their secret arrays."""

    name: ClassVar[str]
    noise_kinds: ClassVar[tuple[str, ...]] = ("none",)
    channel_aware: ClassVar[bool] = False  # True: chunks arrive as (N, H, W, C), grayscale as C = 1
    relabels: ClassVar[bool] = True        # False: the label map is the identity (the peers publish no label map)
    adaptation_block: ClassVar[int | None] = None  # the network's block-wise adaptation layer, if the scheme has one
    traits: ClassVar[frozenset[str]] = frozenset()  # what the scheme is (TRAITS): the generic attacks it meets
    chunk_pixels: ClassVar[int] = 1 << 20  # pixels per chunk: work arrays stay in cache (see results/bench_mechanisms.md)

    def __init__(self, key: DisguiseKey):
        if not isinstance(key, DisguiseKey):
            raise TypeError(f"{type(self).__name__} needs a DisguiseKey; got {type(key).__name__}.")
        if key.mechanism != self.name:
            raise KeyFileError(f"{type(self).__name__} needs a {self.name!r} key; got a {key.mechanism!r} key "
                               f"(fingerprint {key.fingerprint}).")
        self.key = key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    # ------------------------------------------------------------------------------- key schema
    @classmethod
    def make_spec(cls, *, image_shape, block_size, n_classes=10, noise=None, **settings) -> dict[str, Any]:
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) == 3 and image_shape[2] == 1:
            image_shape = image_shape[:2]  # one channel is grayscale
        if len(image_shape) not in (2, 3) or min(image_shape) < 1 or (len(image_shape) == 3 and image_shape[2] > 4):
            raise ValueError(f"image_shape must be (H, W) for grayscale or (H, W, C) with C = 2..4 channels "
                             f"(3 for RGB); got {image_shape}.")
        B.check_block_size(image_shape, block_size, owner=cls.__name__)
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
        noise = make_noise_spec(noise)
        if noise["kind"] not in cls.noise_kinds:
            raise ValueError(f"{cls.__name__} takes noise of kind {', '.join(cls.noise_kinds)}; "
                             f"got {noise['kind']!r}.")
        spec = {"mechanism": cls.name, "image_shape": list(image_shape), "block_size": int(block_size),
                "n_classes": int(n_classes), "noise": noise}
        import inspect

        params = inspect.signature(cls._settings).parameters.values()
        takes = [p for p in params if p.kind == p.KEYWORD_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "spec")]
        unknown = sorted(set(settings) - {p.name for p in takes})
        if unknown and not any(p.kind == p.VAR_KEYWORD for p in params):
            raise ValueError(f"{cls.__name__} takes no setting {', '.join(map(repr, unknown))}; its settings are "
                             f"{', '.join(p.name for p in takes) or 'none'}.")
        spec.update(cls._settings(spec, **settings))
        return spec

    @classmethod
    def _settings(cls, spec: Mapping[str, Any], **settings) -> dict[str, Any]:
        """Validate the mechanism's own settings, given the common ``spec``; return them."""
        if settings:
            raise ValueError(f"{cls.__name__} takes no settings {sorted(settings)}.")
        return {}

    @classmethod
    def key_arrays(cls, spec: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
        """Name → (shape, dtype kind) of every secret array of a key with this spec."""
        t = B.n_blocks(tuple(spec["image_shape"]), spec["block_size"])
        return {"permutation": ((t,), "i"), "label_map": ((spec["n_classes"],), "i")}

    @classmethod
    def draw_key_arrays(cls, spec: Mapping[str, Any], rng: KeyRandom) -> dict[str, np.ndarray]:
        t = B.n_blocks(tuple(spec["image_shape"]), spec["block_size"])
        n = spec["n_classes"]
        return {"permutation": rng.permutation(t), "label_map": rng.permutation(n) if cls.relabels else np.arange(n)}

    # ----------------------------------------------------------------------------- geometry
    @property
    def image_hw(self) -> tuple[int, int]:
        return tuple(self.key.image_shape[:2])  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        """The key's channels: 0 for grayscale (N, H, W) images, else C of (N, H, W, C)."""
        return self.key.image_shape[2] if len(self.key.image_shape) == 3 else 0

    @property
    def disguised_shape(self) -> tuple[int, ...]:
        """The shape of one disguised image (the input shape, unless the scheme adds channels)."""
        return self.key.image_shape

    # -------------------------------------------------------------------------------- disguise
    def _check_images(self, images: np.ndarray, what: str = "images",
                      expected: tuple[int, ...] | None = None) -> np.ndarray:
        images = np.asarray(images)
        expected = tuple(expected or self.key.image_shape)
        if images.ndim == len(expected):
            images = images[None]
        if images.shape[1:] != expected:
            kind = "grayscale" if len(expected) == 2 else f"{expected[2]} channels, last axis"
            raise ValueError(f"{type(self).__name__} with this key expects {what} of shape "
                             f"(N, {', '.join(map(str, expected))}) ({kind}); got shape {images.shape}. Pad or "
                             "resize them, or generate a key for this image size and number of channels.")
        if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
            raise TypeError(f"{what} must be numeric; got dtype {images.dtype}.")
        return images

    def _chunk_size(self) -> int:
        """Images per chunk: bounded work arrays, cache-friendly, and datasets larger than memory."""
        h, w = self.image_hw
        return max(1, self.chunk_pixels // (h * w))

    def _per_channel(self, fn, images: np.ndarray) -> np.ndarray:
        """``fn`` on (N, H, W) chunks: colour channels folded into the batch (one key for every channel),
        or (N, H, W, C) chunks for a channel-aware mechanism (grayscale as C = 1, given back as it came)."""
        size = self._chunk_size()
        if self.channel_aware:
            out = _map_chunks(fn, images[..., None] if images.ndim == 3 else images, size)
            return out[..., 0] if self.channels == 0 and out.shape[-1] == 1 else out
        if images.ndim == 3:
            return _map_chunks(fn, images, size)
        n, h, w, c = images.shape
        out = _map_chunks(fn, np.moveaxis(images, -1, 1).reshape(n * c, h, w), size)
        return np.ascontiguousarray(np.moveaxis(out.reshape(n, c, h, w), 1, -1))

    def disguise(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Disguise (N, H, W) or, with a colour key, (N, H, W, C) images (pixel scale 0..255); ``rng``
        draws the noise, if any."""
        images = self._check_images(images)
        rng = rng if rng is not None else np.random.default_rng()
        return self._per_channel(lambda x: self._disguise_chunk(x, rng), images)

    def restore(self, disguised: np.ndarray) -> np.ndarray:
        """Invert the disguise (noise, where any, stays in). Raises where the key allows no inverse."""
        disguised = self._check_images(disguised, "disguised images", self.disguised_shape)
        return self._per_channel(self._restore_chunk, disguised)

    def _disguise_chunk(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise, perm = self.key.spec["noise"], self.key.array("permutation")
        if noise["kind"] == "uniform":  # i.i.d. per pixel: added after the (narrow, uint8) block gather
            blocks = apply_noise(B.gather_blocks(images, self.key.block_size, perm), noise, rng)
        else:
            blocks = B.gather_blocks(apply_noise(images, noise, rng), self.key.block_size, perm)  # block-major
        return B.scatter_blocks(self._transform(blocks, perm, rng), self.image_hw)

    def _restore_chunk(self, disguised: np.ndarray) -> np.ndarray:
        perm = self.key.array("permutation")
        blocks = B.gather_blocks(disguised, self.key.block_size)
        return B.scatter_blocks(self._inverse(blocks, perm), self.image_hw, perm)

    def _transform(self, blocks: np.ndarray, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Transform block-major blocks (t, N, b, b); row j was at original position ``positions[j]``
        and takes that position's parameter. ``rng`` is for per-image randomness (noise, IVs)."""
        raise NotImplementedError

    def _inverse(self, blocks: np.ndarray, positions: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no inverse.")

    # ---------------------------------------------------------------------------------- labels
    def disguise_labels(self, labels: np.ndarray) -> np.ndarray:
        """Map class y to its secret code c = label_map[y]."""
        labels = np.asarray(labels)
        n = self.key.spec["n_classes"]
        if labels.size and (labels.min() < 0 or labels.max() >= n):
            raise ValueError(f"labels must lie in 0..{n - 1} for this key; got range "
                             f"{labels.min()}..{labels.max()}.")
        return self.key.array("label_map")[labels]

    def restore_labels(self, codes: np.ndarray) -> np.ndarray:
        """Map predicted codes back to the owner's classes."""
        return np.argsort(self.key.array("label_map"))[np.asarray(codes)]


class BlockPermutation(BlockMechanism):
    """Block permutation alone (paper §III-A): the blocks move, their pixels stay as they are."""

    name = "permutation"
    traits = frozenset({"block_permutation", "pixel_blocks", "pixelwise"})   # (the identity is linear too, but its
    # secret is π alone: the linear attacks add only cost)
    noise_kinds = ("none", "salt_and_pepper", "uniform")

    def _transform(self, blocks: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        return blocks

    def _inverse(self, blocks: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return blocks


class SettingsOnlyKey(BlockMechanism):
    """Base of a scheme that keeps no secret (InstaHide's one-time draws, DP pixelization's fresh noise):
    its key holds the settings and an identity label map only (the schemes publish none)."""

    relabels = False

    @classmethod
    def key_arrays(cls, spec):
        return {"label_map": ((spec["n_classes"],), "i")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        return {"label_map": np.arange(spec["n_classes"])}


def _map_chunks(fn, images: np.ndarray, size: int) -> np.ndarray:
    """``fn`` over consecutive chunks of ``size`` images, written into one preallocated output."""
    n = len(images)
    if n <= size:
        return fn(images)
    first = fn(images[:size])
    out = np.empty((n, *first.shape[1:]), dtype=first.dtype)
    out[:size] = first
    for start in range(size, n, size):
        out[start:start + size] = fn(images[start:start + size])
    return out


class NoDisguise:
    """The baseline: images as they are (float32), labels unchanged, no key."""

    name = "none"
    key = None

    def disguise(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        images = np.asarray(images)
        return (images[None] if images.ndim == 2 else images).astype(np.float32)

    def restore(self, disguised: np.ndarray) -> np.ndarray:
        return np.asarray(disguised, dtype=np.float64)

    def disguise_labels(self, labels: np.ndarray) -> np.ndarray:
        return np.asarray(labels)

    restore_labels = disguise_labels
