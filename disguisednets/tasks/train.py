"""The training task (docs/method.md §3): disguise a grid point's splits, train the model on the
disguised training images, test it on the disguised test images (in the remapped label space)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from omegaconf import DictConfig

from disguisednets.gridpoint import GridPoint
from disguisednets.models import build_model
from disguisednets.training import fit_classifier

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """Metrics (accuracies in %, times in s), tags, and the trained module with its data module."""

    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)
    module: object = None
    data: object = None


def train(point: GridPoint, cfg: DictConfig, callbacks: list | None = None) -> TrainResult:
    """Train ``cfg.model`` with ``cfg.trainer`` on the point's disguised data."""
    trainer = cfg.trainer
    if trainer.get("num_threads"):
        torch.set_num_threads(int(trainer.num_threads))
    t0 = time.perf_counter()
    train_split, val_split, test_split = point.disguised_splits()
    disguise_s = time.perf_counter() - t0
    splits = point.splits
    images = train_split[0]
    model = build_model(cfg.model, splits.image_shape[0], point.n_outputs, seed=point.seed,
                        in_channels=images.shape[3] if images.ndim == 4 else 1,
                        adaptation_block=getattr(point.mechanism, "adaptation_block", None))
    module, data, test_acc = fit_classifier(trainer, model, train_split, val_split, test_split, seed=point.seed,
                                            callbacks=callbacks, train_epoch=point.train_encodings(),
                                            standardize=not getattr(point.mechanism, "normalizes", False))
    info = module.device_info
    tags = {"device": "cpu (fallback: no CUDA device)" if info["fallback"] else str(module.device),
            "precision": info["precision"]}  # what ran (trainer.precision may say auto)
    # test_acc: a float32 mean of 0/1 hits; 4 decimals of a percentage keep every count of up to 10^6 test images
    metrics = {"test_acc": round(100 * test_acc, 4), "disguise_time_s": disguise_s, "train_images": float(len(train_split[0])),
               "test_images": float(len(test_split[0]))}
    return TrainResult(metrics, tags, module, data)
