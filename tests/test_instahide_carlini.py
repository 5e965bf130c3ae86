"""Carlini et al.'s attack on InstaHide (docs/method.md §6): on a small synthetic private set encoded over
several epochs it recovers the planted images, cleaner than the sign-free mixture; on encodings of other
images it recovers nothing."""

from __future__ import annotations

import numpy as np
import pytest

from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.instahide_carlini import carlini_attack, grow_cliques, high_pass_similarity, share_threshold
from disguisednets.attacks.metrics import _best_matches, images_recovered, ssim
from disguisednets.mechanisms import generate_key, make_mechanism

N, EPOCHS, K = 40, 8, 4


def strokes(n: int, rng) -> np.ndarray:
    """Sparse, MNIST-like 16×16 images: a few bright 2×2 strokes on black."""
    x = np.zeros((n, 16, 16), np.uint8)
    rows, cols = rng.integers(0, 15, (2, n, 12))
    for dr in (0, 1):   # 2×2 strokes, all images at once
        for dc in (0, 1):
            x[np.arange(n)[:, None], rows + dr, cols + dc] = 255
    return x


def encode_epochs(private, rng, with_partners_of_every_epoch=False):
    """(first epoch's encodings, the other epochs' encodings shuffled, partners). With the flag: (all
    epochs' encodings, None, all epochs' partners) — the attacker's calibration set of its own images."""
    mech = make_mechanism(generate_key("instahide", (16, 16), 1, k=K, cap=0.65, mean=30.0, std=80.0, seed=0))
    epochs = [mech.encode(private, None, rng) for _ in range(EPOCHS)]
    if with_partners_of_every_epoch:
        return np.concatenate([e for e, _, _ in epochs]), None, np.concatenate([s["partners"] for _, _, s in epochs])
    (target, _, secrets), rest = epochs[0], epochs[1:]
    others = np.concatenate([e[rng.permutation(len(private))] for e, _, _ in rest])
    return target, others, secrets["partners"]


def matched_ssim(recon, originals, partners):
    best, _ = _best_matches(recon, originals)
    ok = (best[:, None] == partners).any(1)
    return ssim(np.clip(recon[ok], 0, 255), originals[best[ok]])


def test_the_attack_recovers_planted_private_images_cleaner_than_the_mixture():
    rng = np.random.default_rng(0)
    private, public = strokes(N, rng), strokes(500, rng)
    target, others, partners = encode_epochs(private, rng)
    own, _, own_partners = encode_epochs(public[:N], rng, with_partners_of_every_epoch=True)
    recon = carlini_attack(target, others, k=K, epochs=EPOCHS, mean=30.0, std=80.0, mean_image=public.mean(0),
                           calibration=(own, own_partners))
    assert recon.shape == private.shape and recon.dtype == np.float32
    mixture = mixture_picture(target, 30.0, 80.0)
    assert images_recovered(recon, private, partners) >= 60
    assert matched_ssim(recon, private, partners) > matched_ssim(mixture, private, partners) + 0.1


def test_on_encodings_of_other_images_it_recovers_nothing():
    rng = np.random.default_rng(1)
    private, others_set, public = strokes(N, rng), strokes(N, rng), strokes(500, rng)
    target, others, partners = encode_epochs(others_set, rng)     # the cloud's encodings are not of `private`
    own, _, own_partners = encode_epochs(public[:N], rng, with_partners_of_every_epoch=True)
    recon = carlini_attack(target, others, k=K, epochs=EPOCHS, mean=30.0, std=80.0, mean_image=public.mean(0),
                           calibration=(own, own_partners))
    assert images_recovered(recon, private, partners) <= 15       # chance: a few of 40


def test_cliques_grow_from_every_seed_by_the_least_similarity_to_their_members():
    sim = np.array([[-np.inf, .9, .8, .1], [.9, -np.inf, .7, .95], [.8, .7, -np.inf, .2], [.1, .95, .2, -np.inf]])
    members, scores = grow_cliques(sim, np.array([0, 3]), 3)
    # from 0: add 1 (0.9); then 2 (min(0.8, 0.7) = 0.7 beats 3's min(0.1, 0.95) = 0.1)
    np.testing.assert_array_equal(members[0], [0, 1, 2])
    # from 3: add 1 (0.95); then 2 (min(0.2, 0.7) = 0.2 beats 0's min(0.1, 0.9) = 0.1)
    np.testing.assert_array_equal(members[1], [3, 1, 2])
    np.testing.assert_allclose(scores, [[np.inf, .9, .7], [np.inf, .95, .2]])


def test_the_threshold_is_read_off_pairs_that_share_no_image():
    # encodings 0 and 1 share image 5; 2 shares nothing with either: only the pairs (0, 2), (1, 2) count
    partners = np.array([[5, 1], [6, 5], [7, 8]])
    sim = np.array([[-np.inf, .9, .1], [.9, -np.inf, .3], [.1, .3, -np.inf]])
    assert share_threshold(sim, partners, 100) == 0.3
    assert share_threshold(sim, partners, 0) == 0.1


def test_a_calibrated_threshold_keeps_wrong_members_out_of_the_cliques():
    rng = np.random.default_rng(2)
    private, public = strokes(N, rng), strokes(N, rng)
    target, others, partners = encode_epochs(private, rng)
    own, _, own_partners = encode_epochs(public, rng, with_partners_of_every_epoch=True)
    common = dict(k=K, epochs=EPOCHS, mean=30.0, std=80.0, mean_image=public.mean(0))
    tau = share_threshold(high_pass_similarity(mixture_picture(own, 30.0, 80.0)), own_partners)
    assert np.isfinite(tau)
    calibrated = carlini_attack(target, others, calibration=(own, own_partners), **common)
    fixed = carlini_attack(target, others, **common)
    assert not np.array_equal(calibrated, fixed)
    assert images_recovered(calibrated, private, partners) >= images_recovered(fixed, private, partners)


def test_recovered_ssim_scores_each_reconstruction_against_the_mixed_image_it_links_to():
    from disguisednets.attacks.metrics import recovered_ssim

    rng = np.random.default_rng(3)
    private = strokes(6, rng)
    partners = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0]])
    recon = private[[1, 2, 3, 4, 5, 0]].astype(np.float32)      # each row recovers its second mixed image exactly
    assert recovered_ssim(recon, private, partners) == pytest.approx(1.0)
    assert images_recovered(recon, private, partners) == 100.0
    elsewhere = (np.arange(6)[:, None] + 3) % 6 * np.ones(2, int)  # candidates none of the rows recovers
    assert np.isnan(recovered_ssim(recon, private, elsewhere))
