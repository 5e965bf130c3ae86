"""MLflow tracking at the edge of the project: one run per grid point.

Default store: SQLite at ``<paths.output_dir>/mlflow.db`` (the file store is deprecated), with
artifacts in ``<paths.output_dir>/mlartifacts``; ``tracking.uri`` in the config, else
``$MLFLOW_TRACKING_URI``, overrides it. Runs record the resolved config (which holds no key
material), the key's fingerprint, the git commit, per-epoch metrics and the final test accuracy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import mlflow
import pytorch_lightning as pl
from hydra.experimental.callback import Callback
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

__all__ = ["PrepareTrackingStore", "MLflowEpochMetrics", "default_uri", "tracking_uri", "prepare_store", "start_run",
           "flat_params", "git_commit", "config_digest", "find_finished_run", "is_rank_zero", "run_name",
           "setting_name", "machine"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger(__name__)

# Settings that do not change a run's result: where it is written, how it is shown, the sweep's fold list.
_NOT_RESULT = ("hydra", "paths", "tracking", "resume")
_NOT_RESULT_TRAINER = ("progress_bar", "num_threads")


def default_uri(output_dir: str | os.PathLike, uri: str | None = None) -> str:
    """``uri`` if given, else ``$MLFLOW_TRACKING_URI``, else SQLite at ``<output_dir>/mlflow.db``."""
    if uri:
        return str(uri)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path(output_dir).resolve() / 'mlflow.db'}"


def tracking_uri(cfg: DictConfig) -> str:
    return default_uri(cfg.paths.output_dir, cfg.tracking.get("uri"))


def prepare_store(cfg: DictConfig) -> str:
    """Create the store and the experiment if missing; return the experiment id."""
    uri = tracking_uri(cfg)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(uri)
    name = str(cfg.tracking.experiment)
    exp = client.get_experiment_by_name(name)
    if exp is None:
        artifacts = None
        if uri.startswith("sqlite:"):
            artifacts = (Path(cfg.paths.output_dir).resolve() / "mlartifacts" / name).as_uri()
        try:
            exp = client.get_experiment(client.create_experiment(name, artifact_location=artifacts))
        except mlflow.exceptions.MlflowException:  # created meanwhile by a parallel job
            exp = client.get_experiment_by_name(name)
    description = OmegaConf.select(cfg, "tracking.description", default=None)
    if description and exp.tags.get("mlflow.note.content") != str(description):
        client.set_experiment_tag(exp.experiment_id, "mlflow.note.content", str(description))  # the UI's description
    return exp.experiment_id


class PrepareTrackingStore(Callback):
    """Hydra callback: create the store and experiment before any job starts, so that parallel
    jobs of a multirun never race to create a fresh SQLite file."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        prepare_store(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        prepare_store(config)


# What counts as the code of a run: an edit elsewhere (results/, README) is not a new code version,
# so that the report writing results/ does not stop the next sweep from resuming.
CODE_PATHS = ("disguisednets", "conf", "experiments", "pyproject.toml")


@functools.cache
def git_commit() -> str:
    """The code version: the commit, plus ``-dirty-<hash of the diff>`` for uncommitted changes to
    the code and configs (``CODE_PATHS``), tracked or new and not ignored (so two different dirty
    trees never count as the same code). Read once per
    process: the code a process runs is what it imported, even if the tree changes mid-sweep."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", *CODE_PATHS], cwd=PROJECT_ROOT, capture_output=True,
                              timeout=30, check=True).stdout
        untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z", "--", *CODE_PATHS],
                                   cwd=PROJECT_ROOT, capture_output=True, timeout=30, check=True).stdout
        for name in sorted(n for n in untracked.decode().split("\0") if n):  # new code files count too
            diff += name.encode() + (PROJECT_ROOT / name).read_bytes()
        return sha + (f"-dirty-{hashlib.sha256(diff).hexdigest()[:8]}" if diff.strip() else "")
    except (OSError, subprocess.SubprocessError):
        from disguisednets import __version__

        return f"unknown-{__version__}"


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-process (DDP) run: they train but do not track."""
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(var, "0") not in ("", "0"):
            return False
    return True


@functools.cache
def machine() -> str:
    """A short description of the machine a run used: CPU model and cores, and the GPU if any."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores"
    import torch

    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def config_digest(cfg: DictConfig) -> str:
    """A short SHA-256 of the settings that determine a run's result: the resolved config without
    output paths, tracking, display settings and the sweep's fold list (``scale.folds``)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for k in _NOT_RESULT:
        container.pop(k, None)
    if (container.get("attack") or {}).get("name", "none") == "none":
        container.pop("examiner", None)  # a training run uses no examiner
    for k in _NOT_RESULT_TRAINER:
        container.get("trainer", {}).pop(k, None)
    if isinstance(container.get("scale"), dict):
        container["scale"].pop("folds", None)
    return hashlib.sha256(json.dumps(container, sort_keys=True, default=str).encode()).hexdigest()[:16]


def find_finished_run(cfg: DictConfig):
    """The latest finished run of this config and code version in the run's experiment, or None.
    Runs with a key file (``key.path``) are never matched: the file may have changed."""
    if cfg.key.get("path"):
        return None
    client = MlflowClient(tracking_uri(cfg))
    exp = client.get_experiment_by_name(str(cfg.tracking.experiment))
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=(f"attributes.status = 'FINISHED' and tags.config_digest = '{config_digest(cfg)}' "
                       f"and tags.git_commit = '{git_commit()}'"),
        order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0] if runs else None


