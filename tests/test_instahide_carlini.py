"""Carlini et al.'s attack on InstaHide (docs/method.md §6): on a small synthetic private set encoded over
several epochs it recovers the planted images, cleaner than the sign-free mixture; on encodings of other
images it recovers nothing."""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.instahide_carlini import carlini_attack, grow_cliques
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


def encode_epochs(private, rng):
    mech = make_mechanism(generate_key("instahide", (16, 16), 1, k=K, cap=0.65, mean=30.0, std=80.0, seed=0))
    target, _, secrets = mech.encode(private, None, rng)
    others = np.concatenate([mech.encode(private, None, rng)[0][rng.permutation(len(private))]
                             for _ in range(EPOCHS - 1)])
    return target, others, secrets["partners"]


def matched_ssim(recon, originals, partners):
    best, _ = _best_matches(recon, originals)
    ok = (best[:, None] == partners).any(1)
    return ssim(np.clip(recon[ok], 0, 255), originals[best[ok]])


def test_the_attack_recovers_planted_private_images_cleaner_than_the_mixture():
    rng = np.random.default_rng(0)
    private, public = strokes(N, rng), strokes(500, rng)
    target, others, partners = encode_epochs(private, rng)
    recon = carlini_attack(target, others, k=K, epochs=EPOCHS, mean=30.0, std=80.0, mean_image=public.mean(0))
    assert recon.shape == private.shape and recon.dtype == np.float32
    mixture = mixture_picture(target, 30.0, 80.0)
    assert images_recovered(recon, private, partners) >= 60
    assert matched_ssim(recon, private, partners) > matched_ssim(mixture, private, partners) + 0.1


def test_on_encodings_of_other_images_it_recovers_nothing():
    rng = np.random.default_rng(1)
    private, others_set, public = strokes(N, rng), strokes(N, rng), strokes(500, rng)
    target, others, partners = encode_epochs(others_set, rng)     # the cloud's encodings are not of `private`
    recon = carlini_attack(target, others, k=K, epochs=EPOCHS, mean=30.0, std=80.0, mean_image=public.mean(0))
    assert images_recovered(recon, private, partners) <= 15       # chance: a few of 40


def test_cliques_grow_from_every_seed_by_the_least_similarity_to_their_members():
    sim = np.array([[-np.inf, .9, .8, .1], [.9, -np.inf, .7, .95], [.8, .7, -np.inf, .2], [.1, .95, .2, -np.inf]])
    members = grow_cliques(sim, np.array([0, 3]), 3)
    # from 0: add 1 (0.9); then 2 (min(0.8, 0.7) = 0.7 beats 3's min(0.1, 0.95) = 0.1)
    np.testing.assert_array_equal(members[0], [0, 1, 2])
    # from 3: add 1 (0.95); then 2 (min(0.2, 0.7) = 0.2 beats 0's min(0.1, 0.9) = 0.1)
    np.testing.assert_array_equal(members[1], [3, 1, 2])
