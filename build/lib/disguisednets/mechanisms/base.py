"""What every keyed disguise shares (docs/method.md §2): the order of operations, the block permutation,
the secret label map, and input validation against the key's spec.

A mechanism is a small object holding a key; ``disguise(images) -> images`` and, where the key
allows, ``restore(disguised) -> images``. Pure numpy, no I/O, no global state.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from disguisednets.keys import DisguiseKey, KeyFileError, KeyRandom
from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec

__all__ = ["BlockMechanism", "BlockPermutation", "NoDisguise"]


class BlockMechanism:
    """Base class: noise → blocks → per-block transform (parameter of the block's original
    position) → permutation → reassemble. Subclasses implement ``_transform`` on t-major blocks
    of shape (t, N, b, b) and declare their secret arrays."""

    name: ClassVar[str]
    noise_kinds: ClassVar[tuple[str, ...]] = ("none",)
    chunk_pixels: ClassVar[int] = 1 << 20  # pixels per chunk: work arrays stay in cache (see results/bench.md)

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
        if len(image_shape) != 2:
            raise ValueError(f"image_shape must be (H, W); got {image_shape}.")
        B.check_block_size(image_shape, block_size, owner=cls.__name__)
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
        noise = make_noise_spec(noise)
        if noise["kind"] not in cls.noise_kinds:
            raise ValueError(f"{cls.__name__} takes noise of kind {', '.join(cls.noise_kinds)}; "
                             f"got {noise['kind']!r}.")
        spec = {"mechanism": cls.name, "image_shape": list(image_shape), "block_size": int(block_size),
                "n_classes": int(n_classes), "noise": noise}
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
        return {"permutation": rng.permutation(t), "label_map": rng.permutation(spec["n_classes"])}

    # -------------------------------------------------------------------------------- disguise
    def _check_images(self, images: np.ndarray, what: str = "images") -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == 2:
            images = images[None]
        expected = self.key.image_shape
        if images.ndim != 3 or images.shape[1:] != expected:
            raise ValueError(f"{type(self).__name__} with this key expects {what} of shape (N, {expected[0]}, "
                             f"{expected[1]}) (grayscale); got shape {images.shape}. Pad or resize them, "
                             "or generate a key for this image size.")
        if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
            raise TypeError(f"{what} must be numeric; got dtype {images.dtype}.")
        return images

    def _chunk_size(self) -> int:
        """Images per chunk: bounded work arrays, cache-friendly, and datasets larger than memory."""
        h, w = self.key.image_shape
        return max(1, self.chunk_pixels // (h * w))

    def disguise(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Disguise (N, H, W) images (pixel scale 0..255); ``rng`` draws the noise, if any."""
        images = self._check_images(images)
        rng = rng if rng is not None else np.random.default_rng()
        return _map_chunks(lambda x: self._disguise_chunk(x, rng), images, self._chunk_size())

    def restore(self, disguised: np.ndarray) -> np.ndarray:
        """Invert the disguise (noise, where any, stays in). Raises where the key allows no inverse."""
        disguised = self._check_images(disguised, "disguised images")
        return _map_chunks(self._restore_chunk, disguised, self._chunk_size())

    def _disguise_chunk(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise, perm = self.key.spec["noise"], self.key.array("permutation")
        if noise["kind"] == "uniform":  # i.i.d. per pixel: added after the (narrow, uint8) block gather
            blocks = apply_noise(B.gather_blocks(images, self.key.block_size, perm), noise, rng)
        else:
            blocks = B.gather_blocks(apply_noise(images, noise, rng), self.key.block_size, perm)  # block-major
        return B.scatter_blocks(self._transform(blocks, perm, rng), self.key.image_shape)

    def _restore_chunk(self, disguised: np.ndarray) -> np.ndarray:
        perm = self.key.array("permutation")
        blocks = B.gather_blocks(disguised, self.key.block_size)
        return B.scatter_blocks(self._inverse(blocks, perm), self.key.image_shape, perm)

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
    noise_kinds = ("none", "salt_and_pepper", "uniform")

    def _transform(self, blocks: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        return blocks

    def _inverse(self, blocks: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return blocks


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
