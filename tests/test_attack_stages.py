"""The attack task's stages (tasks/attack.py): gather → find the arrangement → undo each position → clean up →
score. An attack that brings its own stage (``Attack.arrange``, ``Attack.clean_up``) changes that stage only; the
battery's stages do the rest, and scoring is always the battery's."""

import numpy as np
import pytest

from disguisednets.attacks.permutation_estimate import estimable, estimate_permutation
from disguisednets.attacks.registry import ATTACKS, check_attack
from disguisednets.data import load_dataset
from disguisednets.gridpoint import GridPoint
from disguisednets.mechanisms import generate_key, make_mechanism
from disguisednets.mechanisms.registry import folds_channels, traits_of
from disguisednets.tasks.attack import attack

from tests.conftest import compose_config

TINY = ["dataset.train_size=3000", "dataset.val_size=500", "dataset.test_size=500", "model.width=0.125",
        "trainer.max_epochs=1", "trainer.progress_bar=false"]
RMT = ["mechanism=rmt", "mechanism.block_size=7", "attack=regression", "attack.known_pairs=20"]


def _run(tmp_path, monkeypatch, stage_attack, *overrides):
    """``stage_attack`` registered for this test alone, run by the attack task on tiny MNIST."""
    monkeypatch.setitem(ATTACKS._parts, stage_attack.name, stage_attack)
    cfg = compose_config([*TINY, f"paths.output_dir={tmp_path}", *RMT, f"attack.name={stage_attack.name}",
                          *overrides])
    return attack(GridPoint.build(cfg), cfg)


@pytest.mark.slow  # scores with the robust examiner (trained once per test run)
def test_an_arrangement_stage_of_its_own_replaces_that_stage_alone(tmp_path, monkeypatch):
    given = {}

    def true_pi(knowledge, options):   # a perfect arrangement stage (reads the scoring-only truth: a test)
        given.update(observed=len(knowledge.observed), public=len(knowledge.public),
                     pairs=len(knowledge.known_plain), target=len(knowledge.target))
        return knowledge.view.true_permutation

    mine = ATTACKS["regression"].with_stages("regression_true_pi", "regression, π from a stage of its own",
                                             arrange=true_pi)
    assert mine.run is ATTACKS["regression"].run and mine.clean_up is None
    staged = _run(tmp_path, monkeypatch, mine, "attack.knows_permutation=false")
    handed = attack(*(lambda c: (GridPoint.build(c), c))(compose_config(
        [*TINY, f"paths.output_dir={tmp_path}", *RMT, "attack.knows_permutation=true"])))
    # the cloud's evidence: its disguised training data, public images (attack.permutation_images of them) plus its
    # pairs' originals, the pairs
    assert given == {"observed": 3000, "public": 20000 + 20, "pairs": 20, "target": 500}
    assert staged.tags["permutation"].startswith("found by the regression_true_pi attack's own arrangement stage")
    assert staged.metrics["permutation_recovered"] == 100.0
    # the other stages are the battery's: exactly the run handed the true π (π̂'s draws have a stream of their own)
    same = ("linkage_rate", "success_rate", "ssim", "mse", "linkage_rate_raw", "cleanup_sigma")
    assert {k: staged.metrics[k] for k in same} == {k: handed.metrics[k] for k in same}
    assert staged.tags["cleanup"] == handed.tags["cleanup"] != "none (raw map)"

    reverse = mine.with_stages("regression_reversed", "π reversed", arrange=lambda k, o: k.view.true_permutation[::-1])
    wrong = _run(tmp_path, monkeypatch, reverse, "attack.knows_permutation=false")
    assert wrong.metrics["permutation_recovered"] < 20 and wrong.metrics["linkage_rate"] < handed.metrics["linkage_rate"]
    short = mine.with_stages("regression_short", "π too short", arrange=lambda k, o: np.arange(3))
    with pytest.raises(ValueError, match="not a permutation of the 16 block positions"):
        _run(tmp_path, monkeypatch, short, "attack.knows_permutation=false")


