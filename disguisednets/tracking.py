"""MLflow tracking at the edge of the project: one run per grid point.

Default store: SQLite at ``<paths.output_dir>/mlflow.db`` (the file store is deprecated), with
artifacts in ``<paths.output_dir>/mlartifacts``; ``tracking.uri`` in the config, else
``$MLFLOW_TRACKING_URI``, overrides it. Runs record the resolved config (which holds no key
material), the key's fingerprint, the git commit, per-epoch metrics and the final test accuracy.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import mlflow
import numpy as np
import pytorch_lightning as pl
from hydra.experimental.callback import Callback
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from disguisednets.runinfo import (code_version, config_digest, dataset_label, flat_params, git_commit, machine, run_name,
                                  setting_name)

__all__ = ["PrepareTrackingStore", "MLflowEpochMetrics", "default_uri", "tracking_uri", "open_store", "prepare_store",
           "start_run", "mark_dead_runs", "log_data_inputs", "log_trained_model", "EXPERIMENT_KIND", "UI_URL",
           "flat_params", "git_commit", "config_digest", "find_finished_run", "is_rank_zero", "run_name",
           "setting_name", "machine"]

log = logging.getLogger(__name__)


def default_uri(output_dir: str | os.PathLike, uri: str | None = None) -> str:
    """``uri`` if given, else ``$MLFLOW_TRACKING_URI``, else SQLite at ``<output_dir>/mlflow.db``."""
    if uri:
        return str(uri)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path(output_dir).resolve() / 'mlflow.db'}"


def tracking_uri(cfg: DictConfig) -> str:
    return default_uri(cfg.paths.output_dir, cfg.tracking.get("uri"))


_READY: set[str] = set()   # stores this process has created or found complete


def open_store(uri: str) -> MlflowClient:
    """A client of the store at ``uri``. A SQLite store is created and migrated first, once per
    process and under a file lock beside it (``mlflow.db.lock``): two processes that start at once on
    a fresh output folder would otherwise both run MLflow's migrations ("table … already exists").
    Its ``Default`` experiment keeps its artifacts in the output folder (``mlartifacts/0``)."""
    if uri.startswith("sqlite:///") and uri not in _READY:
        from filelock import FileLock
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        db = Path(uri[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{db}.lock", timeout=600):
            SqlAlchemyStore(uri, (db.parent / "mlartifacts").resolve().as_uri())  # tables, Default experiment
        _READY.add(uri)
    return MlflowClient(uri)


# MLflow marks an experiment's kind with the tag ``mlflow.experimentKind``; ours are model training. MLflow
# 3.17's UI, though, opens every experiment in the view of its global "GenAI | Model training" switch (kept
# in the browser, GenAI by default: the "Traces" overview, "No data available"), so the address to open
# chooses model training itself (``UI_URL``; the switch then stays there in that browser).
EXPERIMENT_KIND = "custom_model_development"
UI_URL = "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"


def prepare_store(cfg: DictConfig) -> str:
    """Create the store and the experiment if missing; return the experiment id."""
    uri = tracking_uri(cfg)
    client = open_store(uri)
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
    if exp.tags.get("mlflow.experimentKind") != EXPERIMENT_KIND:
        client.set_experiment_tag(exp.experiment_id, "mlflow.experimentKind", EXPERIMENT_KIND)
    description = OmegaConf.select(cfg, "tracking.description", default=None)
    if description and exp.tags.get("mlflow.note.content") != str(description):
        client.set_experiment_tag(exp.experiment_id, "mlflow.note.content", str(description))  # the UI's description
    return exp.experiment_id


def check_run(cfg: DictConfig) -> None:
    """A single run's settings checked before Hydra makes its output folder or the store is touched (the grid
    point built: the scheme, its key spec for the images, the attack's name): a bad one exits with status 2 and
    one line, leaving nothing behind. (A multirun's jobs are checked each as it starts, by the run itself.)"""
    from disguisednets.gridpoint import GridPoint

    try:
        GridPoint.build(cfg)
    except ValueError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        raise SystemExit(2) from None


class PrepareTrackingStore(Callback):
    """Hydra callback: create the store and experiment before any job starts, so that parallel
    jobs of a multirun never race to create a fresh SQLite file."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_run(config)
        prepare_store(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        prepare_store(config)


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-process (DDP) run: they train but do not track."""
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(var, "0") not in ("", "0"):
            return False
    return True


def find_finished_run(cfg: DictConfig):
    """The latest finished run of this config and code version in the run's experiment, or None.
    The code version is :func:`~disguisednets.runinfo.code_version`: a run made before a commit that
    changed only results or docs still matches. Runs with a key file (``key.path``) are never matched:
    the file may have changed."""
    if cfg.key.get("path"):
        return None
    client = open_store(tracking_uri(cfg))
    exp = client.get_experiment_by_name(str(cfg.tracking.experiment))
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and tags.config_digest = '{config_digest(cfg)}'",
        order_by=["attributes.start_time DESC"], max_results=200)
    current = code_version(git_commit())
    return next((r for r in runs if code_version(r.data.tags.get("git_commit", "")) == current), None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def mark_dead_runs(cfg: DictConfig) -> list[str]:
    """Runs of this grid point (same config digest) left RUNNING by a process of this machine that
    is gone (killed, e.g. by SIGKILL or the OOM killer) are marked KILLED, so that neither the UI nor
    the report shows a ghost. Returns their ids. Runs of other machines are left alone."""
    client = open_store(tracking_uri(cfg))
    exp = client.get_experiment_by_name(str(cfg.tracking.experiment))
    if exp is None:
        return []
    found = client.search_runs([exp.experiment_id], filter_string=(
        f"attributes.status = 'RUNNING' and tags.config_digest = '{config_digest(cfg)}' "
        f"and tags.host = '{socket.gethostname()}'"), max_results=1000)
    dead = [r for r in found if r.data.tags.get("pid", "").isdigit() and not _alive(int(r.data.tags["pid"]))]
    for r in dead:
        client.set_tag(r.info.run_id, "killed", f"process {r.data.tags['pid']} was gone when the grid point ran again")
        client.set_terminated(r.info.run_id, status="KILLED")
        log.warning("Marked run %s (%s) KILLED: its process %s is gone.", r.info.run_id, r.info.run_name,
                    r.data.tags["pid"])
    return [r.info.run_id for r in dead]


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
        "dataset": dataset_label(cfg),
        "mechanism": cfg.mechanism.name,
        "fold": str(cfg.fold),
        "key_fingerprint": key.fingerprint if key is not None else "none",
        "key_kind": "none" if key is None else ("file" if cfg.key.get("path") else "experiment"),
        "git_commit": git_commit(),
        "config_digest": config_digest(cfg),
        "machine": machine(),
        "host": socket.gethostname(),
        "pid": str(os.getpid()),   # with host: a run left RUNNING by a dead process is found (mark_dead_runs)
        "scale": str(OmegaConf.select(cfg, "scale.name", default="custom")),
        **(extra_tags or {}),
    }
    column = OmegaConf.select(cfg, "tracking.column", default=None)
    if column:
        tags["column"] = str(column)
    if cfg.dataset.name == "folder":  # a data owner's folder: which content, how many images (read once, memoized)
        from disguisednets.folderdata import load_configured

        ds = load_configured(cfg.dataset)
        tags.update({"dataset_source": ds.name, "dataset_digest": str(ds.digest),
                     "dataset_images": str(len(ds.train_images) + len(ds.test_images)),
                     "dataset_shape": "×".join(map(str, ds.train_images.shape[1:]))})
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


