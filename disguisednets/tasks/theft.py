"""The model-theft task (the paper's claim that disguising protects the model too): after the model M
is trained on a grid point's disguised data, how much of it the cloud can use on plain images
(:mod:`disguisednets.attacks.theft`): directly, with the true disguise (its best case), and with a
disguise estimated from m known pairs (level b), classes recovered from those pairs. The cloud's
estimates put blocks in place by its own π̂ (:mod:`disguisednets.attacks.permutation_estimate`); the
``*_pi_given`` metrics repeat them with the true π, an upper bound."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from disguisednets.attacks.disguise_estimate import estimate_disguise, estimate_disguise_level_a, known_disguise
from disguisednets.attacks.inversion import class_representatives, inverse_estimate
from disguisednets.attacks.permutation_estimate import ESTIMABLE, estimate_permutation, placement_scores
from disguisednets.attacks.registry import attacker_view
from disguisednets.attacks.theft import assigned_accuracy, class_map, theft_success
from disguisednets.gridpoint import GridPoint
from disguisednets.tasks.train import TrainResult
from disguisednets.training import predict_classes

__all__ = ["STREAM_THEFT", "TheftResult", "theft"]

STREAM_THEFT = 3  # the fold's random stream for the cloud's known pairs


@dataclass
class TheftResult:
    metrics: dict[str, float]              # theft success (%) of each way, inversion_recognised (%)
    representatives: np.ndarray | None     # (classes, H, W) plain-space class representatives, by original class


def theft(point: GridPoint, result: TrainResult, cfg: DictConfig) -> TheftResult:
    """Theft success (%) of each way the cloud can turn M into a plain-image classifier, and the
    model-inversion representatives mapped back through the inverse estimated from the largest m."""
    model, mean, std = result.module.model, result.data.mean, result.data.std
    predict = lambda images: predict_classes(model, mean, std, images)  # noqa: E731
    splits = point.splits
    x, y = splits.test
    train_x, train_y = splits.train
    n, owner = point.n_outputs, result.metrics["test_acc"]
    out = {"theft_direct": theft_success(assigned_accuracy(predict(x), y, n), owner)}
    view = attacker_view(point.key, None, True, splits.image_shape)
    back = lambda images: np.clip(images, 0, 255)  # noqa: E731  (no disguise: the model's own space)
    if point.key is not None:
        out["theft_true_disguise"] = theft_success(
            assigned_accuracy(predict(known_disguise(point.mechanism)(x)), y, n), owner)
        rng = point.rng(STREAM_THEFT)
        mech, b = point.key.mechanism, view.block_size
        estimable = mech in ESTIMABLE
        observed = point.disguise(train_x, rng)
        public = splits.public[:5000] if splits.public is not None and len(splits.public) else None

        def pi_hat(**pairs):
            """The cloud's π̂ (or the true π where the scheme has its own way to π, or none)."""
            if not estimable:
                return view.permutation
            try:
                return estimate_permutation(mech, b, observed=observed[:20000], public=public, noise=view.noise,
                                            unit=view.unit, kind=view.kind, mode=view.mode, rng=rng, **pairs)[0]
            except ValueError:  # no public images and too few pairs: nothing to estimate from, blocks stay put
                return np.arange(len(view.permutation))

        if public is not None:   # level (a): disguised data + public images
            perms = {"": pi_hat(), "_pi_given": view.permutation} if estimable else {"": view.permutation}
            if estimable:
                placed = placement_scores(perms[""], view.true_permutation, x, b)
                out["theft_permutation_recovered"] = placed["permutation_recovered"]
                out["theft_pixels_placed"] = placed["pixels_placed"]
            draws = int(rng.integers(2 ** 63))  # π̂ and π given get the same noise draws: they differ only by π
            for suffix, perm in perms.items():
                level_a = estimate_disguise_level_a(mech, b, perm, observed, public, mode=view.mode, unit=view.unit,
                                                    noise=view.noise, rng=np.random.default_rng(draws))
                if level_a is not None:   # classes by the best assignment: the cloud has no labelled pair
                    out[f"theft_level_a{suffix}"] = theft_success(assigned_accuracy(predict(level_a(x)), y, n), owner)
        for m in cfg.theft.known_pairs:
            idx = rng.choice(len(train_x), size=int(m), replace=False)
            pairs, disguised = train_x[idx], point.disguise(train_x[idx], rng)
            perms = {"": pi_hat(known_plain=pairs, known_disguised=disguised)}
            if estimable:
                perms["_pi_given"] = view.permutation
            for suffix, perm in perms.items():
                estimate = estimate_disguise(mech, b, perm, pairs, disguised, unit=view.unit, mode=view.mode)
                stolen = predict(estimate(x))
                mapping = class_map(predict(estimate(pairs)), train_y[idx], n)   # classes from the cloud's own pairs
                out[f"theft_m{m}{suffix}"] = theft_success(assigned_accuracy(stolen, y, n, mapping), owner)
                out[f"theft_m{m}_best_classes{suffix}"] = theft_success(assigned_accuracy(stolen, y, n), owner)
            back = inverse_estimate(mech, b, perms[""], pairs, disguised, unit=view.unit, mode=view.mode)
    if not cfg.theft.get("inversion", False):
        return TheftResult(out, None)
    from disguisednets.attacks.examiner import robust_examiner

    reps = back(class_representatives(model, mean, std, n, seed=point.seed))   # by the model's (disguised) class
    by_class = point.mechanism.disguise_labels(np.arange(n))                  # original class → its disguised class
    reps = reps[by_class]
    examiner = robust_examiner(cfg)
    out["inversion_recognised"] = 100.0 * float(np.mean(examiner.predict(reps) == np.arange(n)))
    return TheftResult(out, examiner.view(reps).astype(np.float32))
