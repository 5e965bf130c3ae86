"""What a careful user and an attacker tried on a clean clone: concurrent first runs on a fresh
output folder, runs killed mid-way, the store's Default experiment."""

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from disguisednets.experiment import run
from tests.conftest import ROOT

RACE = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
from omegaconf import OmegaConf
from disguisednets.tracking import prepare_store
cfg = OmegaConf.create({"paths": {"output_dir": sys.argv[1]}, "tracking": {"uri": None, "experiment": "race"}})
print("experiment", prepare_store(cfg))
"""


@pytest.mark.slow  # trains or runs a subprocess
def test_two_processes_create_a_fresh_store_at_once(tmp_path):
    """Two processes released at the same instant on an empty output folder: without the lock,
    one dies in MLflow's migration ('table … already exists' / 'duplicate column')."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path / "out"), str(go)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(4)  # both have imported what they need and wait for the signal
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert "experiment 1" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'out' / 'mlflow.db'}")
    experiments = {e.name: e.artifact_location for e in client.search_experiments()}
    # One experiment "race", and MLflow's Default keeps its artifacts inside the output folder too.
    assert experiments == {"race": (tmp_path / "out" / "mlartifacts" / "race").as_uri(),
                           "Default": (tmp_path / "out" / "mlartifacts" / "0").as_uri()}


KILLED = """
import os, signal, sys
from omegaconf import OmegaConf
from disguisednets.tracking import start_run
cfg = OmegaConf.load(sys.argv[1])
with start_run(cfg, None, kind="train"):
    os.kill(os.getpid(), signal.SIGKILL)   # dies inside the run, as under the OOM killer
"""


@pytest.mark.slow  # trains or runs a subprocess
def test_a_killed_run_is_marked_killed_when_its_grid_point_runs_again(tiny_cfg, tmp_path):
    cfg = tiny_cfg("mechanism=permutation")
    (tmp_path / "cfg.yaml").write_text(OmegaConf.to_yaml(cfg))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path / "cfg.yaml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("disguisednets")
    (ghost,) = client.search_runs([exp.experiment_id])
    assert ghost.info.status == "RUNNING"
    other = tiny_cfg("mechanism=permutation", "fold=1")
    run(other)  # another grid point leaves the ghost alone
    assert client.get_run(ghost.info.run_id).info.status == "RUNNING"
    metrics = run(cfg)
    assert client.get_run(ghost.info.run_id).info.status == "KILLED"
    assert "process" in client.get_run(ghost.info.run_id).data.tags["killed"]
    assert client.get_run(metrics["run_id"]).info.status == "FINISHED"
