"""DP pixelization (Fan 2018) against its definition: cells, the noise's scale and mean, settings, keys,
the command line's refusal to restore, and the denoising attack fitted on public images."""

from __future__ import annotations

import numpy as np
import pytest

from disguisednets import cli
from disguisednets.attacks.dp_denoise import dp_denoise_attack
from disguisednets.keys import KeyFileError
from disguisednets.mechanisms import generate_key, load_key, make_mechanism, validate_key_arrays
from disguisednets.mechanisms.pixelization import laplace_scale

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (6, 8, 8)).astype(np.uint8)
COLOUR = RNG.integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)


def cell_means(x, b):  # by explicit loops over cells: the definition
    n, h, w = x.shape[:3]
    return np.stack([x[:, r:r + b, c:c + b].mean(axis=(1, 2)) for r in range(0, h, b) for c in range(0, w, b)], axis=1)


@pytest.mark.parametrize("b", [1, 2, 4, 8])
def test_without_noise_every_cell_is_its_mean(b):
    y = make_mechanism(generate_key("dp_pixelization", (8, 8), b, epsilon=None)).disguise(GRAY)
    assert y.shape == GRAY.shape and y.dtype == np.float32
    expect = cell_means(GRAY.astype(np.float64), b)
    for j, (r, c) in enumerate((r, c) for r in range(0, 8, b) for c in range(0, 8, b)):
        np.testing.assert_allclose(y[:, r:r + b, c:c + b], np.broadcast_to(expect[:, j, None, None], (6, b, b)),
                                   rtol=1e-6)