@pytest.mark.slow  # scores with the robust examiner (trained once per test run)
def test_a_clean_up_stage_of_its_own_is_scored_as_the_batterys_is(tmp_path, monkeypatch):
    seen = []

    def keep_raw(raw, knowledge, options):
        seen.append(raw.shape)
        return raw + 0.0

    mine = ATTACKS["regression"].with_stages("regression_raw", "regression, no clean-up", clean_up=keep_raw)
    result = _run(tmp_path, monkeypatch, mine)
    assert seen == [(500, 28, 28)] and result.tags["cleanup"] == "the regression_raw attack's own clean-up stage"
    assert result.metrics["linkage_rate"] == result.metrics["linkage_rate_raw"]
    assert "cleanup_sigma" not in result.metrics and "permutation_recovered" in result.metrics   # π̂: the battery's
    crop = mine.with_stages("regression_crop", "a clean-up that crops", clean_up=lambda raw, k, o: raw[:, 1:])
    with pytest.raises(ValueError, match="must keep the shape"):
        _run(tmp_path, monkeypatch, crop)


def test_an_attack_whose_arrangement_stage_is_never_called_is_refused():
    lost = ATTACKS["jigsaw"].with_stages("jigsaw_arranged", "?", arrange=lambda k, o: None)
    with pytest.raises(ValueError, match="does not put blocks back by it"):
        check_attack("jigsaw_arranged", lost)
    check_attack("regression_arranged", ATTACKS["regression"].with_stages("regression_arranged", "?",
                                                                          arrange=lambda k, o: None))


@pytest.mark.slow  # scores with the robust examiner (trained once per test run)
def test_a_scheme_without_statistics_for_pi_is_refused_unless_the_attack_arranges_itself(tmp_path):
    cfg = compose_config([*TINY, f"paths.output_dir={tmp_path}", "mechanism=aes_cbc", "mechanism.block_size=8",
                          "attack=codebook", "attack.known_pairs=5", "attack.knows_permutation=false"])
    with pytest.raises(ValueError, match=r"aes_cbc declares no trait π is estimated from .*Attack\.arrange"):
        attack(GridPoint.build(cfg), cfg)


def test_colour_folding_and_pi_estimation_follow_from_what_a_scheme_is():
    """Channels are folded for the schemes that disguise each channel with one key and keep images apart; π is
    estimable for a block permutation with a trait the statistics know (a pixelwise scheme: value frequencies)."""
    assert {m for m in ("none", "permutation", "rmt", "aes_ecb", "aes_cbc", "dp_pixelization", "etc", "learnable",
                        "instahide") if folds_channels(m)} == {"none", "permutation", "rmt", "aes_ecb", "aes_cbc",
                                                                "dp_pixelization"}
    assert not folds_channels("no_such_scheme") and traits_of("no_such_scheme") == frozenset()
    assert {m for m in ("rmt", "aes_ecb", "aes_cbc", "permutation", "etc", "learnable", "instahide",
                        "dp_pixelization") if estimable(m)} == {"rmt", "aes_ecb", "permutation"}


def test_pi_of_a_pixelwise_scheme_is_found_from_value_frequencies():
    mnist = load_dataset("mnist")
    key = generate_key("permutation", (28, 28), 7, seed=3)
    scheme = make_mechanism(key)
    pihat, used = estimate_permutation("permutation", 7, observed=scheme.disguise(mnist.train_images[:8000]),
                                       public=mnist.train_images[50000:55000])
    assert np.array_equal(pihat, key.array("permutation")) and "position statistics" in used
    with pytest.raises(ValueError, match="not integers in 0..255"):
        estimate_permutation("permutation", 7, observed=mnist.train_images[:100] + 0.5,
                             public=mnist.train_images[:100])
