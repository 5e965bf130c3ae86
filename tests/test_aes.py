"""AES-ECB / AES-CBC disguises are what they claim (docs/method.md §2)."""

import numpy as np
import pytest
from Crypto.Cipher import AES

from disguisednets.mechanisms import AESCBC, AESECB, generate_key
from disguisednets.mechanisms.aes import resize_matrix
from disguisednets.mechanisms.blocks import to_blocks
from tests.conftest import with_settings


@pytest.fixture
def images32():
    return np.random.default_rng(3).integers(0, 256, size=(6, 32, 32), dtype=np.uint8)


def ecb(**kw):
    return AESECB(generate_key("aes_ecb", (32, 32), kw.pop("block_size", 8), seed=kw.pop("seed", 0), **kw))


def test_u16_restores_exactly_by_decryption(images32):
    mech = ecb(unit=16)
    y = mech.disguise(images32)
    assert y.dtype == np.uint8 and y.shape == images32.shape
    assert not np.array_equal(y, images32)
    np.testing.assert_array_equal(mech.restore(y), images32)


def test_u16_is_plain_aes_ecb_under_the_key_of_the_original_position(images32):
    mech = ecb(unit=16)
    key = mech.key
    perm, keys = key.array("permutation"), key.array("aes_keys")
    out = to_blocks(mech.disguise(images32), 8)
    src = to_blocks(images32, 8)
    for j in (0, 5, 15):
        i = perm[j]
        expected = AES.new(keys[i].tobytes(), AES.MODE_ECB).encrypt(src[:, i].tobytes())
        assert out[:, j].tobytes() == expected


def test_ecb_determinism_per_block_position():
    """Identical units at the same position: identical ciphertext; at different positions
    (different K_i): different ciphertext."""
    mech = ecb(unit=16, block_size=4, seed=1)  # one 16-pixel unit per block, 64 positions
    unit = np.arange(16, dtype=np.uint8).reshape(4, 4) * 7
    a = np.zeros((2, 32, 32), np.uint8)
    a[:, :4, :4] = unit          # same unit, same position, in two images
    a[1, 4:8, 4:8] = unit        # and at another position in the second
    y = mech.disguise(a)
    perm = mech.key.array("permutation")
    blocks = to_blocks(y, 4)
    pos = lambda i: int(np.flatnonzero(perm == i)[0])  # noqa: E731 - where block i went
    np.testing.assert_array_equal(blocks[0, pos(0)], blocks[1, pos(0)])
    assert not np.array_equal(blocks[1, pos(0)], blocks[1, pos(9)])  # block (1,1) is index 9
    # every all-zero block of image 0 is encrypted under its own key: 63 distinct ciphertexts
    zeros = [blocks[0, pos(i)].tobytes() for i in range(1, 64)]
    assert len(set(zeros)) == 63


def test_cbc_breaks_equality_within_a_block():
    mech = AESCBC(generate_key("aes_cbc", (32, 32), 8, seed=0, unit=16))
    x = np.zeros((2, 32, 32), np.uint8)
    x[1, 7, 7] = 1  # second image differs in the last pixel of block 0's second unit... of unit 3
    y = to_blocks(mech.disguise(x), 8)
    units = y.reshape(2, 16, 4, 16)
    i = int(np.flatnonzero(mech.key.array("permutation") == 0)[0])
    # all four units of block 0 are plaintext-equal within image 0, but CBC makes them differ
    assert len({u.tobytes() for u in units[0, i]}) == 4
    # ECB under the same key would repeat them
    e = to_blocks(AESECB(generate_key("aes_ecb", (32, 32), 8, seed=0, unit=16)).disguise(x), 8).reshape(2, 16, 4, 16)
    assert len({u.tobytes() for u in e[0, i]}) == 1
    # a change in unit 3 of block 0 (pixel (7,7)) leaves units 0..2 and changes unit 3 only (last unit)
    assert np.array_equal(units[0, i, :3], units[1, i, :3]) and not np.array_equal(units[0, i, 3], units[1, i, 3])
    np.testing.assert_array_equal(mech.restore(mech.disguise(x)), x)


def test_cbc_chains_across_units():
    mech = AESCBC(generate_key("aes_cbc", (32, 32), 8, seed=0, unit=16))
    x = np.zeros((2, 32, 32), np.uint8)
    x[1, 0, 0] = 1  # first unit of block 0 differs: every later unit of that block differs too
    y = to_blocks(mech.disguise(x), 8).reshape(2, 16, 4, 16)
    i = int(np.flatnonzero(mech.key.array("permutation") == 0)[0])
    assert all(not np.array_equal(y[0, i, m], y[1, i, m]) for m in range(4))
    others = [j for j in range(16) if j != i]
    np.testing.assert_array_equal(y[0, others], y[1, others])


