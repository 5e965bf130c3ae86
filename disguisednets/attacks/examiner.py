"""The DNN examiners (paper §V-B, docs/method.md §4): models of *original* images that stand in for a person
re-identifying a reconstruction by looking at it.

- The **robust examiner** (``conf/examiner/``): trained on all original training images of the
  dataset with augmentations a person shrugs off (:class:`disguisednets.augment.PersonInvariances`);
  one per dataset (seed ``examiner.seed``), whatever the fold and scale of the run that uses it: the
  same ruler for every reconstruction.
- The **paper-protocol examiner**: the baseline model of the run's own scale (same images, seed,
  model and trainer as the ``mechanism=none`` run), as the paper used it.

Both are calibrated on the fixed calibration set (:mod:`disguisednets.attacks.calibration`) when
they are made, and cached under ``paths.examiner_dir`` with their calibration. Both work on the
dataset's own image size: images padded for a mechanism (AES: 28 → 32 px) are cropped back before
they are examined, since the attacker knows the padding is zero. They predict in bf16 where the CPU
runs it natively (as they were calibrated), and a loaded examiner stays in memory with its latest
predictions, so that a sweep's attack runs score the same original test images once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from disguisednets.attacks.calibration import calibrate
from disguisednets.data import Dataset, crop_to
from disguisednets.folderdata import dataset_id, load_configured
from disguisednets.gridpoint import load_splits
from disguisednets.models import build_model
from disguisednets.training import as_network_input, bf16_supported, fit_classifier

__all__ = ["Examiner", "examiner_settings", "paper_examiner", "robust_examiner", "save_examiner"]

log = logging.getLogger(__name__)

# Version of how examiners are made; a change retrains them (3: per-pixel mean, one global std;
# 4: bf16 inference where native, one robust examiner per dataset).
_RECIPE = 4
_MEMO_SIZE = 4          # predictions kept per examiner (the originals of the runs in flight)
_LOADED: dict[str, "Examiner"] = {}   # examiners loaded in this process, by cache file


class Examiner:
    """A trained classifier of original images with its input standardization and image size."""

    def __init__(self, model: torch.nn.Module, mean, std, image_shape: tuple[int, ...], batch_size: int = 2048,
                 calibration: dict[str, float] | None = None, name: str = "", run_id: str | None = None):
        self.bf16 = bf16_supported("cpu")
        model = model.cpu().eval()
        self.model = model.to(memory_format=torch.channels_last) if self.bf16 else model
        self.batch_size = batch_size
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.image_shape, self.calibration, self.name = tuple(image_shape), dict(calibration or {}), name
        self.run_id = run_id  # the MLflow run that trained it (a baseline training run), if any
        self._memo: dict[bytes, np.ndarray] = {}

    def view(self, images: np.ndarray) -> np.ndarray:
        """The images as the examiner sees them: cropped to its image size (undoing ``pad_to``)."""
        images = np.asarray(images)
        return images if images.shape[1:] == self.image_shape else crop_to(images, self.image_shape)

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) or (N, H, W, C) images on the 0..255 scale → predicted classes (N,)."""
        images = np.ascontiguousarray(self.view(images))
        h = hashlib.blake2b(repr((images.dtype.str, images.shape)).encode(), digest_size=16)
        h.update(images)
        fingerprint = h.digest()
        if fingerprint in self._memo:
            return self._memo[fingerprint].copy()
        out = []
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for start in range(0, len(images), self.batch_size):  # batches, not images
                x = as_network_input(images[start:start + self.batch_size], self.mean, self.std)
                out.append(self.model(torch.from_numpy(x)).argmax(1).numpy())
        pred = np.concatenate(out) if out else np.zeros(0, np.int64)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.pop(next(iter(self._memo)))
        self._memo[fingerprint] = pred
        return pred.copy()

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(images) == np.asarray(labels)))

    @property
    def worst_calibration(self) -> float:
        """The lowest accuracy relative to clean (%) over the calibration perturbations."""
        return min(v for k, v in self.calibration.items() if k != "clean")


