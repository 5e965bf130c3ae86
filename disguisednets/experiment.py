"""Run one grid point end to end and record it (docs/method.md §3–§4): the top layer that joins the
grid point, its task (train or attack) and tracking. ``experiments/run.py`` is its Hydra entry point;
the tests call :func:`run` with a composed config.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from omegaconf import DictConfig

from disguisednets.attacks.registry import ATTACKS
from disguisednets.gridpoint import GridPoint
from disguisednets.reporting.gallery import attack_gallery
from disguisednets.tasks import attack, train
from disguisednets.tracking import (MLflowEpochMetrics, find_finished_run, is_rank_zero, log_data_inputs,
                                   log_trained_model, mark_dead_runs, start_run)

__all__ = ["run"]

# Lightning advertises a cloud logger on every Trainer; our runs log to MLflow.
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
    lambda record: "litlogger" not in record.getMessage())
log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run one grid point; return its metrics (accuracies and rates in %, times in s) and ``run_id``.

    With an attack configured (``attack`` ≠ none) the run attacks the point's disguise, else it
    trains on it. With ``resume`` (the default) a grid point that already finished with the same
    resolved config and code version is skipped, and its metrics are returned with ``skipped=True``.
    """
    t_start = time.perf_counter()
    point = GridPoint.build(cfg)   # every setting checked before the store is touched: a bad one leaves no run
    if is_rank_zero():
        mark_dead_runs(cfg)   # ghosts of this grid point: runs left RUNNING by a killed process
    if cfg.get("resume", True) and is_rank_zero():
        done = find_finished_run(cfg)
        if done is not None:
            log.info("Skipping %s: run %s finished it with the same config and code version (resume=false "
                     "reruns it).", done.info.run_name, done.info.run_id)
            return {**done.data.metrics, "run_id": done.info.run_id, "skipped": True}
    if cfg.get("attack") is not None and cfg.attack.name != "none":
        return _attack(point, cfg)
    return _train(point, cfg, t_start)


def _train(point: GridPoint, cfg: DictConfig, t_start: float) -> dict[str, Any]:
    import mlflow

    with start_run(cfg, point.key, kind="train") as active:  # None in a DDP run's extra processes
        result = train(point, cfg, callbacks=[MLflowEpochMetrics()])
        metrics = {**result.metrics, "total_time_s": time.perf_counter() - t_start}
        if active is None:
            return metrics
        log_data_inputs(point.data_inputs(), cfg)
        if cfg.tracking.get("log_model", False):
            metrics.update(log_trained_model(result.module.model, result.data.mean, result.data.std,
                                             _example(point, cfg)))
        if point.key is None and not cfg.dataset.pad_to:
            # The baseline model is the paper-protocol examiner of the attacks (docs/method.md §4).
            from disguisednets.attacks.examiner import save_examiner

            mlflow.set_tag("paper_examiner", save_examiner(cfg, result.module.model, result.data.mean, result.data.std,
                                                          point.splits.n_classes, run_id=active.info.run_id))
        if cfg.get("theft") is not None and cfg.theft.enabled:
            from disguisednets.tasks.theft import theft

            stolen = theft(point, result, cfg)
            metrics.update(stolen.metrics)
            if stolen.representatives is not None:
                _log_arrays({"images": stolen.representatives}, "representatives.npz")
        mlflow.set_tags(result.tags)
        mlflow.log_metrics(metrics)
        metrics["run_id"] = active.info.run_id
    return metrics


def _example(point: GridPoint, cfg: DictConfig):
    """Four disguised test images as the logged model's input example (the cloud holds them anyway)."""
    from disguisednets.gridpoint import STREAM_NOISE

    images = point.splits.test[0][:4]
    mech = point.mechanism
    if hasattr(mech, "inference_form"):  # InstaHide: its model sees test images in the clear
        return mech.inference_form(images)
    return point.disguise(images, point.rng(STREAM_NOISE))


def _log_arrays(arrays: dict, name: str) -> None:
    import tempfile
    from pathlib import Path

    import mlflow
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / name, **arrays)
        mlflow.log_artifact(str(Path(tmp) / name))


SAMPLES = "samples.npz"   # an attack run's first test images: originals, as the cloud sees them, reconstructed


def _samples(originals, disguised, recon, labels, n: int = 64) -> dict:
    """``n`` test images of an attack, the first of each class in turn, as uint8 pictures (what ``disguisednets
    audit`` draws; a folder's test split comes class by class, so the first ``n`` could all be one class)."""
    import numpy as np

    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    rank = np.empty(len(labels), int)               # each image's place among its class's images
    starts = np.searchsorted(labels[order], labels[order])
    rank[order] = np.arange(len(labels)) - starts
    pick = np.lexsort((np.arange(len(labels)), labels, rank))[:n]   # class by class, round by round
    originals, disguised, recon, labels = (np.asarray(a)[pick] for a in (originals, disguised, recon, labels))

    def picture(a):
        return np.clip(np.rint(np.asarray(a[:n], dtype=np.float64)), 0, 255).astype(np.uint8)

    shown = np.asarray(disguised[:n], dtype=np.float64)     # disguised values need not lie in 0..255 (RMT):
    axes = tuple(range(1, shown.ndim))                      # each image stretched to 0..255, as a viewer shows it
    low, high = shown.min(axis=axes, keepdims=True), shown.max(axis=axes, keepdims=True)
    shown = 255 * (shown - low) / np.where(high > low, high - low, 1)
    return {"originals": picture(originals), "disguised": picture(shown), "reconstructed": picture(recon),
            "labels": np.asarray(labels[:n])}


def _attack(point: GridPoint, cfg: DictConfig) -> dict[str, Any]:
    import mlflow

    # The run spans the attack, so that its duration in the UI is the attack's (a failed attack is a FAILED run).
    with start_run(cfg, point.key, kind="attack", extra_tags={"attack": cfg.attack.name}) as active:
        result = attack(point, cfg)
        metrics = dict(result.metrics)
        if active is None:  # an extra process of a multi-process run: rank 0 tracks
            return metrics
        log_data_inputs(point.data_inputs(public=ATTACKS[cfg.attack.name].needs_public), cfg)
        mlflow.set_tags(result.tags)
        mlflow.log_params(result.params)
        mlflow.log_metrics(metrics)
        m = result.params["attack.known_pairs"]
        title = (f"{cfg.attack.name} attack on {cfg.mechanism.name} ({m} known pairs): success "
                 f"{metrics['success_rate']:.1f}% (paper-protocol examiner {metrics['success_rate_paper']:.1f}%), "
                 f"linkage {metrics['linkage_rate']:.1f}%, SSIM {metrics['ssim']:.2f}\nclean-up: {result.tags['cleanup']}")
        originals, disguised, recon, labels = result.gallery
        fig = attack_gallery(originals, disguised, recon, labels,
                             per_class=int(cfg.attack.get("gallery_per_class", 2)), title=title)
        mlflow.log_figure(fig, "gallery.png")
        _log_arrays(_samples(originals, disguised, recon, labels), SAMPLES)
        metrics["run_id"] = active.info.run_id
    return metrics
