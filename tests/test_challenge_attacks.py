"""The strongest attack of each kind: higher-order statistics on any invertible RMT, per-position statistics on
EtC, and learned inverses of what the attacker can simulate — each shown to work where it should and to fail
where it must."""

import sys
from pathlib import Path

import numpy as np
import pytest

from disguisednets.attacks.etc_statistics import estimate_etc_key, undo_etc
from disguisednets.attacks.higher_order import higher_order_attack
from disguisednets.attacks.metrics import linkage_rate
from disguisednets.data import load_dataset
from disguisednets.mechanisms import generate_key, make_mechanism


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


def _planted(gaussian: bool, t=3, n=6000, b=4, seed=0):
    """Rows of b·b blocks: b independent sources of distinct skewness (Gamma shapes 0.3·2^j) mixed by a fixed
    matrix, or Gaussian rows with the same covariance; and a planted non-orthogonal R per position."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((b, b)) * 0.3 + np.eye(b)
    if gaussian:
        rows = rng.standard_normal((t, 2 * n, b, b)) @ mix * 50 + 100
    else:
        shapes = 0.3 * 2.0 ** np.arange(b)
        rows = (rng.gamma(shapes, 1.0, (t, 2 * n, b, b)) / np.sqrt(shapes)) @ mix * 50
    r = rng.standard_normal((t, b, b))           # Gaussian R: far from orthogonal
    public, private = rows[:, :n], rows[:, n:]
    return public, private, np.einsum("tnij,tjk->tnik", private, r)


def _relative_error(recon, truth):
    return float(np.abs(recon - truth).mean() / np.abs(truth - truth.mean(axis=1, keepdims=True)).mean())


def test_higher_order_recovers_a_planted_non_orthogonal_map_on_non_gaussian_rows():
    public, private, disguised = _planted(gaussian=False)
    recon = higher_order_attack(public, disguised, disguised[:, :500], restarts=2)
    assert _relative_error(recon, private[:, :500]) < 0.1


def test_higher_order_pairs_close_components_by_their_distributions_in_flat_mode():
    """Flat mode, 3×3 blocks: one 9×9 map on 9 independent sources whose skewness runs from 4.5 down to 0.9 —
    neighbours close enough that a few sample moments pair some wrongly (relative error 0.5); compared whole,
    by their quantile functions, they pair right."""
    rng = np.random.default_rng(0)
    t, n, b = 3, 6000, 3
    shapes = 0.2 * 1.5 ** np.arange(b * b)
    rows = (rng.gamma(shapes, 1.0, (t, 2 * n, b * b)) / np.sqrt(shapes)) @ (
        rng.standard_normal((b * b, b * b)) * 0.3 + np.eye(b * b)) * 50
    disguised = rows[:, n:] @ rng.standard_normal((t, b * b, b * b))
    blocks = lambda r: r.reshape(t, -1, b, b)  # noqa: E731
    recon = higher_order_attack(blocks(rows[:, :n]), blocks(disguised), blocks(disguised[:, :500]), mode="flat",
                                restarts=2)
    assert _relative_error(recon, blocks(rows[:, n:n + 500])) < 0.15


def test_higher_order_is_no_better_than_chance_on_gaussian_rows():
    """Gaussian rows are rotation-invariant once whitened: nothing fixes the rotation the covariance leaves, and
    the reconstruction is no closer than the mean row (relative error 1) — a random rotation's error (~1.4)."""
    public, private, disguised = _planted(gaussian=True)
    recon = higher_order_attack(public, disguised, disguised[:, :500], restarts=2, iterations=50, refine_steps=30)
    assert _relative_error(recon, private[:, :500]) > 0.9


