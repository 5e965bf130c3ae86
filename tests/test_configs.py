"""Every config group option composes, and its mechanism / model instantiates without training."""

import itertools
import re
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
import torch

from disguisednets.mechanisms import get_mechanism
from disguisednets.models import AlexNet
from disguisednets.training import ImageClassifier, resolve_device
from disguisednets.gridpoint import build_key
from tests.conftest import CONF, ROOT, compose_config


def options(group):
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_groups_exist():
    for group in ("dataset", "mechanism", "noise", "model", "trainer", "experiment"):
        assert options(group), f"config group {group}/ is empty"


@pytest.mark.parametrize("mechanism,noise", [
    (m, n) for m, n in itertools.product(options("mechanism"), options("noise"))
    if not (m == "none" and n != "none")
])
def test_every_mechanism_and_noise_composes_and_keys(mechanism, noise):
    cfg = compose_config([f"mechanism={mechanism}", f"noise={noise}"])
    shape = (cfg.dataset.pad_to or 28,) * 2
    if mechanism != "none" and noise not in get_mechanism(mechanism).noise_kinds:
        with pytest.raises(ValueError, match=f"takes noise of kind .*; got '{noise}'"):
            build_key(cfg, shape, 10)
        return
    key = build_key(cfg, shape, 10)
    if mechanism == "none":
        assert key is None
    else:
        assert key.mechanism == mechanism and key.experiment
        assert key.spec["noise"]["kind"] == noise


@pytest.mark.parametrize("dataset", options("dataset"))
@pytest.mark.parametrize("model", options("model"))
@pytest.mark.parametrize("trainer", options("trainer"))
def test_dataset_model_trainer_compose(dataset, model, trainer):
    cfg = compose_config([f"dataset={dataset}", f"model={model}", f"trainer={trainer}"])
    assert cfg.dataset.name == dataset
    model = AlexNet(image_size=cfg.dataset.pad_to or 28, width=cfg.model.width, dropout=cfg.model.dropout)
    # the trainer's settings are ones the training code accepts (an unknown schedule raises)
    module = ImageClassifier(model, lr=cfg.trainer.lr, weight_decay=cfg.trainer.weight_decay,
                             max_epochs=cfg.trainer.max_epochs, schedule=cfg.trainer.schedule)
    assert isinstance(module.configure_optimizers()["optimizer"], torch.optim.AdamW)
    assert resolve_device(cfg.trainer)["precision"] in ("32-true", "bf16-mixed")


@pytest.mark.parametrize("experiment", options("experiment"))
def test_experiments_compose_with_hydra_config(experiment):
    cfg = compose_config([f"experiment={experiment}"], hydra_config=True)
    assert cfg.hydra.sweeper.params, "an experiment is a sweep"


def test_unknown_keys_fail_fast():
    with pytest.raises(ConfigCompositionException, match="mechanism.block_sise"):
        compose_config(["mechanism=rmt", "mechanism.block_sise=7"])


@pytest.mark.parametrize("overrides, message", [
    (["mechanism=none", "noise=uniform"], "the baseline adds no noise"),
    (["mechanism=aes_ecb", "attack=codebook", "attack.unit=2"], "key fixes the unit"),
])
def test_settings_that_would_be_ignored_are_errors(overrides, message):
    from disguisednets.gridpoint import check_settings

    with pytest.raises(ValueError, match=message):
        check_settings(compose_config(overrides))
    check_settings(compose_config(["mechanism=rmt", "noise=uniform", "attack=codebook", "attack.unit=7"]))  # no unit


def test_cli_and_configs_offer_what_the_registries_hold():
    from disguisednets.attacks.registry import ATTACKS
    from disguisednets.cli import build_parser
    from disguisednets.mechanisms import MECHANISMS
    from disguisednets.models import MODELS

    keygen = build_parser()._subparsers._group_actions[0].choices["keygen"]
    (mechanism,) = [a for a in keygen._actions if a.dest == "mechanism"]
    assert tuple(mechanism.choices) == MECHANISMS.names() == ("permutation", "rmt", "aes_ecb", "aes_cbc", "etc",
                                                             "learnable", "instahide", "dp_pixelization")
    assert sorted([*MECHANISMS.names(), "none"]) == options("mechanism")
    assert sorted([*ATTACKS.names(), "none"]) == options("attack")
    assert {compose_config([f"model={m}"]).model.name for m in options("model")} <= set(MODELS.names())
    with pytest.raises(ValueError, match="Unknown attack 'x'; choose one of direct, codebook"):
        ATTACKS["x"]


@pytest.mark.parametrize("attack", options("attack"))
def test_every_attacks_public_images_fit_beside_a_45000_image_owner_sample(attack):
    """The level-(a) sweeps (attacks_cpu.sh, peers) give the owner 45,000 of MNIST's 60,000 training
    images; an attack's default public_size must fit in what the validation split leaves beside them."""
    cfg = compose_config([f"attack={attack}", "dataset=mnist", "dataset.train_size=45000"])
    left = 60000 - cfg.dataset.val_size - cfg.dataset.train_size
    assert (cfg.attack.get("public_size") or 0) <= left, (attack, cfg.attack.public_size, left)


def _sweep_lines(script: Path) -> list[list[str]]:
    """The overrides of each ``run`` line of a sweep script, as its ``run`` function passes them."""
    text = script.read_text()
    fixed = re.search(r'^run\(\) \{ .*--multirun (.*) "\$@"; \}', text, re.M).group(1).split()
    variables = dict(re.findall(r'^(\w+)="([^"]*)"$', text, re.M))
    lines = []
    for line in map(str.strip, text.splitlines()):
        if line.startswith("run "):
            words = line.split("#")[0].split()[1:]
            lines.append(fixed + [w for word in words
                                  for w in (variables[word[1:]].split() if word.startswith("$") else [word])])
    return lines


@pytest.mark.slow  # composes every grid point of the attack sweep
@pytest.mark.parametrize("overrides", [line for script in ("attacks_cpu.sh", "challenge.sh", "challenge_learned.sh")
                                       for line in _sweep_lines(ROOT / "experiments" / script)], ids=" ".join)
def test_every_line_of_the_attack_sweep_composes_as_a_multirun_does(overrides):
    """Hydra's multirun first composes the base config (the swept values left out: a swept group
    keeps its default, e.g. attack=none) with the other overrides, then each job; both must compose,
    or the sweep stops halfway (it did, on an override of a key that `attack: none` lacks)."""
    fixed = [o for o in overrides if "," not in o]
    compose_config(fixed)
    swept = [[f"{o.split('=', 1)[0]}={v}" for v in o.split("=", 1)[1].split(",")] for o in overrides if "," in o]
    for job in itertools.product(*swept):
        compose_config([*fixed, *job])


