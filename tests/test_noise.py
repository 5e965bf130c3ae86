import numpy as np
import pytest

from disguisednets.mechanisms import generate_key
from disguisednets.mechanisms import AESECB, BlockPermutation
from disguisednets.mechanisms.noise import make_noise_spec, salt_and_pepper, uniform_noise


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.5])
def test_salt_and_pepper_rate_matches(rate):
    x = np.full((200, 32, 32), 128, np.uint8)
    y = salt_and_pepper(x, rate, np.random.default_rng(0))
    n = x.size
    hit = y != 128
    sd = np.sqrt(rate * (1 - rate) / n)
    assert abs(hit.mean() - rate) < 5 * sd
    assert set(np.unique(y[hit]).tolist()) <= {0, 255}
    assert abs((y[hit] == 255).mean() - 0.5) < 5 * np.sqrt(0.25 / hit.sum())
    assert y.dtype == np.uint8


def test_uniform_noise_level_matches():
    x = np.zeros((100, 28, 28))
    d = uniform_noise(x, 100, np.random.default_rng(0))
    assert 0 <= d.min() and d.max() <= 100
    assert abs(d.mean() - 50) < 5 * 100 / np.sqrt(12 * d.size)
    assert abs(d.var() - 100**2 / 12) < 0.02 * 100**2 / 12


def test_noise_is_fresh_per_image_and_applied_before_encryption():
    key = generate_key("aes_ecb", (32, 32), 8, seed=0, noise={"kind": "salt_and_pepper", "rate": 0.03})
    mech = AESECB(key)
    x = np.zeros((50, 32, 32), np.uint8)
    restored = mech.restore(mech.disguise(x, rng=np.random.default_rng(0)))  # decrypt: the noisy plaintext
    flipped = restored != 0
    assert abs(flipped.mean() - 0.015) < 0.005  # half of the 3% are salt (255) on a black image
    assert len({img.tobytes() for img in flipped}) == 50  # a different pattern per image


def test_permutation_with_noise_restores_to_the_noisy_image():
    key = generate_key("permutation", (28, 28), 7, seed=0, noise={"kind": "salt_and_pepper", "rate": 0.1})
    mech = BlockPermutation(key)
    x = np.full((4, 28, 28), 100, np.uint8)
    restored = mech.restore(mech.disguise(x, rng=np.random.default_rng(1)))
    assert set(np.unique(restored).tolist()) == {0, 100, 255}


def test_bad_noise_settings():
    with pytest.raises(ValueError, match=r"'rate' p in \[0, 1\]"):
        make_noise_spec({"kind": "salt_and_pepper", "rate": 2})
    with pytest.raises(ValueError, match="'level' u ≥ 0"):
        make_noise_spec({"kind": "uniform", "level": -1})
    with pytest.raises(ValueError, match="Unknown noise kind 'gaussian'"):
        make_noise_spec({"kind": "gaussian"})


def test_bernoulli_positions_are_an_exact_bernoulli_process():
    from disguisednets.mechanisms.noise import bernoulli_positions

    rng = np.random.default_rng(0)
    n, rate, trials = 50_000, 0.02, 200
    counts, halves, pairs = [], [], []
    for _ in range(trials):  # a loop over independent trials of the test, not over images
        pos = bernoulli_positions(n, rate, rng)
        assert pos.dtype.kind == "i" and np.all(np.diff(pos) > 0) and pos.min() >= 0 and pos.max() < n
        counts.append(len(pos))
        halves.append(np.mean(pos < n // 2))
        pairs.append(np.sum(np.diff(pos) == 1))  # neighbours both hit: n·p² expected if independent
    counts = np.asarray(counts)
    assert abs(counts.mean() - n * rate) < 5 * np.sqrt(n * rate * (1 - rate) / trials)
    assert counts.var() == pytest.approx(n * rate * (1 - rate), rel=0.3)   # binomial, not fixed-count
    assert abs(np.mean(halves) - 0.5) < 0.01
    assert np.mean(pairs) == pytest.approx((n - 1) * rate ** 2, rel=0.15)
    assert len(bernoulli_positions(n, 0.0, rng)) == 0
    assert len(bernoulli_positions(n, 1.0, rng)) == n
    assert len(bernoulli_positions(0, 0.5, rng)) == 0


def test_salt_and_pepper_is_fresh_per_call_and_reproducible_per_seed():
    x = np.full((20, 28, 28), 128, np.uint8)
    a = salt_and_pepper(x, 0.05, np.random.default_rng(3))
    b = salt_and_pepper(x, 0.05, np.random.default_rng(3))
    c = salt_and_pepper(x, 0.05, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(x == 128)  # the input is not modified


def test_uniform_noise_covers_its_range_and_keeps_the_shape():
    x = np.full((3, 5, 7), 10, np.uint8)  # an element count not divisible by 4
    d = uniform_noise(x, 50, np.random.default_rng(1))
    assert d.shape == x.shape and d.dtype == np.float32
    assert 10 <= d.min() and d.max() <= 60
    big = uniform_noise(np.zeros((100_000,), np.uint8), 50, np.random.default_rng(2))
    assert big.min() < 0.01 and big.max() > 49.99
