"""Property tests over random image sizes, block sizes and unit sizes (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from disguisednets.mechanisms import generate_key, make_mechanism
from tests.conftest import with_settings

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def geometry(draw):
    b = draw(st.integers(1, 8))
    h, w = b * draw(st.integers(1, 4)), b * draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    return b, (h, w), n, seed


def _images(shape, n, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


@SETTINGS
@given(geometry(), st.sampled_from(["permutation", "rmt"]))
def test_invertible_mechanisms_round_trip(geo, mechanism):
    b, shape, n, seed = geo
    mech = make_mechanism(generate_key(mechanism, shape, b, seed=seed))
    x = _images(shape, n, seed)
    y = mech.disguise(x)
    assert y.shape == x.shape
    assert y.dtype == (np.uint8 if mechanism == "permutation" else np.float32)
    np.testing.assert_array_equal(np.rint(mech.restore(y)).astype(np.uint8), x)


@SETTINGS
@given(geometry(), st.sampled_from([1, 2, 4, 8, 16]), st.sampled_from(["aes_ecb", "aes_cbc"]))
def test_aes_valid_and_invalid_combinations(geo, unit, mechanism):
    b, shape, n, seed = geo
    if (b * b) % unit:
        with pytest.raises(ValueError, match=f"not a multiple of the unit size {unit}"):
            generate_key(mechanism, shape, b, unit=unit)
        return
    mech = make_mechanism(generate_key(mechanism, shape, b, unit=unit, seed=seed))
    x = _images(shape, n, seed)
    y = mech.disguise(x)
    assert y.shape == x.shape and y.dtype == (np.uint8 if unit == 16 else np.float32)
    if unit == 16:
        np.testing.assert_array_equal(mech.restore(y), x)
    if mechanism == "aes_ecb":
        literal = make_mechanism(with_settings(mech.key, form="literal"))
        np.testing.assert_allclose(literal.disguise(x), y, atol=1e-3)


@SETTINGS
@given(st.integers(2, 40), st.integers(2, 40), st.integers(1, 12),
       st.sampled_from(["permutation", "rmt", "aes_ecb", "aes_cbc"]))
def test_block_sizes_that_do_not_divide_are_clear_errors(h, w, b, mechanism):
    if h % b == 0 and w % b == 0:
        return
    with pytest.raises(ValueError, match=f"must divide the image size {h}×{w}. Got {b} instead"):
        generate_key(mechanism, (h, w), b)


@SETTINGS
@given(geometry(), st.sampled_from([{}, {"kind": "gaussian"}, {"mode": "flat"}, {"unit": 2, "form": "literal"}]))
@example(geo=(8, (8, 8), 1, 0), settings={})  # one float32 ulp apart under OpenBLAS's Haswell kernels (AMD EPYC)
def test_chunked_disguise_equals_whole_batch(geo, settings):
    """The same bytes however the batch is split (docs/method.md §2): in one batch, in chunks of two, and
    each image alone — whichever BLAS kernels this CPU runs (RMT's products, AES's literal resize)."""
    b, shape, n, seed = geo
    mechanism = "aes_ecb" if "unit" in settings else "rmt"
    if mechanism == "aes_ecb" and (b * b) % 2:
        return
    key = generate_key(mechanism, shape, b, seed=seed, **settings)
    images = _images(shape, 9, seed)
    whole = make_mechanism(key).disguise(images)
    chunked = make_mechanism(key)
    chunked.chunk_pixels = shape[0] * shape[1] * 2  # two images per chunk
    np.testing.assert_array_equal(chunked.disguise(images), whole)
    alone = np.concatenate([make_mechanism(key).disguise(x) for x in images])
    np.testing.assert_array_equal(alone, whole)
