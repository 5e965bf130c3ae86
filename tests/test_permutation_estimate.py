"""π found by the attacker (docs/method.md §4 "Finding π"): from MNIST at CPU scale, level (a) and (b)."""

import numpy as np
import pytest

from disguisednets.attacks import covariance_attack, frequency_attack, linkage_rate
from disguisednets.attacks.permutation_estimate import (estimate_permutation, match_positions, pair_costs,
                                                        placement_scores, position_statistics, unit_ids)
from disguisednets.data import load_dataset, pad_to
from disguisednets.mechanisms import generate_key, make_mechanism
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


def _setting(mnist, mechanism, noise, size, **settings):
    """Owner's 8,000 training images disguised (what the cloud holds), 5,000 others public, 1,000 test."""
    train, test = mnist.train_images, mnist.test_images[:1000]
    if size != 28:
        train, test = pad_to(train, size), pad_to(test, size)
    key = generate_key(mechanism, (size, size), settings.pop("block_size"), noise=noise, seed=3, **settings)
    mech = make_mechanism(key)
    rng = np.random.default_rng(5)
    observed, target = mech.disguise(train[:8000], rng), mech.disguise(test, rng)
    return key, observed, train[50000:55000], test, target, rng


def _rmt_linkage(key, observed, public, test, target, perm):
    b = key.block_size
    blocks = covariance_attack(gather_blocks(public, b, perm), gather_blocks(observed, b), gather_blocks(target, b))
    return linkage_rate(np.clip(scatter_blocks(blocks, (28, 28), perm), 0, 255), test)


def _aes_linkage(key, observed, public, test, target, perm):
    b, unit = key.block_size, key.spec["unit"]
    blocks = frequency_attack(gather_blocks(observed, b), gather_blocks(target, b), unit=unit)
    return linkage_rate(scatter_blocks(blocks, (32, 32), perm), test)


CASES = {
    "rmt b=7, no noise": ("rmt", None, 28, dict(block_size=7), _rmt_linkage),
    "rmt b=7, noise level 100": ("rmt", {"kind": "uniform", "level": 100}, 28, dict(block_size=7), _rmt_linkage),
    "aes-ecb u=2, 2% s&p": ("aes_ecb", {"kind": "salt_and_pepper", "rate": 0.02}, 32, dict(block_size=8, unit=2),
                            _aes_linkage),
}


@pytest.mark.parametrize("case", list(CASES))
def test_pi_is_found_from_disguised_and_public_images_and_the_attack_with_it_matches_the_attack_with_pi(mnist, case):
    mechanism, noise, size, settings, linkage = CASES[case]
    key, observed, public, test, target, rng = _setting(mnist, mechanism, noise, size, **settings)
    pi = key.array("permutation")
    pi_hat, used = estimate_permutation(mechanism, key.block_size, observed=observed, public=public, noise=noise,
                                        unit=settings.get("unit", 1), rng=rng)
    assert "8000 disguised and 5000 public images" in used
    placed = placement_scores(pi_hat, pi, test, key.block_size)
    assert placed["pixels_placed"] >= 99.9, placed
    with_pi = linkage(key, observed, public, test, target, pi)
    with_estimate = linkage(key, observed, public, test, target, pi_hat)
    assert with_pi > 20  # the attack works at all here
    assert abs(with_estimate - with_pi) <= 3, (with_estimate, with_pi)
    # The estimate is what carries it: the identity in its place (π unknown, not estimated) breaks the attack.
    identity = np.arange(len(pi))
    assert placement_scores(identity, pi, test, key.block_size)["pixels_placed"] < 90
    assert linkage(key, observed, public, test, target, identity) < with_pi / 2


def test_placement_counts_blank_blocks_in_other_blank_places_as_right():
    images = np.zeros((3, 8, 8), np.uint8)
    images[:, :4, :4] = 200                      # only block 0 of the 2×2 grid has content
    true = np.array([0, 1, 2, 3])
    swapped_blanks = np.array([0, 2, 1, 3])       # two blank blocks trade places: every pixel still right
    assert placement_scores(swapped_blanks, true, images, 4) == {"permutation_recovered": 50.0,
                                                                  "pixels_placed": 100.0}
    moved = np.array([1, 0, 2, 3])                # the content block goes elsewhere: half its row pair wrong
    assert placement_scores(moved, true, images, 4)["pixels_placed"] == 50.0


