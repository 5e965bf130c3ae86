"""Shared fixtures: composed configs forced tiny (Lightning + Hydra template idiom)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Test workers (pytest-xdist: `make test` runs one per core) share the cores: each gets its share of the threads
# of torch and of numpy's BLAS, and so do the subprocesses it starts (read when those libraries load: before
# the imports below).
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if WORKERS > 1:
    _threads = str(max(1, (os.cpu_count() or 1) // WORKERS))
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = _threads

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.core.global_hydra import GlobalHydra  # noqa: E402

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
    only guards against a hang: a first sweep that trains the test run's robust examiner took 460 s alone
    on a 2-core AMD EPYC without bf16, and passed 600 s with another training sharing the cores."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    cmd = [sys.executable, str(ROOT / "experiments" / "run.py"), "--multirun", *overrides,
           f"paths.output_dir={Path(cwd) / 'outputs'}"]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# The robust examiner of the tests: the real recipe (all 60,000 training images, the same augmentations) for 2
# epochs instead of 6 — a third of the time, and it still keeps ≥ 98.5% clean accuracy and ≥ 97% of it on every
# calibration perturbation (test_examiner.py checks both). Subprocesses inherit it.
os.environ.setdefault("DISGUISEDNETS_EXAMINER_EPOCHS", "2")

# Tests that train the robust examiner of MNIST first, those that only use it last: the worker that trains
# it (the first test goes to the first worker) is busy for minutes while the other works through the rest.
FIRST = ("tests/test_examiner.py::test_robust_examiner_keeps_its_accuracy_on_every_calibration_perturbation",)


def pytest_collection_modifyitems(config, items):
    """The examiner's training first, the tests marked slow (trainings, subprocesses) after the rest."""
    items.sort(key=lambda item: (item.nodeid not in FIRST, item.get_closest_marker("slow") is not None))


@pytest.fixture(scope="session", autouse=True)
def shared_examiners(tmp_path_factory):
    """One examiner cache for the whole test run (``paths.examiner_dir`` follows the variable), as
    every scale of a real reproduction shares one: the robust examiner of MNIST fold 0, trained
    with the real recipe for 2 epochs (under a minute on 2 cores with bf16, a few without), is trained once and
    scores every attack test. Parallel workers share the cache: one trains an examiner under its file lock
    while the others wait for it (disguisednets.attacks.examiner). ``DISGUISEDNETS_TEST_EXAMINERS`` names a
    cache to use instead (a developer's ``outputs/examiners``, to re-run a few tests without training them
    again); CI leaves it unset."""
    preset = os.environ.get("DISGUISEDNETS_TEST_EXAMINERS")
    if preset:
        path = Path(preset)
    elif os.environ.get("PYTEST_XDIST_WORKER"):   # the workers' temporary folders share a parent
        path = tmp_path_factory.getbasetemp().parent / "examiners"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("examiners")
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
