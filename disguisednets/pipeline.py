"""One grid point end to end (docs/method.md §2–§3): load → sample → disguise → train → test → log.

Kept apart from ``experiments/run.py`` so that the tests and other entry points call the same
function with a composed config.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from disguisednets.data import Dataset, load_dataset, pad_to
from disguisednets.keys import DisguiseKey, generate_key, load_key
from disguisednets.mechanisms import NoDisguise, make_mechanism
from disguisednets.models import build_model
from disguisednets.tracking import MLflowEpochMetrics, find_finished_run, is_rank_zero, start_run
from disguisednets.training import fit_classifier

__all__ = ["Splits", "load_splits", "build_key", "run"]

# Lightning advertises a cloud logger on every Trainer; our runs log to MLflow.
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
    lambda record: "litlogger" not in record.getMessage())
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    """Original (not yet disguised) images and labels of one fold."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    n_classes: int
    public: np.ndarray | None = None  # training images outside the owner's sample (attacks' public data)

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.train[0].shape[1:])  # type: ignore[return-value]


def _sample(n: int, size: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    if size is None:
        return rng.permutation(n)
    if not 0 < size <= n:
        raise ValueError(f"dataset.{what} must be between 1 and {n}; got {size}.")
    return rng.permutation(n)[:size]


def load_splits(cfg: DictConfig) -> Splits:
    """Load the dataset and draw this fold's train/val/test samples (seeded by ``cfg.seed``)."""
    d = cfg.dataset
    ds: Dataset = load_dataset(d.name, d.data_dir)
    rng = np.random.default_rng([int(cfg.seed), 0])
    train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
    if d.pad_to:
        train_x, test_x = pad_to(train_x, d.pad_to), pad_to(test_x, d.pad_to)
    val_size = int(d.val_size or 0)
    if val_size >= len(train_x):
        raise ValueError(f"dataset.val_size ({val_size}) must be smaller than the training set ({len(train_x)}).")
    order = rng.permutation(len(train_x))
    val_idx, rest = order[:val_size], order[val_size:]
    train_idx = rest[_sample(len(rest), d.train_size, rng, "train_size")]
    test_idx = np.sort(_sample(len(test_x), d.test_size, rng, "test_size"))
    public_idx = np.setdiff1d(rest, train_idx, assume_unique=True)
    return Splits(
        train=(train_x[train_idx], train_y[train_idx]),
        val=(train_x[val_idx], train_y[val_idx]) if val_size else None,
        test=(test_x[test_idx], test_y[test_idx]),
        n_classes=ds.n_classes,
        public=train_x[np.sort(public_idx)],
    )


def build_key(cfg: DictConfig, image_shape: tuple[int, int], n_classes: int) -> DisguiseKey | None:
    """The run's key: loaded from ``key.path`` or drawn from ``seed`` as an experiment key."""
    m = cfg.mechanism
    if m.name == "none":
        return None
    if cfg.key.get("path"):
        key = load_key(cfg.key.path, mechanism=m.name)
        if key.image_shape != tuple(image_shape):
            raise ValueError(f"The key file is for images {key.image_shape}; the data are {tuple(image_shape)}.")
        return key
    settings = {k: v for k, v in m.items() if k not in ("name", "block_size", "pad_to")}
    return generate_key(m.name, image_shape, m.block_size, n_classes=n_classes,
                        noise=dict(cfg.noise), seed=int(cfg.seed), **settings)


def _disguise(mechanism, split, rng):
    images, labels = split
    return mechanism.disguise(images, rng=rng), mechanism.disguise_labels(labels)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run one grid point; return its metrics (test_acc in 0..1, times in seconds).

    With an attack configured (``attack`` ≠ none) the run attacks instead of training; see
    :func:`disguisednets.attacks.runner.run_attack`. With ``resume`` (the default) a grid point that
    already finished with the same resolved config and code version is skipped, and its metrics
    are returned with ``skipped=True``.
    """
    if cfg.get("resume", True) and is_rank_zero():
        done = find_finished_run(cfg)
        if done is not None:
            log.info("Skipping %s: run %s finished it with the same config and code version (resume=false "
                     "reruns it).", done.info.run_name, done.info.run_id)
            return {**done.data.metrics, "run_id": done.info.run_id, "skipped": True}
    if cfg.get("attack") is not None and cfg.attack.name != "none":
        from disguisednets.attacks.runner import run_attack

        return run_attack(cfg)
    t_start = time.perf_counter()
    t = cfg.trainer
    if t.get("num_threads"):
        torch.set_num_threads(int(t.num_threads))
    splits = load_splits(cfg)
    key = build_key(cfg, splits.image_shape, splits.n_classes)
    mechanism = NoDisguise() if key is None else make_mechanism(key)
    noise_rng = np.random.default_rng([int(cfg.seed), 1])  # fresh per image, reproducible per fold

    t0 = time.perf_counter()
    train = _disguise(mechanism, splits.train, noise_rng)
    val = _disguise(mechanism, splits.val, noise_rng) if splits.val is not None else None
    test = _disguise(mechanism, splits.test, noise_rng)
    disguise_s = time.perf_counter() - t0

    model = build_model(cfg.model, splits.image_shape[0], splits.n_classes, seed=int(cfg.seed))
    with start_run(cfg, key) as active:  # None in a DDP run's extra processes: they do not track
        import mlflow

        module, data, test_acc = fit_classifier(t, model, train, val, test, seed=int(cfg.seed),
                                                callbacks=[MLflowEpochMetrics()])
        metrics = {
            "test_acc": test_acc,
            "disguise_time_s": disguise_s,
            "train_images": float(len(train[0])),
            "total_time_s": time.perf_counter() - t_start,
        }
        if active is None:
            return metrics
        if key is None and not cfg.dataset.pad_to:  # the baseline is the paper-protocol examiner (docs/method.md §4)
            from disguisednets.attacks.examiner import save_examiner

            mlflow.set_tag("paper_examiner", save_examiner(cfg, module.model, data.mean, data.std, splits.n_classes))
        mlflow.set_tag("device", "cpu (fallback: no CUDA device)" if module.device_info["fallback"]
                       else str(module.device))
        mlflow.set_tag("precision", module.device_info["precision"])  # what ran (trainer.precision may say auto)
        mlflow.log_metrics(metrics)
        metrics["run_id"] = active.info.run_id
    return metrics
