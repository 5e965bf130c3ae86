"""Training on (disguised) images with PyTorch Lightning (docs/method.md §3).

The data live as whole tensors (on the GPU, when training there); a batch is a slice of an
on-device ``randperm``: no DataLoader, no workers, no per-sample Python. Standardization uses
statistics of the *disguised training* split only (docs/method.md §2–§3): each pixel's mean is subtracted and
everything is divided by one standard deviation. A per-pixel standard deviation would divide
near-constant pixels (MNIST's borders, std < 1 grey level) by almost nothing, so that a change a
person cannot see there decides the prediction; the per-pixel mean removes what is constant at a
position (AES's encrypted background) without amplifying anything.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Iterator

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from disguisednets.progress import on_terminal, say

__all__ = ["TensorLoader", "DisguisedDataModule", "ImageClassifier", "EpochLines", "fit_classifier", "resolve_device",
           "standardization", "bf16_supported"]

log = logging.getLogger(__name__)

SCHEDULES = ("cosine", "onecycle")


class TensorLoader:
    """Batches of (images, labels) sliced from tensors that already sit on their device.

    Under data parallelism (``world_size`` > 1) every rank draws the same shuffled order (same
    seed) and takes every ``world_size``-th image from position ``rank``: disjoint shards of equal
    size, as a DistributedSampler would give."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0, rank: int = 0, world_size: int = 1):
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"images and labels differ in length: {images.shape[0]} vs {labels.shape[0]}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {batch_size}.")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in 0..world_size-1; got rank {rank} of {world_size}.")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rank, self.world_size = rank, world_size
        self._generator = torch.Generator(device=images.device)
        self._generator.manual_seed(seed)

    def _shard_size(self) -> int:
        return self.images.shape[0] // self.world_size if self.world_size > 1 else self.images.shape[0]

    def __len__(self) -> int:
        n = self._shard_size()
        if self.drop_last:  # a set smaller than one batch still trains, on one short batch (not on none)
            return max(1, n // self.batch_size) if n else 0
        return math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        order = (torch.randperm(n, device=self.images.device, generator=self._generator)
                 if self.shuffle else None)
        if self.world_size > 1:
            base = order if order is not None else torch.arange(n, device=self.images.device)
            order = base[self.rank::self.world_size][:self._shard_size()]
        for i in range(len(self)):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            if order is None:
                yield self.images[sl], self.labels[sl]
            else:
                idx = order[sl]
                yield self.images[idx], self.labels[idx]


def standardization(train_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training images' (N, H, W) per-pixel mean (H, W) and one standard deviation of all
    pixels around it (a 0-d array), float32; a constant training set gets std 1."""
    x = np.asarray(train_images)
    if x.size == 0:
        raise ValueError("Cannot standardize an empty training set.")
    mean = np.mean(x, axis=0, dtype=np.float64)
    var = max(float(np.mean(np.square(x, dtype=np.float64))) - float(np.mean(np.square(mean))), 0.0)
    std = var ** 0.5 if var > 1e-12 else 1.0
    return mean.astype(np.float32), np.asarray(std, np.float32)


def as_network_input(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) images, standardized → (N, C, H, W) float32."""
    x = (np.asarray(images, dtype=np.float32) - mean) / std
    return np.ascontiguousarray(x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2))


class DisguisedDataModule(pl.LightningDataModule):
    """In-memory train/val/test splits of (disguised) images, standardized with train statistics."""

    def __init__(self, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray] | None,
                 test: tuple[np.ndarray, np.ndarray], batch_size: int = 128, eval_batch_size: int = 1024,
                 device: str | torch.device = "cpu", seed: int = 0, train_epoch=None, standardize: bool = True):
        super().__init__()
        self.train_epoch = train_epoch  # epoch → a fresh training split (InstaHide's fresh encodings), or None
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.device_ = torch.device(device)
        # standardize=False: the images come normalized by their scheme (InstaHide, as its reference code feeds them)
        self.mean, self.std = (standardization(train[0]) if standardize else
                               (np.zeros(np.shape(train[0])[1:], np.float32), np.asarray(1.0, np.float32)))
        self._splits = {"train": train, "val": val, "test": test}
        self._tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """Standardize (N, H, W) or (N, H, W, C) images with the training statistics → (N, C, H, W) float32."""
        return torch.from_numpy(as_network_input(images, self.mean, self.std)).to(self.device_)

    def setup(self, stage: str | None = None) -> None:
        if self.trainer is not None:  # under DDP each process keeps its copy on its own device
            self.device_ = self.trainer.strategy.root_device
        for name, split in self._splits.items():
            if split is not None and name not in self._tensors:
                images, labels = split
                labels = np.asarray(labels)  # class indices, or (N, classes) mixed labels (InstaHide)
                self._tensors[name] = (self.to_tensor(images),
                                       # a copy: the dataset's shared arrays are read-only
                                       torch.as_tensor(np.array(labels, np.float32 if labels.ndim == 2 else np.int64),
                                                       device=self.device_))

    def train_dataloader(self) -> TensorLoader:
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        if self.train_epoch is not None and epoch > 0:  # with reload_dataloaders_every_n_epochs=1: every epoch
            images, labels = self.train_epoch(epoch)
            self._tensors["train"] = (self.to_tensor(images),
                                      torch.as_tensor(np.array(labels, np.float32), device=self.device_))
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        return TensorLoader(*self._tensors["train"], self.batch_size, shuffle=True, drop_last=True,
                            seed=self.seed + epoch, rank=rank, world_size=world)

    def val_dataloader(self):
        return TensorLoader(*self._tensors["val"], self.eval_batch_size) if "val" in self._tensors else []

    def test_dataloader(self) -> TensorLoader:
        return TensorLoader(*self._tensors["test"], self.eval_batch_size)


