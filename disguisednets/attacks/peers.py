"""The attacks on the peers' schemes (docs/method.md §6), as the registry calls them: the known-pair key
recovery on the key-deterministic block schemes, the jigsaw on EtC, and the magnitude attack on InstaHide;
and the scoring of a recovered key."""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.jigsaw import border_value, jigsaw_attack
from disguisednets.attacks.known_pair import (apply_block_key, apply_value_key, block_key_from_pairs, etc_variants,
                                              value_key_from_pairs)
from disguisednets.attacks.nibble_statistics import nibble_statistics_attack
from disguisednets.attacks.view import AttackerView, Knowledge, Reconstruction
from disguisednets.mechanisms.blocks import (from_blocks, from_channel_blocks, gather_blocks, scatter_blocks, to_blocks,
                                             to_channel_blocks)
from disguisednets.mechanisms.etc import dihedral
from disguisednets.mechanisms.learnable import join_nibbles, split_nibbles
from disguisednets.mechanisms.registry import make_mechanism

__all__ = ["etc_jigsaw", "instahide_magnitude", "key_recovered", "known_pair", "nibble_statistics"]


def etc_jigsaw(k: Knowledge, o, observed: np.ndarray) -> Reconstruction:
    """The jigsaw on EtC (level a); ``observed``: the disguised training blocks (t, N, b, b) it may use."""
    v, public = k.view, k.public
    limit = o.get("max_observed")
    # EtC's signs: a negated block shows the domain's commonest extreme value (black, on dark backgrounds) as its
    # opposite; a position is negated where its share of the rarer extreme exceeds that of the commoner one
    dark = np.mean(public == 0) >= np.mean(public == 255)
    zeros, fulls = (observed == 0).mean(axis=(1, 2, 3)), (observed == 255).mean(axis=(1, 2, 3))
    negated = fulls > zeros if dark else zeros > fulls
    observed = observed.astype(np.float32)
    observed[negated] = 255 - observed[negated]
    perm_hat, orient_hat = jigsaw_attack(observed, v.grid, border_value=border_value(public), starts=int(o["starts"]),
                                         seed=int(o.get("seed", 0)), oriented=True)

    def solved(disguised: np.ndarray) -> np.ndarray:
        x = gather_blocks(disguised, v.block_size).astype(np.float32)
        x[negated] = 255 - x[negated]
        upright = dihedral(x.swapaxes(0, 1), orient_hat, axes=(-2, -1)).swapaxes(0, 1)
        return scatter_blocks(np.ascontiguousarray(upright), v.image_shape, perm_hat)

    # edge costs cannot tell a solution from its rotations and mirror images: the one whose mean image is
    # nearest the public images' mean is taken
    sample = solved(k.observed[:limit] if limit else k.observed).mean(0)
    symmetry = int(np.argmin([np.sum((dihedral(sample[None, None], np.array([g]), axes=(-2, -1))[0, 0]
                                      - public.mean(0)) ** 2) for g in range(8)]))
    undo = lambda d: dihedral(solved(d)[:, None], np.array([symmetry]), axes=(-2, -1))[:, 0]  # noqa: E731
    return Reconstruction(undo(k.target).astype(np.float32), key_recovered(v, undo))


def key_recovered(v: AttackerView, undo, channels: int = 0) -> dict[str, float]:
    """Scoring only: % of block positions at which a random probe image, disguised with the true key, comes
    back exactly through the attack's estimated inverse ``undo`` (block, symmetry, sign, channel order and
    place right). ``channels``: the images' channels (0: grayscale)."""
    if v.key is None:
        return {}
    shape = (1, *v.image_shape, channels) if channels else (1, *v.image_shape)
    probe = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    back = np.rint(undo(make_mechanism(v.key).disguise(probe)))
    blocks = lambda x: to_channel_blocks(x if x.ndim == 4 else x[..., None], v.block_size)  # noqa: E731
    same = (blocks(back) == blocks(probe)).all(axis=(2, 3, 4))
    return {"key_recovered": 100 * float(same.mean())}


