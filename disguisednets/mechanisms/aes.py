"""Block-wise AES disguises (paper §III-B "AES Encryption", docs/method.md §2 "AES with u-pixel units").

Per block position i a secret AES-128 key K_i. Block pixels are flattened row-major and cut into
units of u pixels (u ∈ {1, 2, 4, 8, 16}); a unit becomes a 16-byte plaintext by repeating each
pixel 16/u times, is encrypted, and the 16 ciphertext bytes are averaged in u groups of 16/u
back to u output values. For u = 16 this is plain AES-ECB on 16 pixels (output uint8, and
``restore`` decrypts it); for u < 16 the output is float32 in 0..255 and has no inverse.

``form='literal'`` does what the paper describes instead: upscale the image ×16/u horizontally by
pixel repetition, encrypt 16-pixel units, and downscale with an image library's resize filter
(Pillow's, ``filter=`` box | bilinear | hamming | bicubic | lanczos | nearest). With ``box`` it
equals the exact form; the other filters mix neighbouring ciphertext, the source of the paper's
one-to-many codebook effect.

AES-CBC (``AESCBC``): the same units, chained across the units of one block. With the IV of docs/method.md §2
per block position (``iv='per_position'``, part of the key) equal *prefixes* of a block still give
equal ciphertext, so a network can still learn from where the first non-background unit of each
block is; ``iv='random'`` draws a fresh IV per image and block (not kept: no inverse), which leaves
nothing to learn. The paper reports < 10 % accuracy for CBC without saying which it used.

Caveat, stated plainly: ECB leaks equality. Equal pixel units at the same block position give
equal ciphertext in every image; that is why the model still learns, and why the codebook and
frequency attacks work.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from Crypto.Cipher import AES

from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.base import BlockMechanism, as_bytes
from disguisednets.mechanisms.exact import exact_matmul, on_grid
from disguisednets.mechanisms.noise import apply_noise

__all__ = ["AESECB", "AESCBC", "UNIT_SIZES", "FILTERS", "resize_matrix"]

UNIT_SIZES = (1, 2, 4, 8, 16)
FORMS = ("exact", "literal")
FILTERS = ("box", "bilinear", "hamming", "bicubic", "lanczos", "nearest")
IV_MODES = ("per_position", "random")


@lru_cache(maxsize=32)
def resize_matrix(n_in: int, n_out: int, filter: str) -> np.ndarray:
    """The (n_in, n_out) linear map of Pillow's 1-D resize with ``filter``, read off by resizing
    each basis vector once in float mode; applying it to rows resizes every image at once."""
    from PIL import Image

    resample = getattr(Image.Resampling, filter.upper())
    eye = np.eye(n_in, dtype=np.float32)
    cols = [np.asarray(Image.fromarray(eye[k:k + 1], mode="F").resize((n_out, 1), resample))[0]
            for k in range(n_in)]
    m = np.stack(cols).astype(np.float32)
    m.setflags(write=False)
    return m


@lru_cache(maxsize=8)
def _group_means(unit: int) -> np.ndarray:
    """(16, u) matrix averaging the 16 ciphertext bytes in u groups of 16/u."""
    m = np.kron(np.eye(unit, dtype=np.float32), np.full((16 // unit, 1), unit / 16, dtype=np.float32))
    m.setflags(write=False)
    return m


class AESECB(BlockMechanism):
    """AES-ECB per block position with u-pixel units (exact or literal form)."""

    name = "aes_ecb"
    noise_kinds = ("none", "salt_and_pepper")
    traits = frozenset({"block_permutation", "equal_units"})
    per_position_secrets: tuple[str, ...] = ("aes_keys",)  # 16 random bytes per block position each

    @classmethod
    def _settings(cls, spec, unit: int = 16, form: str = "exact", filter: str = "box") -> dict[str, Any]:
        block_size = spec["block_size"]
        if unit not in UNIT_SIZES:
            raise ValueError(f"The 'unit' parameter of {cls.__name__} must be one of {UNIT_SIZES}. Got {unit!r} instead.")
        if form not in FORMS:
            raise ValueError(f"The 'form' parameter of {cls.__name__} (mechanism.aes_form in the configs) must be "
                             f"one of {FORMS}. Got {form!r} instead.")
        if filter not in FILTERS:
            raise ValueError(f"The 'filter' parameter of {cls.__name__} must be one of {FILTERS}. "
                             f"Got {filter!r} instead.")
        if (block_size * block_size) % unit:
            h, w = spec["image_shape"][:2]
            valid = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0 and (d * d) % unit == 0]
            raise ValueError(f"{cls.__name__}: a {block_size}×{block_size} block has {block_size ** 2} pixels, not a "
                             f"multiple of the unit size {unit}. For {h}×{w} images choose block_size in {valid}, "
                             "or pad the images (dataset.pad_to=32 allows block sizes 4, 8, 16, 32).")
        return {"unit": int(unit), "form": form, "filter": filter}

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t = arrays["permutation"][0][0]
        arrays.update({name: ((t, 16), "u") for name in cls.per_position_secrets})
        return arrays

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t = len(arrays["permutation"])
        for name in cls.per_position_secrets:
            arrays[name] = np.frombuffer(rng.bytes(16 * t), dtype=np.uint8).reshape(t, 16).copy()
        return arrays

    # ------------------------------------------------------------------------------ the cipher
    def _cipher(self, i: int):
        return AES.new(self.key.array("aes_keys")[i].tobytes(), AES.MODE_ECB)

    def _encrypt_units(self, plain: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        """(t, N, M, 16) uint8 plaintext units → ciphertext; row j under K_{positions[j]}."""
        plain = np.ascontiguousarray(plain)
        out = np.empty_like(plain)
        if out.size == 0:
            return out
        for j, i in enumerate(positions):  # one call per block position, over all images
            self._cipher(i).encrypt(memoryview(plain[j]).cast("B"), output=memoryview(out[j]).cast("B"))
        return out

    def _decrypt_units(self, cipher: np.ndarray, positions: np.ndarray) -> np.ndarray:
        cipher = np.ascontiguousarray(cipher)
        out = np.empty_like(cipher)
        if out.size == 0:
            return out
        for j, i in enumerate(positions):
            self._cipher(i).decrypt(memoryview(cipher[j]).cast("B"), output=memoryview(out[j]).cast("B"))
        return out

    # ------------------------------------------------------------------------------- disguise
    def _chunk_size(self) -> int:
        return max(1, super()._chunk_size() * self.key.spec["unit"] // 16)  # literal/exact work is ×16/u wider

    def _disguise_chunk(self, images, rng):
        if self.key.spec["form"] == "literal" and self.key.spec["unit"] < 16:
            return self._disguise_literal(images, rng)
        return super()._disguise_chunk(images, rng)

    def _transform(self, blocks: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        """(t, N, b, b) uint8 → (t, N, b, b): uint8 for u = 16, float32 averages otherwise."""
        t, n, b, _ = blocks.shape
        u = self.key.spec["unit"]
        r = 16 // u
        units = as_bytes(blocks, "AES disguises").reshape(t, n, b * b // u, u)
        plain = np.repeat(units, r, axis=-1) if r > 1 else units
        cipher = self._encrypt_units(plain, positions, rng)
        if r == 1:
            return cipher.reshape(t, n, b, b)
        return (cipher.reshape(-1, 16).astype(np.float32) @ _group_means(u)).reshape(t, n, b, b)

    def _inverse(self, blocks: np.ndarray, positions: np.ndarray) -> np.ndarray:
        if self.key.spec["unit"] != 16:
            raise NotImplementedError(f"{type(self).__name__} with {self.key.spec['unit']}-pixel units averages the "
                                      "ciphertext and has no inverse; only unit=16 can be restored.")
        t, n, b, _ = blocks.shape
        units = as_bytes(blocks, "AES disguises").reshape(t, n, b * b // 16, 16)
        return self._decrypt_units(units, positions).reshape(t, n, b, b)

    def _disguise_literal(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Upscale ×16/u horizontally, encrypt 16-pixel units per (upscaled) block, permute,
        reassemble, and downscale with the resize filter (one matrix product for all rows)."""
        spec = self.key.spec
        r = 16 // spec["unit"]
        h, w = self.image_hw
        b = spec["block_size"]
        noisy = as_bytes(apply_noise(images, spec["noise"], rng), "AES disguises")
        up = np.repeat(noisy, r, axis=2)  # (N, H, W·r)
        n = up.shape[0]
        perm = self.key.array("permutation")
        blocks = B.gather_blocks(up, b, perm, block_width=b * r)  # (t, N, b, b·r)
        cipher = self._encrypt_units(blocks.reshape(-1, n, b * b * r // 16, 16), perm)
        enc = B.scatter_blocks(cipher.reshape(-1, n, b, b * r), (h, w * r))
        down = exact_matmul(enc, on_grid(resize_matrix(w * r, w, spec["filter"])))  # the same bytes in any batch
        return np.clip(down, 0, 255, out=down)


class AESCBC(AESECB):
    """AES-CBC across the u-pixel units of each block, IV per block position (negative control)."""

    name = "aes_cbc"
    traits = frozenset({"block_permutation"})   # chained units: equal units are equal only after equal prefixes
    per_position_secrets = ("aes_keys", "ivs")

    @classmethod
    def _settings(cls, spec, iv: str = "per_position", **settings):
        out = super()._settings(spec, **settings)
        if out["form"] != "exact":
            raise ValueError(f"{cls.__name__} is offered in the exact form only; got form={out['form']!r}.")
        if iv not in IV_MODES:
            raise ValueError(f"The 'iv' parameter of {cls.__name__} must be one of {IV_MODES}. Got {iv!r} instead.")
        return out | {"iv": iv}

    def _encrypt_units(self, plain: np.ndarray, positions: np.ndarray, rng=None) -> np.ndarray:
        """c_m = E_i(p_m ⊕ c_{m-1}), c_{-1} = IV: a loop over unit positions, vectorized over images."""
        units = np.ascontiguousarray(plain.transpose(0, 2, 1, 3))  # (t, M, N, 16): each unit row contiguous
        out = np.empty_like(units)
        if out.size == 0:
            return out.transpose(0, 2, 1, 3)
        t, _, n, _ = units.shape
        if self.key.spec["iv"] == "random":
            rng = rng if rng is not None else np.random.default_rng()
            ivs = rng.integers(0, 256, size=(t, n, 16), dtype=np.uint8)
        else:
            ivs = np.broadcast_to(self.key.array("ivs")[positions][:, None, :], (t, n, 16))
        for j, i in enumerate(positions):
            ecb = self._cipher(i)
            prev = ivs[j]
            for m in range(units.shape[1]):
                x = units[j, m] ^ prev
                ecb.encrypt(memoryview(x).cast("B"), output=memoryview(out[j, m]).cast("B"))
                prev = out[j, m]
        return out.transpose(0, 2, 1, 3)

    def _decrypt_units(self, cipher: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """p_m = D_i(c_m) ⊕ c_{m-1}: no chaining needed to decrypt, so no loop over units."""
        if self.key.spec["iv"] == "random":
            raise NotImplementedError("AESCBC with random IVs does not keep them: it has no inverse.")
        t, n, m, _ = cipher.shape
        d = AESECB._decrypt_units(self, cipher, positions)
        prev = np.concatenate([np.broadcast_to(self.key.array("ivs")[positions][:, None, None], (t, n, 1, 16)),
                               cipher[:, :, :-1]], axis=2)
        return d ^ prev