@pytest.mark.parametrize("unit", [1, 2, 4, 8])
def test_small_units_average_the_ciphertext_groups(images32, unit):
    mech = ecb(unit=unit, block_size=8)
    y = mech.disguise(images32)
    assert y.dtype == np.float32 and 0 <= y.min() and y.max() <= 255
    # reference for one block position: repeat each pixel 16/u times, encrypt, average groups
    key = mech.key
    i, r = 3, 16 // unit
    j = int(np.flatnonzero(key.array("permutation") == i)[0])
    plain = np.repeat(to_blocks(images32, 8)[:, i].reshape(-1, unit), r, axis=1)
    cipher = np.frombuffer(AES.new(key.array("aes_keys")[i].tobytes(), AES.MODE_ECB).encrypt(plain.tobytes()),
                           np.uint8).reshape(-1, unit, r)
    np.testing.assert_allclose(to_blocks(y, 8)[:, j].reshape(-1, unit), cipher.mean(axis=2), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="no inverse"):
        mech.restore(y)


@pytest.mark.parametrize("unit", [1, 2, 4, 8, 16])
def test_literal_form_with_box_filter_equals_exact_form(images32, unit):
    exact_mech = ecb(unit=unit)
    exact = exact_mech.disguise(images32)
    literal = AESECB(with_settings(exact_mech.key, form="literal", filter="box")).disguise(images32)
    np.testing.assert_allclose(literal, exact, atol=1e-3)


def test_literal_form_with_bilinear_mixes_neighbours(images32):
    exact_mech = ecb(unit=2)
    exact = exact_mech.disguise(images32)
    bilinear = AESECB(with_settings(exact_mech.key, form="literal", filter="bilinear")).disguise(images32)
    assert bilinear.shape == exact.shape and not np.allclose(bilinear, exact, atol=1)


def test_resize_matrix_matches_pillow_on_real_images():
    from PIL import Image
    row = np.random.default_rng(0).integers(0, 256, size=(5, 64)).astype(np.float32)
    for f in ("box", "bilinear", "bicubic", "lanczos"):
        pil = np.asarray(Image.fromarray(row, mode="F").resize((8, 5), getattr(Image.Resampling, f.upper())))
        np.testing.assert_allclose(row @ resize_matrix(64, 8, f), pil, rtol=1e-4, atol=1e-3)


def test_aes_needs_uint8_pixels_and_a_unit_that_fits():
    with pytest.raises(ValueError, match=r"7×7 block has 49 pixels, not a multiple of the unit size 16. "
                                         r"For 28×28 images choose block_size in \[4, 28\]"):
        generate_key("aes_ecb", (28, 28), 7, unit=16)
    with pytest.raises(ValueError, match="'unit' parameter of AESECB must be one of"):
        generate_key("aes_ecb", (32, 32), 8, unit=3)
    with pytest.raises(ValueError, match="integer pixels in 0..255"):
        ecb().disguise(np.full((1, 32, 32), 300.0))
    with pytest.raises(ValueError, match="exact form only"):
        generate_key("aes_cbc", (32, 32), 8, form="literal", unit=2)


@pytest.mark.parametrize("mechanism", ["aes_ecb", "aes_cbc"])
def test_empty_batches(mechanism):
    mech = AESCBC(generate_key(mechanism, (32, 32), 8, seed=0)) if mechanism == "aes_cbc" else ecb()
    y = mech.disguise(np.zeros((0, 32, 32), np.uint8))
    assert y.shape == (0, 32, 32) and y.dtype == np.uint8
    assert mech.restore(y).shape == (0, 32, 32)


def test_cbc_with_random_ivs_hides_even_equal_images():
    mech = AESCBC(generate_key("aes_cbc", (32, 32), 8, seed=0, unit=16, iv="random"))
    x = np.zeros((2, 32, 32), np.uint8)
    y = mech.disguise(x, rng=np.random.default_rng(0))
    assert not np.any(np.all(to_blocks(y, 8)[0] == to_blocks(y, 8)[1], axis=(1, 2)))  # no block repeats
    with pytest.raises(NotImplementedError, match="does not keep them"):
        mech.restore(y)
    with pytest.raises(ValueError, match="'iv' parameter of AESCBC must be one of"):
        generate_key("aes_cbc", (32, 32), 8, iv="zero")
