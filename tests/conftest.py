"""Shared fixtures: composed configs forced tiny (Lightning + Hydra template idiom)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

TINY = [
    "dataset.train_size=300",
    "dataset.val_size=100",
    "dataset.test_size=200",
    "model.width=0.125",
    "trainer.max_epochs=1",
    "trainer.batch_size=64",
    "trainer.eval_batch_size=200",
    "trainer.progress_bar=false",
]


def compose_config(overrides: list[str] = (), *, hydra_config: bool = False):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra_config)


def multirun(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    """The real entry point, ``experiments/run.py --multirun``, writing under ``cwd/outputs``
    (without any $MLFLOW_TRACKING_URI of the caller); fails the test on a non-zero exit. The timeout
    only guards against a hang: a first sweep that trains the session's robust examiner took 460 s alone
    on a 2-core AMD EPYC without bf16, and passed 600 s with another training sharing the cores."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    cmd = [sys.executable, str(ROOT / "experiments" / "run.py"), "--multirun", *overrides,
           f"paths.output_dir={Path(cwd) / 'outputs'}"]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session", autouse=True)
def shared_examiners(tmp_path_factory):
    """One examiner cache for the whole session (``paths.examiner_dir`` follows the variable), as
    every scale of a real reproduction shares one: the robust examiner of MNIST fold 0, trained
    with the real recipe (about 100 s on 2 cores with bf16, several minutes without), is trained once and
    scores every attack test. ``DISGUISEDNETS_TEST_EXAMINERS`` names a cache to use instead (a developer's
    ``outputs/examiners``, to re-run a few tests without training them again); CI leaves it unset."""
    preset = os.environ.get("DISGUISEDNETS_TEST_EXAMINERS")
    path = Path(preset) if preset else tmp_path_factory.mktemp("examiners")
    old = os.environ.get("DISGUISEDNETS_EXAMINERS")
    os.environ["DISGUISEDNETS_EXAMINERS"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DISGUISEDNETS_EXAMINERS", None)
    else:
        os.environ["DISGUISEDNETS_EXAMINERS"] = old


@pytest.fixture
def tiny_cfg(tmp_path, monkeypatch):
    """Factory: a composed config, tiny, writing only under tmp_path."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def make(*overrides: str):
        return compose_config([*TINY, f"paths.output_dir={tmp_path / 'outputs'}", *overrides])

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture
def images():
    """Random uint8 images (5, 28, 28), every pixel value possible."""
    return np.random.default_rng(7).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)


def with_settings(key, **settings):
    """The same key material under other (public) settings: compares two forms under one key."""
    from disguisednets.keys import DisguiseKey
    from disguisednets.mechanisms import get_mechanism

    spec = {**key.spec, **settings}
    names = get_mechanism(key.mechanism).key_arrays(spec)
    return DisguiseKey(spec, {n: key.array(n) for n in names}, experiment=True)