# Config groups that a run of each kind does not use: not logged as its params.
_UNUSED_BY = {"train": ("attack", "examiner"), "attack": ()}


def flat_params(cfg: DictConfig, kind: str = "train") -> dict[str, str]:
    """The resolved config as dotted params, without what does not describe the run's setting (Hydra,
    output paths, tracking, resume), groups the run's kind does not use, and unset (null) values."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for k in (*_NOT_RESULT, *_UNUSED_BY[kind]):
        container.pop(k, None)
    for k in _NOT_RESULT_TRAINER:   # display settings
        container.get("trainer", {}).pop(k, None)
    if isinstance(container.get("scale"), dict):
        container["scale"].pop("folds", None)  # the sweep's fold list; the run's fold is `fold`
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif node is not None:
            out[prefix] = str(node)[:6000]

    walk("", container)
    return out


def _noise_name(noise) -> str:
    if noise.kind == "none":
        return ""
    return f"{noise.kind}-level{noise.level:g}" if noise.kind == "uniform" else f"{noise.kind}-rate{noise.rate:g}"


def disguise_name(cfg: DictConfig) -> str:
    """The dataset and disguise of a run: 'mnist rmt-b7-orthogonal-matrix uniform-level100'."""
    mech = cfg.mechanism
    parts = [mech.name]
    if mech.name != "none":
        parts.append(f"b{mech.block_size}")
        parts += [str(mech[k]) for k in ("kind", "mode") if k in mech]
        if "unit" in mech:
            parts.append(f"unit{mech.unit}")
        if mech.get("aes_form") == "literal":
            parts.append(f"literal-{mech.filter}")
        if mech.get("iv") == "random":
            parts.append("random-iv")
    return " ".join(p for p in (cfg.dataset.name, "-".join(parts), _noise_name(cfg.noise)) if p)


def task_name(cfg: DictConfig) -> str:
    """What the run does: 'train', or the attack with its variant and known pairs ('regression-forward m=20')."""
    attack = cfg.get("attack")
    if attack is None or attack.name == "none":
        return "train"
    parts = [attack.name]
    if attack.get("regression_form", "inverse") != "inverse":
        parts.append(attack.regression_form)
    if attack.get("miss_fill", "mode") != "mode":
        parts.append(f"fill-{attack.miss_fill}")
    if attack.get("cleanup", True) is False:
        parts.append("raw")
    m = attack.get("known_pairs")
    return "-".join(parts) + f" m={'all' if m is None else m}"


def setting_name(cfg: DictConfig) -> str:
    """A run's grid point without its fold (the ``setting`` tag): task first, then data and disguise."""
    return f"{task_name(cfg)} · {disguise_name(cfg)}"


def run_name(cfg: DictConfig) -> str:
    """The part that differs between runs of one experiment first: task and fold, then the rest."""
    return f"{task_name(cfg)} · fold{cfg.fold} · {disguise_name(cfg)}"


def _use_tracking_uri(uri: str) -> None:
    """Point MLflow's fluent API at ``uri`` without leaving it in ``$MLFLOW_TRACKING_URI``.

    ``mlflow.set_tracking_uri`` also writes the environment variable, which :func:`default_uri`
    reads as the user's choice: the next run of the same process (a multirun's next job, the next
    test) would then log into this run's store instead of its own ``paths.output_dir``."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@contextmanager
def start_run(cfg: DictConfig, key, kind: str, extra_tags: dict[str, str] | None = None,
              extra_params: dict[str, str] | None = None) -> Iterator[mlflow.ActiveRun | None]:
    """An MLflow run for one grid point (``kind`` train | attack), with params, tags and the resolved
    config. Of the key (None for the baseline) only its fingerprint and kind are recorded. In the
    extra processes of a DDP run it yields None and records nothing (rank 0 tracks the run)."""
    if not is_rank_zero():
        yield None
        return
    experiment_id = prepare_store(cfg)
    _use_tracking_uri(tracking_uri(cfg))
    tags = {
        "kind": kind,
        "setting": setting_name(cfg),
        "dataset": cfg.dataset.name,
        "mechanism": cfg.mechanism.name,
        "fold": str(cfg.fold),
        "key_fingerprint": key.fingerprint if key is not None else "none",
        "key_kind": "none" if key is None else ("file" if cfg.key.get("path") else "experiment"),
        "git_commit": git_commit(),
        "config_digest": config_digest(cfg),
        "machine": machine(),
        "scale": str(OmegaConf.select(cfg, "scale.name", default="custom")),
        **(extra_tags or {}),
    }
    column = OmegaConf.select(cfg, "tracking.column", default=None)
    if column:
        tags["column"] = str(column)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name(cfg), tags=tags) as run:
        params = {**flat_params(cfg, kind), **(extra_params or {})}
        items = list(params.items())
        for i in range(0, len(items), 100):
            mlflow.log_params(dict(items[i:i + 100]))
        resolved = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"}
        mlflow.log_text(OmegaConf.to_yaml(OmegaConf.create(resolved)), "config.yaml")
        yield run


class MLflowEpochMetrics(pl.Callback):
    """Log the epoch-level metrics Lightning collected, and the epoch's wall time, to the active run."""

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or mlflow.active_run() is None:
            return
        metrics = {k: float(v) * (100 if k.endswith("_acc") else 1) for k, v in trainer.callback_metrics.items()
                   if k.startswith(("train_", "val_")) and v.numel() == 1}  # accuracies in %, as every metric
        metrics["epoch_time_s"] = time.perf_counter() - self._t0
        mlflow.log_metrics(metrics, step=trainer.current_epoch)
