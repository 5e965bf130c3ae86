"""One attack run: disguise, attack, clean up, score, log (docs/method.md §4).

Known pairs are drawn from the owner's training sample, attacked images are the test sample,
"observed" data is the disguised training sample the cloud holds, and public images (level (a))
are training images outside the owner's sample. The attacker knows b, u and the mode, and π
unless ``attack.knows_permutation`` is false.

Every reconstruction ends with the attacker's clean-up (:mod:`disguisednets.attacks.cleanup`;
``attack.cleanup=false`` scores the raw map) and is scored three ways: success under the robust
examiner, success under the paper-protocol examiner (the baseline model of the run's scale), and
the examiner-free linkage rate; plus SSIM and MSE. Scores are taken at the dataset's own image
size (padding cropped off: it is known and zero).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig

from disguisednets.attacks import (codebook_attack, covariance_attack, frequency_attack, hit_rates, jigsaw_attack,
                                   linkage_rate, mse, regression_attack, ssim, success_rate)
from disguisednets.attacks._units import as_units
from disguisednets.attacks.cleanup import Cleanup, fit_cleanup, prior_cleanup
from disguisednets.attacks.examiner import paper_examiner, robust_examiner
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks

__all__ = ["ATTACKS", "PAIR_ATTACKS", "AttackerView", "cross_fit", "run_attack"]

ATTACKS = ("direct", "codebook", "regression", "frequency", "covariance", "jigsaw")
PAIR_ATTACKS = ("codebook", "regression")   # level (b): fitted on known pairs


@dataclass(frozen=True)
class AttackerView:
    """What the attacker knows of the disguise: geometry, unit, mode, and π or not."""

    image_shape: tuple[int, int]
    block_size: int
    unit: int
    mode: str
    permutation: np.ndarray      # what the attacker uses: the true π, or the identity if unknown
    true_permutation: np.ndarray  # for scoring only

    @property
    def grid(self) -> tuple[int, int]:
        return self.image_shape[0] // self.block_size, self.image_shape[1] // self.block_size


def attacker_view(key, attack_cfg: DictConfig, image_shape: tuple[int, int]) -> AttackerView:
    unit = int(attack_cfg.get("unit") or 1)
    if key is None:  # no disguise: the largest block of at most 8 px that divides the image, identity π
        side = math.gcd(*image_shape)
        b = max(d for d in range(1, min(side, 8) + 1) if side % d == 0)
        t = (image_shape[0] // b) * (image_shape[1] // b)
        return AttackerView(image_shape, b, unit, "matrix", np.arange(t), np.arange(t))
    spec = key.spec
    true = key.array("permutation")
    perm = true if attack_cfg.get("knows_permutation", True) else np.arange(len(true))
    return AttackerView(image_shape, key.block_size, int(spec.get("unit", unit)), spec.get("mode", "matrix"),
                        perm, true)


def _check_unit(view: AttackerView, name: str) -> None:
    if (view.block_size ** 2) % view.unit:
        raise ValueError(f"The {name} attack needs b·b to be a multiple of the unit size: b={view.block_size}, "
                         f"u={view.unit}. Set attack.unit to a divisor of {view.block_size ** 2}.")


def reconstruct(name: str, view: AttackerView, a: DictConfig, *, known_plain, known_disguised, target,
                observed, public) -> tuple[np.ndarray, dict[str, float], np.ndarray | None]:
    """Run attack ``name``; return reconstructed images (N, H, W), extra metrics, and per-unit hits."""
    b, perm, shape = view.block_size, view.permutation, view.image_shape
    target_blocks = gather_blocks(target, b)
    extras: dict[str, float] = {}
    hits = None
    if name == "direct":
        return np.asarray(target, np.float32), extras, None
    if name == "codebook":
        _check_unit(view, name)
        blocks, hits = codebook_attack(gather_blocks(known_plain, b, perm), gather_blocks(known_disguised, b),
                                       target_blocks, unit=view.unit, miss_fill=a.miss_fill,
                                       foreground_value=a.get("foreground_value"))
    elif name == "regression":
        blocks = regression_attack(gather_blocks(known_plain, b, perm), gather_blocks(known_disguised, b),
                                   target_blocks, mode=view.mode, form=a.form)
    elif name == "frequency":
        _check_unit(view, name)
        blocks = frequency_attack(gather_blocks(observed, b), target_blocks, unit=view.unit,
                                  foreground_value=a.foreground_value)
    elif name == "covariance":
        blocks = covariance_attack(gather_blocks(public, b, perm), gather_blocks(observed, b), target_blocks,
                                   mode=view.mode)
    elif name == "jigsaw":
        if b < 2:
            raise ValueError("The jigsaw attack needs blocks of at least 2×2 pixels.")
        ring = np.concatenate([public[:, 0], public[:, -1], public[:, :, 0], public[:, :, -1]], axis=1)
        perm_hat = jigsaw_attack(gather_blocks(observed, b), view.grid, border_value=float(ring.mean()),
                                 starts=int(a.starts), seed=int(a.get("seed", 0)))
        extras["permutation_recovered"] = float(np.mean(perm_hat == view.true_permutation))
        return scatter_blocks(target_blocks, shape, perm_hat).astype(np.float32), extras, None
    else:
        raise ValueError(f"Unknown attack {name!r}; choose one of {', '.join(ATTACKS)}.")
    return scatter_blocks(blocks, shape, perm).astype(np.float32), extras, hits


def cross_fit(name: str, view: AttackerView, a: DictConfig, known_plain: np.ndarray, known_disguised: np.ndarray,
              rng: np.random.Generator, folds: int = 5, max_images: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample reconstructions of the attacker's own known images: the pairs are split into
    ``min(folds, m)`` groups, and (up to ``max_images`` in all of) each group's disguised images are
    reconstructed by the attack fitted on the other groups. Returns (reconstructions, originals),
    what the attacker may fit its clean-up on. Needs m ≥ 2."""
    m = len(known_plain)
    if m < 2:
        raise ValueError("Cross-fitting needs at least two known pairs.")
    groups = np.array_split(rng.permutation(m), min(folds, m))
    per_group = max(1, max_images // len(groups))
    recon, truth = [], []
    for g in groups:  # ≤ 5 fits, each over all its images at once
        rest = np.setdiff1d(np.arange(m), g, assume_unique=True)
        held = g[:per_group]
        r, _, _ = reconstruct(name, view, a, known_plain=known_plain[rest], known_disguised=known_disguised[rest],
                              target=known_disguised[held], observed=None, public=None)
        recon.append(r)
        truth.append(known_plain[held])
    return np.concatenate(recon), np.concatenate(truth)


def attacker_cleanup(name: str, view: AttackerView, a: DictConfig, raw: np.ndarray, known_plain: np.ndarray,
                     known_disguised: np.ndarray, public: np.ndarray | None, rng: np.random.Generator) -> Cleanup:
    """The clean-up this attacker can fit (docs/method.md §4): on cross-fitted known pairs when it has two or
    more, else a background prior from the originals it holds (its pair, else public images)."""
    m = len(known_plain)
    if name in PAIR_ATTACKS and m >= 2:
        return fit_cleanup(*cross_fit(name, view, a, known_plain, known_disguised, rng),
                           fitted_on=f"cross-fitted reconstructions of the {m} known pairs")
    if m >= 1:
        return prior_cleanup(raw, known_plain, fitted_on=f"the background share of the {m} known original(s)")
    if public is None or len(public) == 0:
        raise ValueError(f"The {name} attack's clean-up needs public images (training images outside the owner's "
                         "sample), but the owner's sample takes every training image. Set dataset.train_size "
                         "(e.g. dataset.train_size=45000), or attack.cleanup=false to score the raw map.")
    return prior_cleanup(raw, public, fitted_on="the background share of public images")


def _public_images(splits, size: int | None, name: str) -> np.ndarray:
    pool = splits.public
    if size is None:
        return pool
    if size > len(pool):
        raise ValueError(f"The {name} attack asks for {size} public images, but only {len(pool)} training "
                         "images lie outside the owner's sample. Lower attack.public_size or dataset.train_size.")
    return pool[:size]


def score(recon: np.ndarray, originals: np.ndarray, labels: np.ndarray, robust, paper,
          on_originals: tuple[float, float] | None = None) -> dict[str, float]:
    """Success under both examiners (%), linkage (%), SSIM and MSE, at the examiners' image size.
    ``on_originals``: the two examiners' accuracies on the originals, if already known."""
    recon_v, orig_v = robust.view(recon), robust.view(originals)
    acc_robust, acc_paper = on_originals or (robust.accuracy(orig_v, labels), paper.accuracy(orig_v, labels))
    attacked_robust, attacked_paper = robust.accuracy(recon_v, labels), paper.accuracy(recon_v, labels)
    return {
        "success_rate": success_rate(attacked_robust, acc_robust),
        "success_rate_paper": success_rate(attacked_paper, acc_paper),
        "linkage_rate": linkage_rate(recon_v, orig_v),
        "ssim": ssim(np.clip(recon_v, 0, 255), orig_v),
        "mse": mse(recon_v, orig_v),
        "examiner_acc_original": acc_robust,
        "examiner_acc_attacked": attacked_robust,
        "paper_examiner_acc_original": acc_paper,
        "paper_examiner_acc_attacked": attacked_paper,
    }


def run_attack(cfg: DictConfig) -> dict[str, Any]:
    """One attack grid point; returns its metrics (rates in %, accuracies in 0..1)."""
    import mlflow

    from disguisednets.mechanisms import NoDisguise, make_mechanism
    from disguisednets.pipeline import build_key, load_splits
    from disguisednets.report import attack_gallery
    from disguisednets.tracking import start_run

    t_start = time.perf_counter()
    a = cfg.attack
    if a.name not in ATTACKS:
        raise ValueError(f"Unknown attack {a.name!r}; choose one of {', '.join(ATTACKS)}.")
    splits = load_splits(cfg)
    key = build_key(cfg, splits.image_shape, splits.n_classes)
    mechanism = NoDisguise() if key is None else make_mechanism(key)
    view = attacker_view(key, a, splits.image_shape)
    robust, paper = robust_examiner(cfg), paper_examiner(cfg)

    rng = np.random.default_rng([int(cfg.seed), 2])
    train_x = splits.train[0]
    test_x, test_y = splits.test
    m = len(train_x) if a.get("known_pairs") is None else int(a.known_pairs)
    if not 0 <= m <= len(train_x):
        raise ValueError(f"attack.known_pairs must be between 0 and {len(train_x)}; got {m}.")
    if a.name in PAIR_ATTACKS and m < 1:
        raise ValueError(f"The {a.name} attack needs at least one known pair (attack.known_pairs ≥ 1).")
    known = rng.choice(len(train_x), size=m, replace=False)
    known_plain = train_x[known]
    known_disguised = mechanism.disguise(known_plain, rng=rng)
    target = mechanism.disguise(test_x, rng=rng)
    observed = mechanism.disguise(train_x, rng=rng) if a.name in ("frequency", "covariance", "jigsaw") else None
    public = _public_images(splits, a.get("public_size"), a.name) if a.name in ("covariance", "jigsaw") else None

    t0 = time.perf_counter()
    raw, extras, hits = reconstruct(a.name, view, a, known_plain=known_plain, known_disguised=known_disguised,
                                    target=target, observed=observed, public=public)
    cleanup = None
    if a.name != "direct" and a.get("cleanup", True):
        cleanup = attacker_cleanup(a.name, view, a, raw, known_plain, known_disguised,
                                   public if public is not None else splits.public, rng)
        recon = cleanup(raw)
    else:
        recon = raw
    attack_s = time.perf_counter() - t0

    on_originals = (robust.accuracy(test_x, test_y), paper.accuracy(test_x, test_y))
    metrics = {**score(recon, test_x, test_y, robust, paper, on_originals), "known_pairs": float(m),
               "attack_time_s": attack_s, **extras}
    if cleanup is not None:  # the raw map, under the robust examiner and linkage only
        raw_v = robust.view(raw)
        metrics.update({"success_rate_raw": success_rate(robust.accuracy(raw_v, test_y), on_originals[0]),
                        "linkage_rate_raw": linkage_rate(raw_v, robust.view(test_x)),
                        "cleanup_sigma": cleanup.sigma, "cleanup_threshold": cleanup.threshold})
    metrics.update({f"examiner_calib_{k}": v for k, v in robust.calibration.items()})
    metrics["examiner_calib_worst"] = robust.worst_calibration
    metrics["paper_examiner_calib_worst"] = paper.worst_calibration
    if hits is not None:
        truth = as_units(gather_blocks(test_x, view.block_size, view.true_permutation), view.unit).any(axis=-1)
        metrics.update(hit_rates(hits, truth))
    tags = {"attack": a.name, "examiner": robust.name, "paper_examiner": paper.name,
            "cleanup": cleanup.describe() if cleanup is not None else "none (raw map)"}
    with start_run(cfg, key, extra_tags=tags) as active:
        metrics["total_time_s"] = time.perf_counter() - t_start
        mlflow.log_metrics(metrics)
        title = (f"{a.name} attack on {cfg.mechanism.name} (m = {m}): success {metrics['success_rate']:.1f}% "
                 f"(paper-protocol examiner {metrics['success_rate_paper']:.1f}%), linkage "
                 f"{metrics['linkage_rate']:.1f}%, SSIM {metrics['ssim']:.2f}\nclean-up: {tags['cleanup']}")
        fig = attack_gallery(test_x, target, recon, test_y, per_class=int(a.get("gallery_per_class", 2)),
                             title=title)
        mlflow.log_figure(fig, "gallery.png")
        metrics["run_id"] = active.info.run_id
    return metrics
