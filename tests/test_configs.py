"""Every config group option composes, and its mechanism / model instantiates without training."""

import itertools

import pytest
import torch

from disguisednets.mechanisms import get_mechanism
from disguisednets.models import AlexNet
from disguisednets.training import ImageClassifier, resolve_device
from disguisednets.gridpoint import build_key
from tests.conftest import CONF, compose_config


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
    with pytest.raises(Exception, match="mechanism.block_sise"):
        compose_config(["mechanism=rmt", "mechanism.block_sise=7"])