@pytest.mark.parametrize("b, eps, m", [(2, 1.0, 16), (4, 1.0, 16), (4, 0.5, 16), (4, 1.0, 4), (8, 5.0, 1)])
def test_the_noise_is_laplace_of_scale_255m_over_b2eps_around_the_pixelized_image(b, eps, m):
    scale = 255 * m / (b * b * eps)
    assert laplace_scale(b, eps, m) == pytest.approx(scale)
    mech = make_mechanism(generate_key("dp_pixelization", (8, 8), b, epsilon=eps, m=m))
    assert mech.scale == pytest.approx(scale)
    image = np.repeat(GRAY[:1], 4000, axis=0)                  # one image, 4,000 fresh releases
    y = mech.disguise(image, rng=np.random.default_rng(1))
    cells = y[:, ::b, ::b].reshape(len(y), -1).astype(np.float64)
    truth = cell_means(GRAY[:1].astype(np.float64), b)[0]
    noise = cells - truth
    se = scale * np.sqrt(2 / len(y))                            # the standard error of a Laplace mean
    assert np.all(np.abs(noise.mean(0)) < 5 * se)               # its mean over draws is the pixelized image
    assert np.mean(np.abs(noise)) == pytest.approx(scale, rel=0.05)     # E|Laplace(s)| = s
    assert np.var(noise) == pytest.approx(2 * scale ** 2, rel=0.1)      # Var = 2 s²
    per_cell = y.reshape(len(y), 8 // b, b, 8 // b, b)
    assert np.all(per_cell.max(axis=(2, 4)) == per_cell.min(axis=(2, 4)))  # one value per cell


def test_colour_cells_are_per_channel_and_releases_are_fresh_per_image():
    mech = make_mechanism(generate_key("dp_pixelization", (8, 8, 3), 4, epsilon=None))
    y = mech.disguise(COLOUR)
    for c in range(3):
        np.testing.assert_allclose(y[..., c][:, ::4, ::4].reshape(5, -1), cell_means(COLOUR[..., c].astype(float), 4),
                                   rtol=1e-6)
    noisy = make_mechanism(generate_key("dp_pixelization", (8, 8), 4, epsilon=1.0))
    two = noisy.disguise(np.repeat(GRAY[:1], 2, axis=0))
    assert not np.array_equal(two[0], two[1])


def test_clip_keeps_the_release_in_0_255():
    y = make_mechanism(generate_key("dp_pixelization", (8, 8), 2, epsilon=0.1, clip=True)).disguise(GRAY)
    assert y.min() >= 0 and y.max() <= 255 and {0.0, 255.0} <= set(np.unique(y))


@pytest.mark.parametrize("settings, message", [({"epsilon": 0}, "epsilon"), ({"epsilon": -1.0}, "epsilon"),
                                               ({"epsilon": float("inf")}, "None for"), ({"m": 0}, "'m'"),
                                               ({"m": 2.5}, "'m'"), ({"clip": "yes"}, "clip")])
def test_bad_settings_are_refused_with_what_to_give(settings, message):
    with pytest.raises(ValueError, match=message):
        generate_key("dp_pixelization", (8, 8), 4, **settings)
    with pytest.raises(ValueError, match="must divide the image size"):
        generate_key("dp_pixelization", (8, 8), 3)


def test_the_key_holds_settings_only_round_trips_and_nothing_restores(tmp_path):
    key = generate_key("dp_pixelization", (8, 8), 4, epsilon=None, m=4)
    assert load_key(key.save(tmp_path / "dp.key")) == key
    assert key.spec["epsilon"] is None and sorted(type(make_mechanism(key)).key_arrays(key.spec)) == ["label_map"]
    with pytest.raises(KeyFileError, match="not a permutation"):
        validate_key_arrays(key.spec, {"label_map": np.zeros(10, int)})
    with pytest.raises(NotImplementedError, match="cannot be restored"):
        make_mechanism(key).restore(make_mechanism(key).disguise(GRAY))


def test_the_command_line_disguises_with_dp_pixelization_and_refuses_to_restore(tmp_path, capsys):
    key = tmp_path / "dp.key"
    assert cli.main(["keygen", "--mechanism", "dp_pixelization", "--image-size", "8", "--block-size", "4",
                     "--epsilon", "inf", "--neighbour-pixels", "4", "-o", str(key)]) == 0
    spec = load_key(key).spec
    assert spec["epsilon"] is None and spec["m"] == 4
    np.save(tmp_path / "x.npy", GRAY)
    assert cli.main(["disguise", "--key", str(key), str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npz"), "-q"]) == 0
    released = np.load(tmp_path / "y.npz")["images"]
    np.testing.assert_allclose(released[:, ::4, ::4].reshape(6, -1), cell_means(GRAY.astype(float), 4), rtol=1e-6)
    capsys.readouterr()
    assert cli.main(["restore", "--key", str(key), str(tmp_path / "y.npz"), "-o", str(tmp_path / "r.npz")]) != 0
    assert "cannot be restored" in capsys.readouterr().err and not (tmp_path / "r.npz").exists()


def test_the_denoising_attack_undoes_pixelization_of_images_like_the_public_ones_and_not_noise():
    rng = np.random.default_rng(2)
    # a domain of images that are smooth: each a mix of 6 fixed patterns; pixelization loses the detail
    patterns = rng.normal(0, 40, (6, 8, 8)).cumsum(1).cumsum(2) / 4
    make = lambda n: np.tensordot(rng.normal(0, 1, (n, 6)), patterns, axes=1) + 128  # noqa: E731
    public, private = make(3000), make(50)
    mech = make_mechanism(generate_key("dp_pixelization", (8, 8), 2, epsilon=None))
    released = mech.disguise(private)
    est = dp_denoise_attack(public, released, 2, 0.0, np.random.default_rng(0))
    # 16 cell means of a 6-dimensional domain determine the image: the fit recovers it, pixelization did not
    assert np.abs(est - private).max() < 0.1 < np.abs(released - private).mean()
    noisy = make_mechanism(generate_key("dp_pixelization", (8, 8), 2, epsilon=0.05, m=4))
    est = dp_denoise_attack(public, noisy.disguise(private), 2, noisy.scale, np.random.default_rng(0))
    assert np.abs(est - private).mean() > 5   # ε = 0.05: the release says almost nothing of the image