@pytest.mark.slow  # 70 s: FastICA and the moment refinement on 8,000 images
def test_higher_order_links_gaussian_rmt_on_mnist_with_and_without_noise(mnist, mode="matrix"):
    """Gaussian RMT b = 7 (π given), 6,000 observed images, 5,000 public: the covariance leaves a rotation that
    the higher-order statistics fix; noise before the transform is simulated on the public images."""
    from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
    from disguisednets.mechanisms.noise import uniform_noise

    rng = np.random.default_rng(0)
    owner, public, test = mnist.train_images[:6000], mnist.train_images[8000:13000], mnist.test_images[:500]
    for noise in (0, 100):
        key = generate_key("rmt", (28, 28), 7, seed=1, kind="gaussian", mode=mode,
                           noise={"kind": "uniform", "level": noise} if noise else None)
        mech, perm = make_mechanism(key), key.array("permutation")
        noised = gather_blocks(uniform_noise(public, noise, rng), 7, perm) if noise else None
        blocks = higher_order_attack(gather_blocks(public, 7, perm), gather_blocks(mech.disguise(owner, rng), 7),
                                     gather_blocks(mech.disguise(test, rng), 7), mode=mode, public_noised=noised,
                                     restarts=3)
        recon = np.clip(scatter_blocks(blocks, (28, 28), perm), 0, 255)
        assert linkage_rate(recon, test.astype(np.float32)) > (80 if noise else 90), (mode, noise)


@pytest.mark.slow  # ~30 s: FastICA and the refinement on 6,000 folded channel images
def test_higher_order_undoes_colour_rmt_channel_by_channel(mnist):
    """A colour key applies one R_i to every channel, so the attack runs on the channels folded into the batch
    (as the attack task folds them) and the reconstruction, unfolded, is scored in colour."""
    from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
    from disguisednets.tasks.attack import fold_channels, unfold_channels

    x = mnist.train_images
    colour = lambda a, n, o: np.stack([a[o:o + n], a[o + n:o + 2 * n], a[o + 2 * n:o + 3 * n]], axis=-1)  # noqa: E731
    owner, public, test = colour(x, 2000, 0), colour(x, 3000, 9000), colour(mnist.test_images, 300, 0)
    key = generate_key("rmt", (28, 28, 3), 7, seed=0, kind="gaussian")
    mech, perm = make_mechanism(key), key.array("permutation")
    blocks = higher_order_attack(gather_blocks(fold_channels(public), 7, perm),
                                 gather_blocks(fold_channels(mech.disguise(owner)), 7),
                                 gather_blocks(fold_channels(mech.disguise(test)), 7), restarts=2)
    recon = unfold_channels(scatter_blocks(blocks, (28, 28), perm), 3)
    assert recon.shape == test.shape
    assert linkage_rate(np.clip(recon, 0, 255).reshape(300, -1), test.reshape(300, -1).astype(np.float32)) > 90


@pytest.mark.parametrize("dataset,b", [("mnist", 4), ("fashion", 7)])
def test_etc_statistics_put_the_pixels_back_and_fail_with_the_identity_in_place_of_pi(dataset, b):
    data = load_dataset(dataset)
    key = generate_key("etc", (28, 28), b, seed=3)
    mech = make_mechanism(key)
    observed, public = mech.disguise(data.train_images[:20000]), data.train_images[45000:58000]
    test = data.test_images[:1000]
    estimate = estimate_etc_key(observed, public, b)
    assert np.mean(np.rint(undo_etc(mech.disguise(test), estimate)) == test) >= 0.99
    identity = estimate_etc_key(observed, public, b, source=np.arange(len(estimate.source)))
    assert np.mean(np.rint(undo_etc(mech.disguise(test), identity)) == test) < 0.9