class ImageClassifier(pl.LightningModule):
    """Cross-entropy training of any image classifier; logs loss and accuracy per epoch."""

    def __init__(self, model: nn.Module, lr: float = 1e-3, weight_decay: float = 5e-4, max_epochs: int = 10,
                 augment=None, schedule: str = "cosine"):
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f"Unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        self.model, self.lr, self.weight_decay, self.max_epochs = model, lr, weight_decay, max_epochs
        self.augment = augment  # a callable on (standardized) training batches, or None
        self.schedule = schedule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)  # y: class indices, or class probabilities (mixed labels)
        acc = (logits.argmax(dim=1) == (y.argmax(dim=1) if y.ndim == 2 else y)).float().mean()
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=on_step, batch_size=len(y))
        self.log(f"{stage}_acc", acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def training_step(self, batch, batch_idx):
        if self.augment is not None:
            x, y = batch
            with torch.no_grad(), torch.autocast(device_type=x.device.type, enabled=False):  # float32 maths
                batch = (self.augment(x.float()).to(x.dtype), y)
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def configure_optimizers(self):
        """AdamW; ``cosine``: cosine decay per epoch from ``lr``; ``onecycle``: per step, warm-up over
        the first 25% of the steps to ``lr``, then cosine annealing to ~0 (Smith's one-cycle)."""
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if self.schedule == "onecycle":
            steps = int(self.trainer.estimated_stepping_batches) if self._trainer is not None else 1
            # torch's one-cycle needs ≥ 2 steps per phase; a smoke run of a few steps sees the warm-up only
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=max(steps, 8), pct_start=0.25,
                                                        div_factor=25.0, final_div_factor=1e3)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def bf16_supported(device: str) -> bool:
    """Whether bf16 autocast runs natively on ``device`` ('cpu': AVX-512 BF16 / AMX; 'cuda')."""
    if device == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check()) if check is not None else False


def resolve_device(trainer_cfg) -> dict:
    """The Trainer's accelerator, devices, precision, strategy and memory format for ``trainer_cfg``.

    ``trainer=gpu`` on a machine without CUDA falls back to the CPU in 32-bit precision (with a
    warning), so that a GPU config still runs, slowly, anywhere. ``precision: auto`` is bf16-mixed
    where the device supports bf16 natively, else 32-true."""
    settings = trainer_cfg
    precision = str(settings.precision)
    if precision == "auto":
        device = "cuda" if str(settings.accelerator) in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"
        precision = "bf16-mixed" if bf16_supported(device) else "32-true"
    wants_gpu = str(settings.accelerator) in ("gpu", "cuda")
    if wants_gpu and not torch.cuda.is_available():
        log.warning("trainer.accelerator=%s but no CUDA device is visible: falling back to the CPU, 32-bit, "
                    "one device.", settings.accelerator)
        return {"accelerator": "cpu", "devices": 1, "precision": "32-true", "strategy": "auto",
                "channels_last": False, "fallback": True}
    return {"accelerator": str(settings.accelerator), "devices": settings.devices, "precision": precision,
            "strategy": str(settings.get("strategy") or "auto"),
            "channels_last": bool(settings.get("channels_last", False)),
            "fallback": False}