def log_data_inputs(inputs, cfg: DictConfig) -> None:
    """Log a grid point's splits (:class:`disguisednets.gridpoint.DataInput`) to the active run as MLflow
    dataset inputs, so that the UI's Dataset column says what the run trained on or attacked: the dataset,
    fold, disguise setting and split size in the name, the split's digest, its context. No image, no key
    material (the digest covers the key's public fingerprint only)."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import Schema, TensorSpec

    disguise = setting_name(cfg).split(" · ", 1)[1]   # 'mnist rmt-b7-… uniform-level100'
    source = CodeDatasetSource({"dataset": str(cfg.dataset.name), "fold": str(cfg.fold), "disguise": disguise})
    for d in inputs:
        name = f"{disguise} · fold{cfg.fold} · {d.context} ({d.images:,} images)"
        schema = Schema([TensorSpec(np.dtype(np.uint8), (-1, *d.shape), name="original images")])
        mlflow.log_input(MetaDataset(source, name=name, digest=d.digest, schema=schema), context=d.context,
                         tags={"images": str(d.images)})


def log_trained_model(model, mean, std, example) -> dict[str, float]:
    """Log a trained network as an MLflow model (``mlflow.pytorch``) that takes disguised images on the
    pixel scale — (N, H, W) or (N, H, W, C) float32, as the disguise outputs them — and returns the
    logits of the disguised classes (the key's label map; ``disguisednets labels`` maps them back). The
    training standardization is inside the model. ``example``: a few disguised images (what the cloud
    holds anyway). MLflow 3.17 saves it as a ``torch.export`` program (``data/model.pt2``), which loads with
    torch alone. The trained ``model`` itself is left as it was (a copy is moved to the CPU). Returns the
    seconds it took."""
    import copy

    import mlflow.pytorch
    import torch

    from disguisednets.models import Standardized

    t0 = time.perf_counter()
    wrapped = Standardized(copy.deepcopy(model), mean, std).cpu().eval()
    example = np.asarray(example, dtype=np.float32)
    with warnings.catch_warnings():  # torch.export's note on buffers it saves once (mean, std): harmless here
        warnings.filterwarnings("ignore", message="No complete tensor found in the group")
        mlflow.pytorch.log_model(wrapped, name="model", input_example=example,
                                 pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"])
    return {"model_log_time_s": time.perf_counter() - t0}
