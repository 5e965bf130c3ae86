"""Pixel-block partitioning and the secret block permutation (paper §III-A, docs/method.md §2 steps 2, 4, 5).

Blocks are b×b, indexed row-major (i = 0..t-1). Everything is a reshape/transpose over the
whole batch: no loop over images.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_block_size", "n_blocks", "to_blocks", "from_blocks", "gather_blocks", "scatter_blocks",
           "to_channel_blocks", "from_channel_blocks"]


def check_block_size(image_shape: tuple[int, int], block_size: int, owner: str = "the disguise") -> None:
    """Raise a clear error unless ``block_size`` divides both image sides."""
    h, w = (int(s) for s in tuple(image_shape)[:2])
    if not isinstance(block_size, (int, np.integer)) or isinstance(block_size, bool) or block_size < 1:
        raise ValueError(f"The 'block_size' parameter of {owner} must be a positive integer. Got {block_size!r}.")
    if h % block_size or w % block_size:
        valid = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
        raise ValueError(f"The 'block_size' parameter of {owner} must divide the image size {h}×{w}. "
                         f"Got {block_size} instead; valid block sizes are {valid} "
                         "(or pad the images, e.g. dataset.pad_to=32).")


def n_blocks(image_shape: tuple[int, int], block_size: int) -> int:
    check_block_size(image_shape, block_size)
    return (image_shape[0] // block_size) * (image_shape[1] // block_size)


def to_blocks(images: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W) → (N, t, b, b), blocks in row-major order."""
    n, h, w = images.shape
    b = block_size
    check_block_size((h, w), b)
    return images.reshape(n, h // b, b, w // b, b).transpose(0, 1, 3, 2, 4).reshape(n, (h // b) * (w // b), b, b)


def from_blocks(blocks: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """(N, t, b, b) → (N, H, W), the inverse of :func:`to_blocks`."""
    n, t, b, _ = blocks.shape
    h, w = image_shape
    return blocks.reshape(n, h // b, w // b, b, b).transpose(0, 1, 3, 2, 4).reshape(n, h, w)


_UINTS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _segments(a: np.ndarray, b: int) -> np.ndarray:
    """View the last axis of ``a`` as W/b opaque segments of b pixels each (one element per block
    row), so that block moves copy a few wide elements instead of many single pixels."""
    a = np.ascontiguousarray(a)
    width = b * a.itemsize
    return a.view(_UINTS.get(width, np.dtype((np.void, width))))


def _pixels(segments: np.ndarray, dtype: np.dtype, b: int) -> np.ndarray:
    segments = np.ascontiguousarray(segments)
    return segments.view(dtype).reshape(*segments.shape[:-1], segments.shape[-1] * b)


def gather_blocks(images: np.ndarray, block_size: int, order: np.ndarray | None = None,
                  block_width: int | None = None) -> np.ndarray:
    """(N, H, W) → block-major (t, N, b, bw), position j holding block ``order[j]`` (default: j).
    Blocks are b×b, or b×``block_width`` (the literal AES form's upscaled blocks).

    One copy: the index on the transposed view of block-row segments gathers and permutes at once.
    """
    n, h, w = images.shape
    b, bw = block_size, block_width or block_size
    gw = w // bw
    seg = _segments(images, bw).reshape(n, h // b, b, gw).transpose(1, 3, 0, 2)  # (gh, gw, N, b) segments
    picked = seg.reshape((h // b) * gw, n, b) if order is None else seg[order // gw, order % gw]
    return _pixels(picked, images.dtype, bw).reshape(picked.shape[0], n, b, bw)


def scatter_blocks(blocks: np.ndarray, image_shape: tuple[int, int], order: np.ndarray | None = None) -> np.ndarray:
    """Block-major (t, N, b, bw) → (N, H, W), block j going to position ``order[j]`` (default: j)."""
    t, n, b, bw = blocks.shape
    h, w = image_shape
    if order is not None:
        blocks = np.take(blocks, np.argsort(order), axis=0)
    seg = _segments(blocks, bw).reshape(h // b, w // bw, n, b).transpose(2, 0, 3, 1)  # (N, gh, b, gw)
    return _pixels(seg, blocks.dtype, bw).reshape(n, h, w)


def to_channel_blocks(images: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W, C) → (N, t, b, b, C), blocks in row-major order, every channel of a block together."""
    n, h, w, c = images.shape
    b = block_size
    check_block_size((h, w), b)
    return (images.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
            .reshape(n, (h // b) * (w // b), b, b, c))


def from_channel_blocks(blocks: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """(N, t, b, b, C) → (N, H, W, C), the inverse of :func:`to_channel_blocks`."""
    n, t, b, _, c = blocks.shape
    h, w = image_shape[:2]
    return blocks.reshape(n, h // b, w // b, b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
