"""The attack task (docs/method.md §4): disguise, attack, clean up, score.

Known pairs are drawn from the owner's training sample, attacked images are the test sample,
"observed" data is the disguised training sample the cloud holds, and public images (level (a))
are training images outside the owner's sample; each attack gets only what it declares
(:data:`disguisednets.attacks.registry.ATTACKS`). The attacker knows the public settings (b, the unit,
the mode, the noise), not π: an attack that puts blocks back in place uses π̂, estimated from what its
threat level grants (:mod:`disguisednets.attacks.permutation_estimate`) — the disguised data the cloud
holds against public images (and its own known originals), plus, at level (b), the fit of its pairs —
and logs how much of π it got right. ``attack.knows_permutation=true`` hands it the true π instead: an
upper bound, labelled as such.

Every reconstruction ends with the attacker's clean-up (:mod:`disguisednets.attacks.cleanup`;
``attack.cleanup=false`` scores the raw map) and is scored three ways: success under the robust
examiner, success under the paper-protocol examiner (the baseline model of the run's scale), and
the examiner-free linkage rate; plus SSIM and MSE. Scores are taken at the dataset's own image
size (padding cropped off: it is known and zero). Every accuracy and rate is in %. On InstaHide,
whose encodings mix k private images, ``linkage_rate_any`` also counts a reconstruction whose best
match is any of the k (a private image revealed, if not the encoding's own).

Colour (docs/method.md §4 "Colour"): the mechanisms that apply one key to every channel (none, the block
permutation, RMT, AES, DP pixelization) are attacked with the channels folded into the batch — each
channel of an image is one more image under the same key, which is what the attacker knows — and the
reconstruction is scored in colour (examiners on C channels, linkage on the whole colour vector, SSIM per
channel). A scheme that mixes channels (EtC's colour shuffle, the learnable encryption, InstaHide) is
refused on colour, but for the direct attack where its images keep their shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from omegaconf import DictConfig

from disguisednets.attacks import hit_rates, images_recovered, linkage_rate, mse, recovered_ssim, ssim, success_rate
from disguisednets.attacks._units import as_units
from disguisednets.attacks.cleanup import Cleanup, fit_cleanup, prior_cleanup
from disguisednets.attacks.examiner import paper_examiner, robust_examiner
from disguisednets.attacks.permutation_estimate import ESTIMABLE, estimate_permutation, placement_scores
from disguisednets.attacks.registry import (ATTACKS, Attack, AttackerView, Knowledge, as_picture, attacker_view,
                                           cross_fit)
from disguisednets.gridpoint import STREAM_ATTACK, STREAM_PERMUTATION, GridPoint
from disguisednets.mechanisms.blocks import gather_blocks

__all__ = ["AttackResult", "attack", "fold_channels", "score", "unfold_channels"]

# Schemes that apply one key to every colour channel: their attacks run per channel (folded into the batch).
_ONE_KEY_PER_CHANNEL = ("none", "permutation", "rmt", "aes_ecb", "aes_cbc", "dp_pixelization")


def fold_channels(images: np.ndarray | None) -> np.ndarray | None:
    """(N, H, W, C) → (N·C, H, W), image-major (each image's channels together); others as they are."""
    if images is None or np.ndim(images) != 4:
        return images
    n, h, w, c = images.shape
    return np.moveaxis(np.asarray(images), -1, 1).reshape(n * c, h, w)


def unfold_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """The inverse of :func:`fold_channels` for ``channels`` ≥ 1 (0: grayscale, as it is)."""
    if not channels:
        return images
    nc, h, w = images.shape
    return np.ascontiguousarray(np.moveaxis(images.reshape(nc // channels, channels, h, w), 1, -1))


def _check_colour(name: str, mechanism: str, same_shape: bool, colour_aware: bool = False) -> None:
    if mechanism in _ONE_KEY_PER_CHANNEL or (name == "direct" and same_shape) or colour_aware:
        return
    raise ValueError(f"The {name} attack on colour images: {mechanism} mixes colour channels (or images), so its "
                     "attack cannot run channel by channel. On colour, attacks run for the schemes that apply one key "
                     f"to every channel ({', '.join(_ONE_KEY_PER_CHANNEL)}); attack.name=direct shows what the cloud "
                     "sees. Use grayscale images for this scheme's attacks.")


@dataclass
class AttackResult:
    """Metrics (rates and accuracies in %), params and tags to record, and the images of the gallery."""

    metrics: dict[str, float]
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    gallery: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # originals, disguised, recon, labels


def _cleanup(attack: Attack, view: AttackerView, options, raw: np.ndarray, known_plain: np.ndarray,
             known_disguised: np.ndarray, public: np.ndarray | None, rng: np.random.Generator) -> Cleanup:
    """The clean-up this attacker can fit (docs/method.md §4): on cross-fitted known pairs when it has two or
    more (and the attack is cheap enough to refit per fold), else a background prior from the originals it holds
    (its pairs, else public images)."""
    m = len(known_plain)
    if attack.needs_pairs and attack.cross_fits and m >= 2:
        return fit_cleanup(*cross_fit(attack, view, options, known_plain, known_disguised, rng),
                           fitted_on=f"cross-fitted reconstructions of the {m} known pairs")
    if m >= 1:
        return prior_cleanup(raw, known_plain, fitted_on=f"the background share of the {m} known original(s)")
    if public is None or len(public) == 0:
        raise ValueError(f"The {attack.name} attack's clean-up needs public images (training images outside the "
                         "owner's sample), but the owner's sample takes every training image. Set "
                         "dataset.train_size (e.g. dataset.train_size=45000), or attack.cleanup=false to score "
                         "the raw map.")
    return prior_cleanup(raw, public, fitted_on="the background share of public images")


def _public_images(pool: np.ndarray, size: int | None, name: str) -> np.ndarray:
    if size is None:
        return pool
    if size > len(pool):
        raise ValueError(f"The {name} attack asks for {size} public images, but only {len(pool)} training "
                         "images lie outside the owner's sample. Lower attack.public_size or dataset.train_size.")
    return pool[:size]


def _estimated_permutation(view: AttackerView, a, point: GridPoint, observed: np.ndarray | None,
                           known_plain: np.ndarray, known_disguised: np.ndarray,
                           uses_pairs: bool, fold=lambda x: x) -> tuple[AttackerView, str]:
    """The attacker's view with π̂ in place of π, and what π̂ was estimated from (docs/method.md §4 "Finding π").
    The cloud holds the disguised training data at both threat levels; the public images it may use are
    the training images outside the owner's sample and the originals of its known pairs."""
    if view.mechanism == "none":
        return view, "the identity (no disguise moves a block)"
    if view.mechanism not in ESTIMABLE:
        raise ValueError(f"An attack that puts blocks back needs π, and π is estimated only for {', '.join(ESTIMABLE)}; "
                         f"the {view.mechanism} scheme's π has its own attack (jigsaw, known_pair). Set "
                         "attack.knows_permutation=true to hand this attack the true π (an upper bound).")
    rng = point.rng(STREAM_PERMUTATION)  # its own stream: the attack's draws stay those of a run handed π
    limit = int(a.get("permutation_images", 20000))
    train_x = point.splits.train[0]
    observed = fold(point.disguise(train_x[:limit], rng)) if observed is None else observed[:limit]
    pool = fold(point.splits.public[:limit] if point.splits.public is not None else train_x[:0])
    public = np.concatenate([pool, known_plain]) if len(known_plain) else pool
    pihat, used = estimate_permutation(
        view.mechanism, view.block_size, observed=observed, public=public if len(public) else None,
        known_plain=known_plain if uses_pairs else None, known_disguised=known_disguised if uses_pairs else None,
        noise=view.noise, unit=view.unit, kind=view.kind, mode=view.mode, rng=rng)
    return replace(view, permutation=pihat), f"estimated from {used}"


def score(recon: np.ndarray, originals: np.ndarray, labels: np.ndarray, robust, paper,
          on_originals: tuple[float, float] | None = None) -> dict[str, float]:
    """Success under both examiners, linkage, examiner accuracies (all %), SSIM and MSE, at the
    examiners' image size. ``on_originals``: the two examiners' accuracies (0..1) on the originals."""
    recon_v, orig_v = robust.view(recon), robust.view(originals)
    acc_robust, acc_paper = on_originals or (robust.accuracy(orig_v, labels), paper.accuracy(orig_v, labels))
    attacked_robust, attacked_paper = robust.accuracy(recon_v, labels), paper.accuracy(recon_v, labels)
    return {
        "success_rate": success_rate(attacked_robust, acc_robust),
        "success_rate_paper": success_rate(attacked_paper, acc_paper),
        "linkage_rate": linkage_rate(recon_v, orig_v),
        "ssim": ssim(np.clip(recon_v, 0, 255), orig_v),
        "mse": mse(recon_v, orig_v),
        "examiner_acc_original": 100 * acc_robust,
        "examiner_acc_attacked": 100 * attacked_robust,
        "paper_examiner_acc_original": 100 * acc_paper,
        "paper_examiner_acc_attacked": 100 * attacked_paper,
    }


def attack(point: GridPoint, cfg: DictConfig) -> AttackResult:
    """Attack the point's disguise with ``cfg.attack``."""
    t_start = time.perf_counter()
    a = cfg.attack
    spec = ATTACKS[a.name]
    splits = point.splits
    train_x = splits.train[0]
    test_x, test_y = splits.test
    if spec.needs_epochs and a.get("private_images"):  # the attack's cost grows with the square of the set
        test_x, test_y = test_x[:int(a.private_images)], test_y[:int(a.private_images)]
    m = len(train_x) if a.get("known_pairs") is None else int(a.known_pairs)
    if not 0 <= m <= len(train_x):
        raise ValueError(f"attack.known_pairs must be between 0 and {len(train_x)}; got {m}.")
    if spec.needs_pairs and m < 1:
        raise ValueError(f"The {a.name} attack needs at least one known pair (attack.known_pairs ≥ 1).")
    if not spec.needs_pairs and m > 0:
        raise ValueError(f"The {a.name} attack (threat level (a)) uses no known pairs; set attack.known_pairs=0.")
    view = attacker_view(point.key, a.get("unit"), bool(a.get("knows_permutation", True)), splits.image_hw)
    channels = int(test_x.shape[3]) if test_x.ndim == 4 else 0
    if channels:
        same_shape = tuple(point.mechanism.disguise(test_x[:1]).shape[1:]) == tuple(test_x.shape[1:])
        _check_colour(a.name, view.mechanism, same_shape, spec.colour_aware)
    robust, paper = robust_examiner(cfg), paper_examiner(cfg)

    rng = point.rng(STREAM_ATTACK)
    known = rng.choice(len(train_x), size=m, replace=False)
    known_plain = train_x[known]
    known_disguised = point.disguise(known_plain, rng)
    partners = None
    if getattr(point.mechanism, "mixes_labels", False):  # InstaHide: keep which images each encoding mixes (scoring)
        target, _, secrets = point.mechanism.encode(test_x, None, rng)
        partners = secrets["partners"]
    else:
        target = point.disguise(test_x, rng)
    observed = point.disguise(train_x, rng) if spec.needs_observed else None
    if spec.needs_epochs:  # the cloud's encodings of the same private set in the other epochs, each epoch in a new order
        if partners is None:
            raise ValueError(f"The {a.name} attack reads a scheme that encodes afresh every epoch (instahide); "
                             f"got {point.mechanism.name}.")
        others = [point.mechanism.encode(test_x, None, rng)[0][rng.permutation(len(test_x))]
                  for _ in range(int(a.epochs) - 1)]
        observed = np.concatenate(others) if others else target[:0]
    public = _public_images(splits.public, a.get("public_size"), a.name) if spec.needs_public else None
    shown = target                           # the disguised test images as they are (the gallery's)
    fold = bool(channels) and a.name != "direct" and not spec.colour_aware
    if fold:                                 # one key for every channel: each channel is one more image
        target, known_plain, known_disguised, observed, public = map(
            fold_channels, (target, known_plain, known_disguised, observed, public))
    folded_public = fold_channels(splits.public) if fold else splits.public
    estimated = None
    if spec.places_blocks and not view.knows_permutation:
        view, estimated = _estimated_permutation(view, a, point, observed, known_plain, known_disguised,
                                                 spec.needs_pairs, fold=fold_channels if channels else lambda x: x)
    knowledge = Knowledge(view, target, known_plain=known_plain if spec.needs_pairs else None,
                          known_disguised=known_disguised if spec.needs_pairs else None, observed=observed,
                          public=public)

    t0 = time.perf_counter()
    result = spec.reconstruct(knowledge, a)
    raw = result.images
    cleanup = None
    if a.name != "direct" and a.get("cleanup", True):
        cleanup = _cleanup(spec, view, a, raw, known_plain, known_disguised,
                           public if public is not None else folded_public, rng)
        recon = cleanup(raw)
    else:
        recon = raw
    attack_s = time.perf_counter() - t0
    if fold:                                 # scored in colour
        raw, recon = unfold_channels(raw, channels), unfold_channels(recon, channels)

    on_originals = (robust.accuracy(test_x, test_y), paper.accuracy(test_x, test_y))
    metrics = {**score(recon, test_x, test_y, robust, paper, on_originals), "attack_time_s": attack_s,
               "test_images": float(len(test_x)), **result.extras}
    if cleanup is not None:  # the raw map, under the robust examiner and linkage only
        raw_v = robust.view(raw)
        metrics.update({"success_rate_raw": success_rate(robust.accuracy(raw_v, test_y), on_originals[0]),
                        "linkage_rate_raw": linkage_rate(raw_v, robust.view(test_x)),
                        "cleanup_sigma": cleanup.sigma, "cleanup_threshold": cleanup.threshold})
    if partners is not None:  # the reconstruction matches one of the k private images mixed into its encoding
        metrics["linkage_rate_any"] = linkage_rate(robust.view(recon), robust.view(test_x), candidates=partners)
        metrics["images_recovered"] = images_recovered(robust.view(recon), robust.view(test_x), partners)
        close = recovered_ssim(recon, test_x, partners)   # on the images' own pixels, as ``ssim``
        if np.isfinite(close):
            metrics["ssim_recovered"] = close
    if spec.places_blocks and len(view.true_permutation):
        metrics.update(placement_scores(view.permutation, view.true_permutation, fold_channels(test_x),
                                        view.block_size))
    metrics.update({f"examiner_calib_{k}": v for k, v in robust.calibration.items()})
    metrics["examiner_calib_worst"] = robust.worst_calibration
    metrics["paper_examiner_calib_worst"] = paper.worst_calibration
    if result.hits is not None:
        truth = as_units(gather_blocks(fold_channels(test_x), view.block_size, view.true_permutation),
                         view.unit).any(axis=-1)
        metrics.update(hit_rates(result.hits, truth))
    tags = {"attack": a.name, "threat_level": spec.threat, "examiner": robust.name, "paper_examiner": paper.name,
            "train_run_id": paper.run_id or "none (trained by an attack run)",
            "cleanup": cleanup.describe() if cleanup is not None else "none (raw map)"}
    if spec.places_blocks:
        tags["permutation"] = ("none (no disguise moves a block)" if view.mechanism == "none" else
                               estimated or "given (the true π: an upper bound)")
    metrics["total_time_s"] = time.perf_counter() - t_start
    return AttackResult(metrics, params={"attack.known_pairs": str(m)}, tags=tags,
                        gallery=(test_x, as_picture(view, shown), recon, test_y))
