"""Attacks do what they claim, on arrays (fast) and through the entry point (tiny)."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from disguisednets.attacks import (codebook_attack, covariance_attack, frequency_attack, hit_rates, jigsaw_attack,
                                   linkage_rate, mse, regression_attack, ssim, success_rate)
from disguisednets.attacks._units import as_units
from disguisednets.data import load_dataset, pad_to
from disguisednets.mechanisms import generate_key, make_mechanism
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.experiment import run
from tests.conftest import compose_config


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


def _pairs(mech, known, target, b):
    perm = mech.key.array("permutation")
    return (gather_blocks(known, b, perm), gather_blocks(mech.disguise(known), b),
            gather_blocks(mech.disguise(target), b), perm)


@pytest.mark.parametrize("kind,mode,m", [("orthogonal", "matrix", 2), ("gaussian", "matrix", 2),
                                         ("orthogonal", "flat", 200), ("gaussian", "flat", 200)])
@pytest.mark.parametrize("form", ["inverse", "forward"])
def test_regression_on_noiseless_rmt_reconstructs_exactly(kind, mode, m, form):
    rng = np.random.default_rng(0)
    known = rng.integers(0, 256, (m, 28, 28), dtype=np.uint8)
    target = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    mech = make_mechanism(generate_key("rmt", (28, 28), 7, seed=1, kind=kind, mode=mode))
    kp, kd, td, perm = _pairs(mech, known, target, 7)
    recon = scatter_blocks(regression_attack(kp, kd, td, mode=mode, form=form), (28, 28), perm)
    err = np.abs(recon - target)
    if kind == "orthogonal":
        np.testing.assert_array_equal(np.rint(recon).astype(np.uint8), target)
    else:  # float32 disguised values through an ill-conditioned R: near-exact
        assert err.mean() < 0.05 and err.max() < 2.5


def test_regression_with_noise_improves_with_pairs(mnist):
    mech = make_mechanism(generate_key("rmt", (28, 28), 7, seed=0, noise={"kind": "uniform", "level": 100}))
    target = mnist.test_images[:500]
    errors = []
    for m in (1, 20, 1000):
        kp, kd, td, perm = _pairs(mech, mnist.train_images[:m], target, 7)
        errors.append(mse(scatter_blocks(regression_attack(kp, kd, td), (28, 28), perm), target))
    assert errors[0] > errors[1] > errors[2]


def test_codebook_with_every_pair_on_those_same_images_hits_everything(mnist):
    images = pad_to(mnist.train_images[:3000], 32)
    mech = make_mechanism(generate_key("aes_ecb", (32, 32), 8, seed=0, unit=16))
    kp, kd, _, perm = _pairs(mech, images, images[:1], 8)
    blocks, hits = codebook_attack(kp, kd, kd, unit=16, miss_fill="zeros")
    assert hits.all() and hit_rates(hits, np.ones_like(hits))["hit_rate"] == 100.0
    np.testing.assert_array_equal(scatter_blocks(blocks, (32, 32), perm), images)


@pytest.mark.parametrize("unit", [2, 16])
def test_codebook_misses_are_filled_and_noise_raises_the_error(mnist, unit):
    known, target = pad_to(mnist.train_images[:1000], 32), pad_to(mnist.test_images[:500], 32)
    rates = {}
    for rate in (0.0, 0.03):
        noise = {"kind": "salt_and_pepper", "rate": rate} if rate else None
        mech = make_mechanism(generate_key("aes_ecb", (32, 32), 8, seed=0, unit=unit, noise=noise))
        kp, kd, td, perm = _pairs(mech, known, target, 8)
        blocks, hits = codebook_attack(kp, kd, td, unit=unit, miss_fill="foreground", foreground_value=200)
        assert np.all(as_units(blocks, unit)[~hits] == 200)
        truth = as_units(gather_blocks(target, 8, perm), unit).any(-1)
        rates[rate] = hit_rates(hits, truth) | {"mse": mse(scatter_blocks(blocks, (32, 32), perm), target)}
    # Noise makes the mapping one-to-many, so hits may decode to the wrong unit. It barely lowers
    # the hit rate: noisy background units recur in the known pairs too (measured, not assumed).
    assert rates[0.03]["mse"] > rates[0.0]["mse"]
    with pytest.raises(ValueError, match="miss_fill must be one of"):
        codebook_attack(kp, kd, td, unit=unit, miss_fill="random")


def test_frequency_attack_finds_the_background_exactly(mnist):
    images = pad_to(mnist.train_images[:5000], 32)
    mech = make_mechanism(generate_key("aes_ecb", (32, 32), 8, seed=0, unit=16))
    observed = gather_blocks(mech.disguise(images), 8)
    recon = frequency_attack(observed, observed[:, :300], unit=16)
    perm = mech.key.array("permutation")
    truth_background = ~as_units(gather_blocks(images[:300], 8, perm), 16).any(-1)
    np.testing.assert_array_equal(as_units(recon, 16)[..., 0] == 0, truth_background)


def test_covariance_attack_is_blind_to_the_rotation(mnist):
    """Orthogonal RMT changes nothing the attack uses: on RMT and on the undisguised blocks it
    gives the same reconstruction, and that reconstruction resembles the originals."""
    public, owner, target = mnist.train_images[:5000], mnist.train_images[5000:15000], mnist.test_images[:300]
    mech = make_mechanism(generate_key("rmt", (28, 28), 7, seed=0))
    perm = mech.key.array("permutation")
    on_rmt = covariance_attack(gather_blocks(public, 7, perm), gather_blocks(mech.disguise(owner), 7),
                               gather_blocks(mech.disguise(target), 7))
    on_plain = covariance_attack(gather_blocks(public, 7, perm), gather_blocks(owner, 7, perm),
                                 gather_blocks(target, 7, perm))
    np.testing.assert_allclose(on_rmt, on_plain, atol=0.05)
    assert ssim(scatter_blocks(on_rmt, (28, 28), perm), target) > 0.7


def test_jigsaw_recovers_the_shared_permutation(mnist):
    mech = make_mechanism(generate_key("permutation", (28, 28), 7, seed=3))
    perm_hat = jigsaw_attack(gather_blocks(mech.disguise(mnist.train_images[:10000]), 7), (4, 4))
    np.testing.assert_array_equal(perm_hat, mech.key.array("permutation"))


def test_metrics():
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.float64)
    assert mse(x, x) == 0 and ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, 255 - x) < 0
    assert mse(x + 2, x) == pytest.approx(4.0)
    assert success_rate(0.45, 0.9) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="undefined"):
        success_rate(0.5, 0.0)
    rates = hit_rates(np.array([True, False, True, False]), np.array([True, True, False, False]))
    assert rates == {"hit_rate": 50.0, "hit_rate_foreground": 50.0}


# --------------------------------------------------------------------- through the entry point
ATTACK_TINY = ["dataset.train_size=3000", "dataset.val_size=500", "dataset.test_size=1000", "model.width=0.125",
               "trainer.max_epochs=2", "trainer.progress_bar=false"]


@pytest.fixture(scope="module")
def attack_out(tmp_path_factory):
    return tmp_path_factory.mktemp("attacks") / "outputs"


def _attack(out, *overrides):
    return run(compose_config([*ATTACK_TINY, f"paths.output_dir={out}", "tracking.experiment=attacks", *overrides]))


@pytest.mark.parametrize("attack", ["direct", "codebook", "regression", "frequency", "covariance", "jigsaw"])
@pytest.mark.slow  # trains or runs a subprocess
def test_every_attack_on_no_disguise_succeeds(attack_out, attack):
    extra = ["attack.public_size=20000"] if attack in ("covariance", "jigsaw") else []
    metrics = _attack(attack_out, "mechanism=none", f"attack={attack}", *extra)
    assert metrics["examiner_acc_original"] > 95 and metrics["paper_examiner_acc_original"] > 50
    # Not every attack can return the originals: the frequency attack outputs silhouettes (0 or 255),
    # and the covariance attack estimates its rotations from only 3,000 observed images here.
    assert metrics["success_rate"] > {"frequency": 80, "covariance": 90}.get(attack, 97)
    assert metrics["linkage_rate"] > {"frequency": 50, "covariance": 90}.get(attack, 99)


@pytest.mark.slow  # trains or runs a subprocess
def test_attack_runs_log_metrics_gallery_and_reuse_the_examiner(attack_out, shared_examiners):
    a = _attack(attack_out, "mechanism=aes_ecb", "attack=codebook", "attack.known_pairs=200")
    examiners = {p.name: p.stat().st_mtime_ns for p in shared_examiners.glob("*.pt")}
    b = _attack(attack_out, "mechanism=aes_ecb", "attack=direct")
    client = MlflowClient(f"sqlite:///{attack_out / 'mlflow.db'}")
    run_a, run_b = client.get_run(a["run_id"]), client.get_run(b["run_id"])
    for tag in ("examiner", "paper_examiner"):   # reused, not retrained (other test workers may add their own)
        name = run_b.data.tags[tag]
        assert name in examiners and (shared_examiners / name).stat().st_mtime_ns == examiners[name]
    for tag in ("examiner", "paper_examiner"):
        assert run_a.data.tags[tag] == run_b.data.tags[tag]
    assert run_a.data.tags["attack"] == "codebook" and run_a.data.tags["cleanup"].startswith("clip, blur")
    assert run_b.data.tags["cleanup"] == "none (raw map)"  # direct: the disguised images as they are
    for name in ("success_rate", "success_rate_paper", "linkage_rate", "hit_rate", "hit_rate_foreground", "mse",
                 "ssim", "examiner_calib_worst", "paper_examiner_calib_worst"):
        assert name in run_a.data.metrics
    assert "known_pairs" not in run_a.data.metrics and run_a.data.params["attack.known_pairs"] == "200"
    assert run_a.data.tags["kind"] == "attack" and run_a.data.tags["threat_level"] == "b"
    assert run_a.info.run_name.startswith("codebook m=200 · fold0 · mnist aes_ecb-b8-unit16")
    assert run_b.data.tags["threat_level"] == "a" and run_b.data.params["attack.known_pairs"] == "0"
    assert "gallery.png" in [f.path for f in client.list_artifacts(a["run_id"])]
    assert b["success_rate"] < 50 and b["linkage_rate"] < 5  # ciphertext as it is is not recognizable


@pytest.mark.slow  # trains or runs a subprocess
def test_paper_examiner_is_at_chance_on_random_images(attack_out):
    from disguisednets.attacks.examiner import paper_examiner

    examiner = paper_examiner(compose_config([*ATTACK_TINY, f"paths.output_dir={attack_out}"]))
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (5000, 28, 28)).astype(np.uint8)
    acc = examiner.accuracy(noise, rng.integers(0, 10, 5000))
    assert abs(acc - 0.1) < 0.03  # 5000 draws: sd 0.004


@pytest.mark.slow  # trains or runs a subprocess
def test_attack_config_errors(attack_out):
    with pytest.raises(ValueError, match="only .* training images lie outside the owner's sample"):
        _attack(attack_out, "mechanism=rmt", "attack=covariance", "attack.public_size=100000")
    with pytest.raises(ValueError, match="attack.known_pairs must be between 0 and 3000"):
        _attack(attack_out, "mechanism=rmt", "attack=regression", "attack.known_pairs=5000")


def test_row_leak_reads_noiseless_rmt_and_fails_on_noise(mnist):
    """Noiseless RMT leaks R_i: single-pixel block rows are scaled rows of it. Ciphertext only
    (level a): the observed disguised set and public images, no pair."""
    from disguisednets.attacks.registry import ATTACKS, Knowledge, attacker_view

    observed, target, public = mnist.train_images[:10000], mnist.test_images[:500], mnist.train_images[40000:45000]
    scores = {}
    for level in (None, 100):
        noise = {"kind": "uniform", "level": level} if level else None
        key = generate_key("rmt", (28, 28), 7, seed=0, noise=noise)
        mech = make_mechanism(key)
        rng = np.random.default_rng(0)
        view = attacker_view(key, None, True, (28, 28))
        k = Knowledge(view, mech.disguise(target, rng=rng), observed=mech.disguise(observed, rng=rng), public=public)
        result = ATTACKS["row_leak"].reconstruct(k, {})
        scores[level] = (linkage_rate(result.images, target), result.extras["rows_recovered"])
    assert scores[None][0] > 95 and scores[None][1] > 60      # most rows of R_i, in the clear
    assert scores[100][0] < 5 and scores[100][1] < 5          # uniform noise leaves no single-pixel row
    flat = make_mechanism(generate_key("rmt", (28, 28), 7, seed=0, mode="flat"))
    view = attacker_view(flat.key, None, True, (28, 28))
    with pytest.raises(ValueError, match="matrix mode"):
        ATTACKS["row_leak"].reconstruct(Knowledge(view, flat.disguise(target), observed=flat.disguise(target),
                                                  public=public), {})


@pytest.mark.slow  # trains or runs a subprocess
def test_the_peer_attacks_run_through_the_harness(attack_out):
    """Carlini et al.'s attack on InstaHide (a stated subset of private images, several epochs of
    encodings) and the denoising attack on DP pixelization, scored like every attack."""
    carlini = _attack(attack_out, "mechanism=instahide", "attack=instahide_carlini", "attack.private_images=200",
                      "attack.epochs=4")
    assert carlini["test_images"] == 200 and 0 <= carlini["images_recovered"] <= 100
    assert carlini["linkage_rate_any"] > 20 > 100 / 200     # far above chance (one of 200)
    dp = _attack(attack_out, "mechanism=dp_pixelization", "mechanism.epsilon=null", "attack=dp_denoise")
    assert dp["linkage_rate"] > 20 and 0 < dp["ssim"] <= 1  # ε = ∞: the 4×4 pixelization alone