def _atomic_save(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # atomic: parallel jobs may race
    os.close(fd)
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _training_lock(path: Path):
    """A file lock beside the cache file ``path``: of processes that need the same missing examiner at once
    (parallel sweep jobs, test workers), one trains it and the others wait for it and load it. Waits up to
    two hours (a robust examiner trains in minutes on 2 cores, 32-bit)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{path}.lock", timeout=7200)


def _digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _channels(shape: tuple[int, ...]) -> int:
    return int(shape[2]) if len(shape) == 3 else 1


def _calibrate(model: torch.nn.Module, mean, std, ds: Dataset) -> dict[str, float]:
    examiner = Examiner(model, mean, std, ds.test_images.shape[1:])
    return calibrate(examiner.predict, ds.test_images, ds.test_labels)


def _load(path: Path, model_cfg, image_shape) -> Examiner:
    """The examiner cached at ``path``; loaded once per process (and again if the file changed)."""
    stamp = f"{path.resolve()}:{path.stat().st_mtime_ns}"
    if stamp not in _LOADED:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = build_model(model_cfg, image_shape[0], len(saved["classes"]), seed=0,
                            in_channels=_channels(tuple(image_shape)))
        model.load_state_dict(saved["state_dict"])
        _LOADED[stamp] = Examiner(model, saved["mean"], saved["std"], image_shape, calibration=saved["calibration"],
                                  name=path.name, run_id=saved.get("run_id"))
    return _LOADED[stamp]


# ---------------------------------------------------------------------------------- paper protocol

def examiner_settings(cfg: DictConfig) -> dict:
    """What determines the paper-protocol examiner: the dataset and its sampling (at its own image
    size), fold seed, model and trainer of the run's scale."""
    d = cfg.dataset
    return {
        "recipe": _RECIPE, "dataset": dataset_id(d), "train_size": d.train_size, "val_size": d.val_size,
        "seed": int(cfg.seed),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "trainer": {k: cfg.trainer[k] for k in ("max_epochs", "batch_size", "lr", "weight_decay",
                                                "precision", "limit_train_batches")},
    }


def _paper_path(cfg: DictConfig) -> Path:
    return Path(cfg.paths.examiner_dir) / f"{dataset_id(cfg.dataset)}-fold{cfg.fold}-{_digest(examiner_settings(cfg))}.pt"


def save_examiner(cfg: DictConfig, model: torch.nn.Module, mean, std, classes: int = 10,
                  run_id: str | None = None) -> str:
    """Cache ``model`` (trained on original images at the dataset's own size) as the paper-protocol
    examiner of ``cfg``'s dataset and fold, with its calibration and the id of the run that trained
    it; return the cache file name.

    The baseline run (mechanism=none) trains exactly this examiner — same images, seed, model and
    trainer — and saves it here, so a sweep that starts with its baseline trains no extra one."""
    path = _paper_path(cfg)
    model = model.cpu().eval()
    calibration = _calibrate(model, mean, std, load_configured(cfg.dataset))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic_save({"state_dict": state, "mean": np.asarray(mean, np.float32), "std": np.asarray(std, np.float32),
                  "classes": list(range(classes)), "calibration": calibration,
                  "settings": examiner_settings(cfg), "run_id": run_id}, path)
    return path.name


def paper_examiner(cfg: DictConfig) -> Examiner:
    """The baseline model of ``cfg``'s scale as examiner, trained (and cached) if missing."""
    path = _paper_path(cfg)
    if not path.is_file():
        with _training_lock(path):
            if not path.is_file():   # another process may have trained it while this one waited
                _train_paper_examiner(cfg)
    ds_shape = load_configured(cfg.dataset).train_images.shape[1:]
    return _load(path, cfg.model, ds_shape)


def _train_paper_examiner(cfg: DictConfig) -> None:
    """Train the baseline of ``cfg``'s scale on the dataset's own images and cache it as its examiner."""
    native = copy.deepcopy(cfg)
    OmegaConf.update(native, "dataset.pad_to", None, force_add=True)
    splits = load_splits(native)
    model = build_model(cfg.model, splits.image_shape[0], splits.n_classes, seed=int(cfg.seed),
                        in_channels=_channels(splits.image_shape))
    module, data, _ = fit_classifier(cfg.trainer, model, splits.train, splits.val, splits.test,
                                     seed=int(cfg.seed))
    save_examiner(cfg, module.model, data.mean, data.std, splits.n_classes)


# ---------------------------------------------------------------------------------- robust

def _robust_settings(cfg: DictConfig) -> dict:
    e = OmegaConf.to_container(cfg.examiner, resolve=True)
    e.pop("max_calibration_loss", None)
    return {"recipe": _RECIPE, "dataset": dataset_id(cfg.dataset), "examiner": e}


def _robust_path(cfg: DictConfig) -> Path:
    return Path(cfg.paths.examiner_dir) / f"robust-{dataset_id(cfg.dataset)}-{_digest(_robust_settings(cfg))}.pt"


def robust_examiner(cfg: DictConfig) -> Examiner:
    """The robust examiner of ``cfg``'s dataset (``cfg.examiner``), trained (and cached) if missing;
    the same for every fold and scale. Warns when its calibration loses more than
    ``examiner.max_calibration_loss`` points."""
    e = cfg.examiner
    path = _robust_path(cfg)
    ds = load_configured(cfg.dataset)
    shape = ds.train_images.shape[1:]
    if not path.is_file():
        with _training_lock(path):
            if not path.is_file():   # another process may have trained it while this one waited
                _train_robust_examiner(cfg, path, ds)
    examiner = _load(path, e.model, shape)
    if 100 - examiner.worst_calibration > float(e.max_calibration_loss):
        log.warning("The robust examiner %s loses %.1f points (relative) on its calibration set (limit %s): "
                    "its success rates understate what a person would recognise. Calibration: %s", path.name,
                    100 - examiner.worst_calibration, e.max_calibration_loss,
                    json.dumps({k: round(v, 1) for k, v in examiner.calibration.items()}))
    return examiner


def _train_robust_examiner(cfg: DictConfig, path: Path, ds: Dataset) -> None:
    """Train the robust examiner on ``ds``'s original training images and cache it at ``path``."""
    from disguisednets.augment import PersonInvariances

    e = cfg.examiner
    shape = ds.train_images.shape[1:]
    seed = int(e.seed)
    rng = np.random.default_rng([seed, 3])
    n = len(ds.train_images) if e.train_size is None else int(e.train_size)
    idx = rng.permutation(len(ds.train_images))[:n]
    trainer = OmegaConf.create({
        "accelerator": "gpu" if torch.cuda.is_available() else "cpu", "devices": 1, "strategy": "auto",
        "precision": e.precision, "channels_last": True, "max_epochs": e.max_epochs,
        "batch_size": e.batch_size, "eval_batch_size": 2048, "lr": e.lr, "weight_decay": e.weight_decay,
        "limit_train_batches": None, "progress_bar": bool(cfg.trainer.get("progress_bar", True)),
    })
    log.info("Training the robust examiner of %s on %d original images (%d epochs); cached at %s",
             cfg.dataset.name, n, e.max_epochs, path)
    model = build_model(e.model, shape[0], ds.n_classes, seed=seed, in_channels=_channels(shape))
    a = e.augment
    augment = PersonInvariances(p=a.p, noise=a.noise, offset=tuple(a.offset), contrast=tuple(a.contrast),
                                blur=a.blur, shift=a.shift)
    module, data, _ = fit_classifier(trainer, model, (ds.train_images[idx], ds.train_labels[idx]), None,
                                     (ds.test_images, ds.test_labels), seed=seed, augment=augment)
    model = module.model.cpu().eval().to(memory_format=torch.contiguous_format)
    calibration = calibrate(Examiner(model, data.mean, data.std, shape).predict, ds.test_images,
                            ds.test_labels)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic_save({"state_dict": state, "mean": data.mean, "std": data.std, "classes": list(range(ds.n_classes)),
                  "calibration": calibration, "settings": _robust_settings(cfg)}, path)
