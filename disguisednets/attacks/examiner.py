"""The DNN examiner (paper §V-B, SPEC §4): the baseline model trained on *original* images of the
same dataset and fold, simulating an attacker who re-identifies images by looking at them.

Trained once per (dataset, fold, sampling, model and trainer settings) and cached on disk under
``<paths.output_dir>/examiners/``, so every attack of a sweep reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from disguisednets.models import build_model
from disguisednets.training import fit_classifier

__all__ = ["Examiner", "examiner_settings", "load_or_train_examiner", "save_examiner"]


class Examiner:
    """A trained classifier of original images with its input standardization."""

    def __init__(self, model: torch.nn.Module, mean: np.ndarray, std: np.ndarray, batch_size: int = 2048):
        self.model, self.mean, self.std, self.batch_size = model.eval(), mean, std, batch_size

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) images on the 0..255 scale → predicted classes (N,)."""
        device = next(self.model.parameters()).device
        out = []
        for start in range(0, len(images), self.batch_size):  # batches, not images
            x = (np.asarray(images[start:start + self.batch_size], np.float32) - self.mean) / self.std
            out.append(self.model(torch.from_numpy(x[:, None]).to(device)).argmax(1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(images) == np.asarray(labels)))


def examiner_settings(cfg: DictConfig) -> dict:
    """What determines the examiner: dataset and its sampling, fold seed, model and trainer."""
    d = cfg.dataset
    return {
        "dataset": d.name, "pad_to": d.pad_to, "train_size": d.train_size, "val_size": d.val_size,
        "seed": int(cfg.seed),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "trainer": {k: cfg.trainer[k] for k in ("max_epochs", "batch_size", "lr", "weight_decay",
                                                "precision", "limit_train_batches")},
    }


def _cache_path(cfg: DictConfig) -> Path:
    settings = examiner_settings(cfg)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cfg.paths.output_dir) / "examiners" / f"{settings['dataset']}-fold{cfg.fold}-{digest}.pt"


def load_or_train_examiner(cfg: DictConfig, splits) -> tuple[Examiner, str]:
    """The cached examiner for this config, trained on ``splits`` (original images) if missing.
    Returns the examiner and its cache file name (an id to log)."""
    path = _cache_path(cfg)
    image_size = splits.image_shape[0]
    model = build_model(cfg.model, image_size, splits.n_classes, seed=int(cfg.seed))
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["state_dict"])
        return Examiner(model, saved["mean"], saved["std"]), path.name
    module, data, _ = fit_classifier(cfg.trainer, model, splits.train, splits.val, splits.test, seed=int(cfg.seed))
    model = module.model.cpu()
    return Examiner(model, data.mean, data.std), save_examiner(cfg, model, data.mean, data.std)


def save_examiner(cfg: DictConfig, model: torch.nn.Module, mean: np.ndarray, std: np.ndarray) -> str:
    """Cache ``model`` as the examiner of ``cfg``'s dataset and fold; return the cache file name.

    The baseline run (mechanism=none) trains exactly the examiner — same images, seed, model and
    trainer — and saves it here, so a sweep that starts with its baseline trains no extra examiner."""
    path = _cache_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # atomic: parallel jobs may race
    os.close(fd)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "mean": mean, "std": std, "settings": examiner_settings(cfg)}, tmp)
    os.replace(tmp, path)
    return path.name
