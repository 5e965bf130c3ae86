"""The model-theft task (the paper's claim that disguising protects the model too): after the model M
is trained on a grid point's disguised data, how much of it the cloud can use on plain images
(:mod:`disguisednets.attacks.theft`): directly, with the true disguise (its best case), and with a
disguise estimated from m known pairs (level b), classes recovered from those pairs."""

from __future__ import annotations

from omegaconf import DictConfig

from disguisednets.attacks.disguise_estimate import estimate_disguise, known_disguise
from disguisednets.attacks.registry import attacker_view
from disguisednets.attacks.theft import assigned_accuracy, class_map, theft_success
from disguisednets.gridpoint import GridPoint
from disguisednets.tasks.train import TrainResult
from disguisednets.training import predict_classes

__all__ = ["STREAM_THEFT", "theft"]

STREAM_THEFT = 3  # the fold's random stream for the cloud's known pairs


def theft(point: GridPoint, result: TrainResult, cfg: DictConfig) -> dict[str, float]:
    """Theft success (%) of each way the cloud can turn M into a plain-image classifier."""
    model, mean, std = result.module.model, result.data.mean, result.data.std
    predict = lambda images: predict_classes(model, mean, std, images)  # noqa: E731
    splits = point.splits
    x, y = splits.test
    train_x, train_y = splits.train
    n, owner = splits.n_classes, result.metrics["test_acc"]
    out = {"theft_direct": theft_success(assigned_accuracy(predict(x), y, n), owner)}
    if point.key is None:
        return out
    out["theft_true_disguise"] = theft_success(assigned_accuracy(predict(known_disguise(point.mechanism)(x)), y, n),
                                               owner)
    view = attacker_view(point.key, None, True, splits.image_shape)
    rng = point.rng(STREAM_THEFT)
    for m in cfg.theft.known_pairs:
        idx = rng.choice(len(train_x), size=int(m), replace=False)
        pairs = train_x[idx]
        estimate = estimate_disguise(point.key.mechanism, view.block_size, view.permutation, pairs,
                                     point.disguise(pairs, rng), unit=view.unit, mode=view.mode)
        stolen = predict(estimate(x))
        mapping = class_map(predict(estimate(pairs)), train_y[idx], n)   # classes from the cloud's own pairs
        out[f"theft_m{m}"] = theft_success(assigned_accuracy(stolen, y, n, mapping), owner)
        out[f"theft_m{m}_best_classes"] = theft_success(assigned_accuracy(stolen, y, n), owner)
    return out