def test_rmt_statistics_do_not_change_under_the_positions_secret_matrix():
    rng = np.random.default_rng(0)
    blocks = rng.random((3, 500, 4, 4)) * 255
    r = rng.normal(size=(3, 4, 4))                # any invertible matrix per position
    q = np.linalg.qr(rng.normal(size=(3, 4, 4)))[0]
    plain = position_statistics(blocks, "rmt", kind="gaussian")
    mixed = position_statistics(np.einsum("tnij,tjk->tnik", blocks, r), "rmt", kind="gaussian")
    for group in plain:
        np.testing.assert_allclose(mixed[group], plain[group], rtol=1e-6, atol=1e-6)
    plain_o = position_statistics(blocks, "rmt", kind="orthogonal")
    rotated = position_statistics(np.einsum("tnij,tjk->tnik", blocks, q), "rmt", kind="orthogonal")
    for group in plain_o:
        np.testing.assert_allclose(rotated[group], plain_o[group], rtol=1e-6, atol=1e-6)
    assert not np.allclose(position_statistics(np.einsum("tnij,tjk->tnik", blocks, r), "rmt")["gram"],
                           plain_o["gram"])  # lengths are kept only by an orthogonal matrix


def test_unit_statistics_do_not_change_under_a_bijection_of_units():
    rng = np.random.default_rng(1)
    blocks = (rng.random((2, 300, 4, 4)) < 0.2).astype(np.uint8) * rng.integers(1, 4, (2, 300, 4, 4), dtype=np.uint8)
    relabel = rng.permutation(256).astype(np.uint8)    # unit = 1 pixel: a bijection of pixel values
    a, b = position_statistics(blocks, "aes_ecb", unit=1), position_statistics(relabel[blocks], "aes_ecb", unit=1)
    for group in a:
        np.testing.assert_array_equal(a[group], b[group])
    ids = unit_ids(blocks, 2)
    assert ids.shape == (2, 300, 8) and ids.dtype == np.int64
    units = blocks.reshape(2, 300, 8, 2)
    same = (units[0, :, :, None, :] == units[0, :, None, :, :]).all(-1)   # (300, 8, 8)
    np.testing.assert_array_equal(ids[0][:, :, None] == ids[0][:, None, :], same)


@pytest.mark.parametrize("mechanism,settings,size", [("rmt", dict(block_size=7), 28),
                                                      ("aes_ecb", dict(block_size=8, unit=2), 32)])
def test_level_b_pairs_alone_find_pi(mnist, mechanism, settings, size):
    """With 200 known pairs and no public images, the pairs' fit finds π."""
    key, observed, _, test, _, _ = _setting(mnist, mechanism, None, size, **settings)
    plain = mnist.train_images[:200] if size == 28 else pad_to(mnist.train_images[:200], size)
    pi = key.array("permutation")
    cost = pair_costs(gather_blocks(plain, key.block_size), gather_blocks(observed[:200], key.block_size),
                      mechanism, unit=settings.get("unit", 1))
    assert cost.shape == (len(pi), len(pi))
    assert placement_scores(match_positions(cost), pi, test, key.block_size)["pixels_placed"] >= 99.9
    if mechanism == "rmt":  # one pair's 7 rows cannot over-determine a 7×7 fit: no evidence, not a guess
        assert pair_costs(gather_blocks(plain[:1], 7), gather_blocks(observed[:1], 7), "rmt") is None


def test_estimating_pi_without_public_images_or_pairs_is_refused():
    with pytest.raises(ValueError, match="needs the disguised data the cloud holds and public images"):
        estimate_permutation("rmt", 7, observed=np.zeros((10, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"'aes_cbc' declares \['block_permutation'\].*Attack\.arrange"):
        position_statistics(np.zeros((4, 10, 7, 7)), "aes_cbc")   # chained units: no statistic known for it