def known_pair(k: Knowledge, o) -> Reconstruction:
    v = k.view
    b = v.block_size
    if v.mechanism in ("permutation", "etc"):
        plain, disguised = to_blocks(k.known_plain, b), to_blocks(k.known_disguised, b)   # (m, t, b, b)
        variants = plain[None] if v.mechanism == "permutation" else etc_variants(plain)
        source, variant = block_key_from_pairs(plain, disguised, variants)
        undo = lambda d: from_blocks(apply_block_key(to_blocks(d, b), source, variant), v.image_shape)  # noqa: E731
        return Reconstruction(undo(k.target), key_recovered(v, undo))
    if v.mechanism == "learnable":
        plain = _block_vectors(split_nibbles(np.asarray(k.known_plain, np.uint8)[..., None]), b)
        source, flipped = value_key_from_pairs(plain, _block_vectors(k.known_disguised, b))
        undo = _value_undo(v, source, flipped)
        return Reconstruction(undo(k.target).astype(np.float32), key_recovered(v, undo))
    raise ValueError(f"The known_pair attack reads the key of a key-deterministic block scheme (permutation, etc, "
                     f"learnable) off known pairs; for {v.mechanism} use its own attack (rmt: regression, aes_ecb: "
                     "codebook; instahide's secrets are one-time, so pairs tell nothing of other encodings).")


def instahide_magnitude(k: Knowledge, o) -> Reconstruction:
    if k.view.mechanism != "instahide":
        raise ValueError(f"The instahide_magnitude attack reads InstaHide encodings; got {k.view.mechanism}.")
    spec = k.view.key.spec  # public settings: the normalization
    return Reconstruction(mixture_picture(k.target, spec["mean"], spec["std"]), {})


def _block_vectors(images: np.ndarray, b: int) -> np.ndarray:
    """(N, H, W, C) → (N·t, b·b·C): every block of every image as one vector."""
    blocks = to_channel_blocks(np.asarray(images), b)
    return blocks.reshape(-1, int(np.prod(blocks.shape[2:])))


def _value_undo(v: AttackerView, source: np.ndarray, flipped: np.ndarray):
    """Disguised (N, H, W, 2) → images, through an estimated value key of the learnable encryption."""
    def undo(d):
        shape = (len(d), v.grid[0] * v.grid[1], v.block_size, v.block_size, 2)
        nib = apply_value_key(_block_vectors(d, v.block_size), source, flipped).reshape(shape)
        return from_channel_blocks(join_nibbles(nib), v.image_shape)[..., 0]
    return undo


def nibble_statistics(k: Knowledge, o) -> Reconstruction:
    """Level (a) on the learnable encryption: the key from the disguised training set's statistics and public
    images (:mod:`disguisednets.attacks.nibble_statistics`), the block symmetry from the public mean image."""
    v = k.view
    if v.mechanism != "learnable":
        raise ValueError(f"The nibble_statistics attack reads the learnable encryption's key; got {v.mechanism}.")
    limit = o.get("max_observed")
    observed = np.asarray(k.observed[:limit] if limit else k.observed)
    pub = to_blocks(np.asarray(k.public), v.block_size)
    source, flipped = nibble_statistics_attack(_block_vectors(observed, v.block_size),
                                               pub.reshape(-1, v.block_size ** 2), starts=int(o.get("starts", 32)),
                                               seed=int(o.get("seed", 0)))
    # the places are found up to the block's 8 symmetries: take the one whose mean image is nearest the public mean
    b = v.block_size
    grid = np.arange(b * b).reshape(b, b)
    public_mean = np.asarray(k.public).mean(0)
    best, best_err = None, np.inf
    for g in range(8):
        moved = dihedral(grid[None, None], np.array([g]), axes=(-2, -1))[0, 0].ravel()  # place → its symmetric place
        undo = _value_undo(v, 2 * moved[source // 2] + source % 2, flipped)   # same nibble, symmetric place
        err = float(np.sum((undo(observed[:2000]).mean(0) - public_mean) ** 2))
        if err < best_err:
            best, best_err = undo, err
    return Reconstruction(best(k.target).astype(np.float32), key_recovered(v, best))