class EpochLines(pl.Callback):
    """A line per epoch where no one watches a progress bar (``progress_bar: true`` off a terminal): the
    epoch, the training loss and accuracy, the validation accuracy where there is a validation split, the
    epoch's wall time."""

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        m = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        parts = [f"{name} {100 * m[key]:.1f}%" if key.endswith("_acc") else f"{name} {m[key]:.4f}"
                 for key, name in (("train_loss", "train loss"), ("train_acc", "train acc"), ("val_acc", "val acc"))
                 if key in m]
        say(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: " + ", ".join(parts)
            + f" ({time.perf_counter() - self._t0:.0f} s)")


def fit_classifier(trainer_cfg, model: nn.Module, train, val, test, *, seed: int,
                   callbacks: list | None = None, augment=None,
                   train_epoch=None, standardize: bool = True) -> tuple[ImageClassifier, DisguisedDataModule, float]:
    """Train ``model`` on in-memory (images, labels) splits with the ``trainer/`` settings; return the
    module, the data module (for its standardization) and the test accuracy (0..1).

    ``augment``: a callable on (N, 1, H, W) training batches on the 0..255 scale (e.g.
    :class:`disguisednets.augment.PersonInvariances`), applied before standardization. ``train_epoch``:
    epoch → a fresh training split (images, labels) for every epoch after the first (InstaHide's fresh
    encodings), standardized with the first split's statistics. ``standardize=False``: the splits are
    used as they come (a scheme that normalizes its images itself)."""
    settings = trainer_cfg
    pl.seed_everything(int(seed), workers=False, verbose=False)
    run = resolve_device(settings)
    device = "cuda" if run["accelerator"] in ("gpu", "cuda") else "cpu"
    if device == "cuda":
        torch.backends.cudnn.benchmark = True          # fixed input sizes: let cuDNN pick its fastest kernels
        torch.set_float32_matmul_precision("high")     # TF32 for what autocast leaves in float32
    if run["channels_last"]:
        model = model.to(memory_format=torch.channels_last)  # NHWC convolutions for tensor cores
    data = DisguisedDataModule(train, val, test, batch_size=settings.batch_size,
                               eval_batch_size=settings.eval_batch_size,
                               device=device, seed=int(seed), train_epoch=train_epoch, standardize=standardize)
    if augment is not None:
        std, raw_augment = float(data.std), augment

        def augment(z):  # standardized batch → 0..255 scale → perturbed → standardized
            mean = torch.as_tensor(data.mean, device=z.device)
            mean = mean.permute(2, 0, 1) if mean.ndim == 3 else mean   # colour: (H, W, C) → (C, H, W), as z
            return (raw_augment(z * std + mean) - mean) / std
    module = ImageClassifier(model, lr=settings.lr, weight_decay=settings.weight_decay, max_epochs=settings.max_epochs,
                             augment=augment, schedule=str(settings.get("schedule") or "cosine"))
    module.device_info = run  # what the run actually used (a GPU config may have fallen back)
    limit = settings.get("limit_train_batches")
    limits = {"limit_train_batches": limit} if limit else {}
    # Progress: Lightning's bar on a terminal; a line per epoch in a log (a bar redraws itself thousands of times).
    bar = bool(settings.progress_bar) and on_terminal()
    callbacks = [*(callbacks or []), *([EpochLines()] if settings.progress_bar and not bar else [])]
    trainer = pl.Trainer(
        accelerator=run["accelerator"], devices=run["devices"], precision=run["precision"],
        strategy=run["strategy"], max_epochs=settings.max_epochs,
        logger=False, enable_checkpointing=False, enable_progress_bar=bar,
        enable_model_summary=False, num_sanity_val_steps=0, callbacks=callbacks, **limits,
        reload_dataloaders_every_n_epochs=1 if train_epoch is not None else 0,
    )
    trainer.fit(module, datamodule=data)
    test_acc = float(trainer.test(module, datamodule=data, verbose=False)[0]["test_acc"])
    return module, data, test_acc


@torch.no_grad()
def predict_classes(model: nn.Module, mean: np.ndarray, std: np.ndarray, images: np.ndarray,
                    batch_size: int = 2048) -> np.ndarray:
    """Classes a trained model predicts for (N, H, W) images, standardized with its training
    statistics (``DisguisedDataModule.mean``/``std``); on the CPU, in batches."""
    model = model.cpu().eval()
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    out = [model(torch.from_numpy(as_network_input(images[i:i + batch_size], mean, std))).argmax(1).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)
