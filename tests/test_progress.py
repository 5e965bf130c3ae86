"""Progress where someone watches, plain lines where no one does (disguisednets.progress): a log gets one line
per epoch or step, never a progress bar's redraws."""

import io
import logging

import numpy as np
import pytest
from omegaconf import OmegaConf

from disguisednets import progress as progress_module
from disguisednets.models import build_model
from disguisednets.progress import on_terminal, progress
from disguisednets.training import fit_classifier


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_terminal_asks_the_stream():
    assert on_terminal(Terminal()) and not on_terminal(io.StringIO())
    closed = io.StringIO()
    closed.close()
    assert not on_terminal(closed) and not on_terminal(object())


def test_off_a_terminal_a_step_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "on_terminal", lambda stream=None: False)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])     # no logging set up: the lines go to stderr
    assert list(progress(["a", "b", "c"], "audit", describe=str.upper)) == ["a", "b", "c"]
    lines = capsys.readouterr().err.strip().split("\n")
    assert [ln.split(" (")[0] for ln in lines] == ["audit 1/3: A", "audit 2/3: B", "audit 3/3: C"]
    assert list(progress(iter([1, 2]), "steps", enabled=False)) == [1, 2] and capsys.readouterr().err == ""


def test_on_a_terminal_a_bar(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "on_terminal", lambda stream=None: True)
    assert list(progress(range(3), "sweep", describe=lambda i: f"point {i}")) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "sweep" in err and "3/3" in err and "point 2" in err and "sweep 1/3" not in err


def _fit(progress_bar: bool):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8), rng.integers(0, 10, 256)
    trainer = OmegaConf.create({"accelerator": "cpu", "devices": 1, "strategy": "auto", "precision": "32-true",
                                "channels_last": False, "max_epochs": 2, "batch_size": 64, "eval_batch_size": 256,
                                "lr": 1e-3, "weight_decay": 0.0, "limit_train_batches": None,
                                "progress_bar": progress_bar})
    model = build_model(OmegaConf.create({"name": "alexnet", "width": 0.125, "dropout": 0.5}), 28, 10, seed=0)
    return fit_classifier(trainer, model, (x, y), (x[:64], y[:64]), (x[:64], y[:64]), seed=0)


@pytest.mark.slow  # trains
def test_a_training_off_a_terminal_logs_a_line_per_epoch_and_draws_no_bar(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="disguisednets.progress"):
        _fit(progress_bar=True)             # the tests' output is not a terminal
    lines = [r.getMessage() for r in caplog.records if r.name == "disguisednets.progress"]
    assert [ln.split(":")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("train loss" in ln and "val acc" in ln for ln in lines)
    out = capsys.readouterr()
    assert "Epoch 0" not in out.err + out.out and "it/s" not in out.err + out.out   # Lightning's bar: not drawn
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="disguisednets.progress"):
        _fit(progress_bar=False)            # asked for no progress at all
    assert not [r for r in caplog.records if r.name == "disguisednets.progress"]
