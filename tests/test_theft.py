"""Model theft: the cloud's model of disguised images turned into a classifier of plain images."""

import numpy as np
import pytest

from disguisednets.attacks.disguise_estimate import estimate_disguise, known_disguise
from disguisednets.attacks.theft import assigned_accuracy, class_map, theft_success
from disguisednets.data import pad_to
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.mechanisms import generate_key, make_mechanism
from disguisednets.models import build_model
from disguisednets.training import fit_classifier, predict_classes
from tests.conftest import TINY, compose_config


@pytest.fixture(scope="module")
def mnist():
    from disguisednets.data import load_dataset, pad_to

    return load_dataset("mnist")


def test_class_map_undoes_a_label_permutation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    secret = rng.permutation(10)
    pred = secret[labels]                                   # a perfect model of disguised classes
    assert np.array_equal(class_map(pred, labels, 10)[secret], np.arange(10))
    assert assigned_accuracy(pred, labels, 10) == 100.0
    assert assigned_accuracy(rng.integers(0, 10, 1000), labels, 10) < 20  # random: near chance
    assert theft_success(45.0, 90.0) == 50.0
    with pytest.raises(ValueError, match="undefined"):
        theft_success(10.0, 0.0)


def _owner(mnist, mechanism):
    """The cloud's model M: trained on the owner's disguised images (6,000, 2 epochs, tiny AlexNet)."""
    cfg = compose_config([*TINY, "trainer.max_epochs=2"])
    x, y = mnist.train_images[:6000], mnist.train_labels[:6000]
    train = (mechanism.disguise(x, rng=np.random.default_rng(1)), mechanism.disguise_labels(y))
    test = (mechanism.disguise(mnist.test_images[:2000], rng=np.random.default_rng(2)),
            mechanism.disguise_labels(mnist.test_labels[:2000]))
    model = build_model(cfg.model, 28, 10, seed=0)
    module, data, acc = fit_classifier(cfg.trainer, model, train, None, test, seed=0)
    return (lambda images: predict_classes(module.model, data.mean, data.std, images)), 100 * acc


@pytest.mark.slow  # trains or runs a subprocess
def test_theft_of_an_undisguised_model_is_complete(mnist):
    from disguisednets.mechanisms import NoDisguise

    predict, owner = _owner(mnist, NoDisguise())
    stolen = assigned_accuracy(predict(mnist.test_images[:2000]), mnist.test_labels[:2000], 10)
    assert owner > 80 and theft_success(stolen, owner) > 99.5


@pytest.mark.slow  # trains or runs a subprocess
def test_theft_with_the_true_disguise_equals_the_owner_and_a_random_one_is_chance(mnist):
    key = generate_key("rmt", (28, 28), 7, seed=3)
    mech = make_mechanism(key)
    predict, owner = _owner(mnist, mech)
    x, y = mnist.test_images[:2000], mnist.test_labels[:2000]
    true = assigned_accuracy(predict(known_disguise(mech)(x)), y, 10)
    assert owner > 60 and abs(theft_success(true, owner) - 100) < 1.5   # the key's own noise draws differ
    other = make_mechanism(generate_key("rmt", (28, 28), 7, seed=4))
    assert assigned_accuracy(predict(known_disguise(other)(x)), y, 10) < 25         # a random T̂: chance
    # Level (b): T̂ fitted on 20 known pairs (forward regression per position), classes from the pairs.
    pairs = mnist.train_images[10000:10020]
    estimate = estimate_disguise("rmt", 7, key.array("permutation"), pairs, mech.disguise(pairs))
    mapping = class_map(predict(estimate(pairs)), mnist.train_labels[10000:10020], 10)
    stolen = assigned_accuracy(predict(estimate(x)), y, 10, mapping)
    assert theft_success(stolen, owner) > 80
    # Level (a): R̂ by covariance matching from the disguised training images and public ones.
    from disguisednets.attacks.disguise_estimate import estimate_disguise_level_a

    level_a = estimate_disguise_level_a("rmt", 7, key.array("permutation"),
                                        mech.disguise(mnist.train_images[:6000], rng=np.random.default_rng(1)),
                                        mnist.train_images[20000:25000])
    assert 0 <= assigned_accuracy(predict(level_a(x)), y, 10) <= 100
    assert estimate_disguise_level_a("learnable", 4, np.arange(49), x, x) is None   # no level-(a) estimate


def test_aes_level_a_disguise_estimate_writes_most_units_as_the_key_does(mnist):
    """AES-ECB at level (a): the frequency-rank pairing read plaintext → ciphertext, no pair, π given."""
    from disguisednets.attacks.disguise_estimate import estimate_disguise_level_a

    train, test = pad_to(mnist.train_images, 32), pad_to(mnist.test_images[:500], 32)
    mech = make_mechanism(generate_key("aes_ecb", (32, 32), 8, seed=3, unit=2))
    observed = mech.disguise(train[:10000])
    estimate = estimate_disguise_level_a("aes_ecb", 8, mech.key.array("permutation"), observed, train[50000:55000],
                                         unit=2)
    same = (estimate(test) == mech.disguise(test)).reshape(500, -1, 2).all(-1)      # per 2-pixel unit
    in_place = scatter_blocks(gather_blocks(test, 8, mech.key.array("permutation")), (32, 32))  # disguised layout
    background = (in_place.reshape(500, -1, 2) == 0).all(-1)
    # Measured: every background unit, 18.8% of the other units exactly (a random pairing: ~0.1%).
    assert same[background].mean() > 0.99 and same[~background].mean() > 0.1, (same[background].mean(),
                                                                                same[~background].mean())


@pytest.mark.slow  # trains or runs a subprocess
def test_theft_metrics_through_the_entry_point_and_their_table(tiny_cfg, tmp_path):
    from disguisednets.experiment import run
    from disguisednets.reporting.__main__ import main as report_main

    metrics = run(tiny_cfg("column=aes_ecb", "theft.enabled=true"))
    for name in ("theft_direct", "theft_true_disguise", "theft_m1", "theft_m20", "theft_m20_best_classes",
                 "theft_level_a", "theft_level_a_pi_given", "theft_m20_pi_given", "theft_permutation_recovered",
                 "theft_pixels_placed"):   # AES-ECB at level (a): the frequency-rank pairing, with π̂ and with π
        assert name in metrics and metrics[name] >= 0, name
    base = run(tiny_cfg("column=baseline", "theft.enabled=true"))
    assert "theft_direct" in base and "theft_m20" not in base   # no key: nothing to estimate
    assert report_main(["theft", "--experiment", "disguisednets", "--output-dir", str(tmp_path / "outputs"),
                        "--results-dir", str(tmp_path / "results")]) == 0
    table = (tmp_path / "results" / "disguisednets.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| mnist | AES-ECB"))
    assert (f"| {metrics['test_acc']:.1f} | {metrics['theft_direct']:.1f} | {metrics['theft_level_a']:.1f} | "
            f"{metrics['theft_true_disguise']:.1f} |") in row
    assert "| mnist | baseline (no disguise) |" in table
    assert 0 <= metrics["inversion_recognised"] <= 100 and (tmp_path / "results" / "disguisednets.png").is_file()
    # Both say how they were made: the table under its title, the figure in the results' README.
    assert table.split("\n")[2].startswith("> Provenance: `python -m disguisednets.reporting theft --experiment "
                                            "disguisednets` · commit ")
    assert "| `disguisednets.png` | Provenance: `python -m disguisednets.reporting theft" in \
        (tmp_path / "results" / "README.md").read_text()
