"""Run snapshots: what a report reads of an experiment's runs (tags, params, final metrics), kept in
``results/runs/<experiment>.json.gz`` so that a report that joins many sweeps (the resistance table) can be
re-made when the MLflow store that held some of them is gone.

The store is the working copy; the snapshot is the committed record. A snapshot holds the latest finished
run of each grid point (:func:`~disguisednets.reporting.runs.load_runs`), never metric histories or
artifacts, and never key material (runs carry only key fingerprints). Each run keeps its ``git_commit`` and
``machine`` tags, so a report made from snapshots names the code and machine of its runs like one made from
the store.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mlflow.tracking import MlflowClient

from disguisednets.reporting.runs import Runs, grid_point, load_runs

__all__ = ["SnapshotRun", "load_runs_or_snapshot", "read_snapshot", "snapshot_path", "write_snapshot"]

FORMAT = 1


@dataclass
class _Info:
    run_id: str
    start_time: int | None = None
    end_time: int | None = None


@dataclass
class _Data:
    params: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


@dataclass
class SnapshotRun:
    """A run read back from a snapshot: the ``info``/``data`` attributes reports use of an MLflow run."""

    info: _Info
    data: _Data


def snapshot_path(directory: str | Path, experiment: str) -> Path:
    return Path(directory) / f"{experiment}.json.gz"


def write_snapshot(runs: Runs, directory: str | Path, made_by: str) -> Path:
    """Write ``runs`` (one experiment's) to ``<directory>/<experiment>.json.gz``; returns the path."""
    if not runs.runs:
        raise ValueError(f"experiment {runs.experiment!r} has no finished runs to snapshot")
    path = snapshot_path(directory, runs.experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"format": FORMAT, "experiment": runs.experiment, "made_by": made_by, "date": date.today().isoformat(),
            "runs": [{"run_id": r.info.run_id, "start_time": r.info.start_time, "end_time": r.info.end_time,
                      "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
                      "params": dict(r.data.params), "metrics": dict(r.data.metrics)}
                     for r in sorted(runs.runs, key=lambda r: r.info.run_id)]}
    # mtime=0: the same runs give the same bytes, so re-writing an unchanged snapshot leaves git clean
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(json.dumps(body, sort_keys=True, indent=0).encode())
    return path


def read_snapshot(path: str | Path) -> Runs:
    """The runs of a snapshot file, as :class:`Runs` of :class:`SnapshotRun`."""
    path = Path(path)
    try:
        body = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"{path} is not a run snapshot ({e}); re-make it with "
                         "`python -m disguisednets.reporting snapshot` from a store that has the runs") from e
    if body.get("format") != FORMAT:
        raise ValueError(f"{path}: snapshot format {body.get('format')!r}, this code reads {FORMAT}")
    return Runs(body["experiment"], [SnapshotRun(_Info(r["run_id"], r.get("start_time"), r.get("end_time")),
                                                 _Data(r["params"], r["tags"], r["metrics"])) for r in body["runs"]])


def load_runs_or_snapshot(client: MlflowClient, experiment: str, directory: str | Path | None) -> tuple[Runs, str]:
    """The experiment's runs: the store's, and for every grid point (setting, fold) the store has no run of, its
    snapshot's in ``directory``; with where they came from ("store", "snapshot", "store + snapshot" or "none")."""
    runs = load_runs(client, experiment)
    path = None if directory is None else snapshot_path(directory, experiment)
    if path is None or not path.is_file():
        return runs, "store" if runs.runs else "none"
    kept = read_snapshot(path).runs
    if not runs.runs:
        return Runs(experiment, kept), "snapshot"
    have = {grid_point(r) for r in runs.runs}
    older = [r for r in kept if grid_point(r) not in have]
    return Runs(experiment, runs.runs + older), "store + snapshot" if older else "store"