def test_etc_statistics_align_colour_channels_up_to_one_global_order():
    """On colour images the per-position channel shuffles are aligned to one another through the colours an image's
    blocks share; one global order is left, fixed only where the domain's channels differ in their statistics (in
    colour Fashion they do not: ink and background colours are drawn alike for every channel)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
    from colour_fashion import colour_fashion

    data = load_dataset("fashion")
    images, test = colour_fashion(data.train_images[:12000]), colour_fashion(data.test_images[:300], seed=1)
    key = generate_key("etc", (32, 32, 3), 4, seed=3)
    mech = make_mechanism(key)
    estimate = estimate_etc_key(mech.disguise(images[:8000]), images[8000:], 4)
    recon = undo_etc(mech.disguise(test), estimate)
    assert (estimate.source == key.array("permutation")).all()
    best_global = max(np.mean(np.rint(recon[..., list(g)]) == test) for g in
                      ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)))
    assert best_global >= 0.99


@pytest.mark.slow  # ~1 minute of training
def test_the_learned_inverse_beats_the_least_squares_denoiser_on_dp_pixelization(mnist):
    """DP pixelization 4×4, ε = ∞, 8,000 public images, 1,000 targets: a network trained on the attacker's own
    releases of public images links more targets, and comes closer to them, than the best linear estimate from the
    same releases."""
    from disguisednets.attacks.dp_denoise import dp_denoise_attack
    from disguisednets.attacks.learned_inverse import train_inverse

    public, test = mnist.train_images[:8000], mnist.test_images[:1000]
    mech = make_mechanism(generate_key("dp_pixelization", (28, 28), 4, seed=0, epsilon=None))
    rng = np.random.default_rng(0)
    released = mech.disguise(test, rng)
    learned, info = train_inverse(lambda x, r: mech.disguise(x, r), public, released, epochs=8, seed=0)
    linear = dp_denoise_attack(public, released, 4, 0.0, rng)
    truth = test.astype(np.float32)
    assert learned.shape == test.shape and learned.dtype == np.float32 and info["learned_epochs"] == 8
    learned, linear = np.clip(learned, 0, 255), np.clip(linear, 0, 255)
    assert linkage_rate(learned, truth) > linkage_rate(linear, truth) + 5
    assert np.mean((learned - truth) ** 2) < 0.9 * np.mean((linear - truth) ** 2)


@pytest.mark.slow  # ~15 s of training
def test_the_learned_inverse_of_instahide_learns_the_dominant_image_from_the_attackers_own_encodings(mnist):
    """InstaHide k = 4 through the registry: the attacker encodes 4,000 public images itself and learns mixture →
    the image with the largest coefficient; its reconstructions of 500 private encodings link to one of the images
    each mixes far above chance (4 in 500), and the same attack with known pairs is refused (they are worth no
    more than the attacker's own encodings)."""
    from disguisednets.attacks.registry import ATTACKS, Knowledge, attacker_view

    key = generate_key("instahide", (28, 28), 1, seed=0)
    target, _, drawn = make_mechanism(key).encode(mnist.test_images[:500], None, np.random.default_rng(0))
    view = attacker_view(key, None, True, (28, 28))
    knowledge = Knowledge(view, target, observed=target, public=mnist.train_images[:4000])
    out = ATTACKS["learned"].reconstruct(knowledge, {"name": "learned", "epochs": 6, "seed": 0})
    assert out.images.shape == target.shape and out.images.dtype == np.float32 and out.extras["learned_epochs"] == 6
    truth = mnist.test_images[:500].astype(np.float32)
    assert linkage_rate(np.clip(out.images, 0, 255), truth, candidates=drawn["partners"]) > 30
    with_pairs = Knowledge(view, target, known_plain=mnist.train_images[:20], known_disguised=target[:20],
                           observed=target, public=mnist.train_images[:4000])
    with pytest.raises(ValueError, match="DP pixelization only"):
        ATTACKS["learned_pairs"].reconstruct(with_pairs, {"name": "learned_pairs", "epochs": 1})


def test_aes_silhouettes_are_the_same_seen_from_ciphertext_and_from_plaintext(mnist):
    """What ECB leaks (each position's most frequent ciphertext unit is background) is the silhouette the attacker
    computes from plaintext; under per-position-IV CBC, the silhouette of every block prefix. π̂ from mean silhouettes."""
    from disguisednets.attacks.learned_inverse import silhouette_images

    images = np.pad(mnist.train_images[:6000], ((0, 0), (2, 2), (2, 2)))
    for mechanism in ("aes_ecb", "aes_cbc"):
        key = generate_key(mechanism, (32, 32), 8, seed=0, unit=16)
        mech = make_mechanism(key)
        target = images[:200]
        seen, plain, perm = silhouette_images(mech.disguise(images[:4000]), mech.disguise(target), images[4000:], 8, 16,
                                              chained=mechanism == "aes_cbc")
        assert np.mean(seen == plain(target)) > 0.99, mechanism
        assert np.mean(perm == key.array("permutation")) > 0.5, mechanism
