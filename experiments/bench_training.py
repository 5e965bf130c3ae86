"""Lightning's overhead: one training epoch of AlexNet through our LightningModule and Trainer
against a bare PyTorch loop on the same model, data, optimizer, batch size and precision.

    .venv/bin/python experiments/bench_training.py                      # CPU: width 1.0 on 4,096 images
    python experiments/bench_training.py --images 60000 --trainer gpu   # a GPU: the whole training set

Both variants keep the data resident on the device and slice batches from an on-device
permutation (``TensorLoader``); each runs ``--epochs`` epochs and the last one is timed (the
first includes warm-up: allocator, cuDNN autotuning). Writes results/bench_training.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from _bench_io import write_result  # noqa: E402

from disguisednets.data import load_dataset  # noqa: E402
from disguisednets.models import AlexNet  # noqa: E402
from disguisednets.training import DisguisedDataModule, ImageClassifier, TensorLoader, resolve_device  # noqa: E402
from disguisednets.tracking import machine  # noqa: E402


def trainer_config(name: str):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=[f"trainer={name}"]).trainer



def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class EpochTimer(pl.Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module):
        _sync(pl_module.device)
        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        _sync(pl_module.device)
        self.times.append(time.perf_counter() - self._t0)


def lightning_epoch(tcfg, run, images, labels, width, epochs, seed) -> float:
    pl.seed_everything(seed, verbose=False)
    model = AlexNet(image_size=images.shape[1], width=width)
    if run["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    data = DisguisedDataModule((images, labels), None, (images[:10], labels[:10]), batch_size=tcfg.batch_size,
                               device="cuda" if run["accelerator"] in ("gpu", "cuda") else "cpu", seed=seed)
    module = ImageClassifier(model, lr=tcfg.lr, weight_decay=tcfg.weight_decay, max_epochs=epochs)
    timer = EpochTimer()
    trainer = pl.Trainer(accelerator=run["accelerator"], devices=1, precision=run["precision"], max_epochs=epochs,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, callbacks=[timer])
    trainer.fit(module, datamodule=data)
    return timer.times[-1]


def bare_epoch(tcfg, run, images, labels, width, epochs, seed) -> float:
    """The same work without Lightning: forward, cross-entropy, backward, AdamW step, cosine schedule,
    and the same per-epoch accuracy bookkeeping as the LightningModule's logging."""
    torch.manual_seed(seed)
    device = torch.device("cuda" if run["accelerator"] in ("gpu", "cuda") else "cpu")
    model = AlexNet(image_size=images.shape[1], width=width).to(device)
    if run["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    data = DisguisedDataModule((images, labels), None, (images[:10], labels[:10]), device=device)
    data.setup()
    x, y = data._tensors["train"]
    loader = TensorLoader(x, y, tcfg.batch_size, shuffle=True, drop_last=True, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    bf16 = run["precision"].startswith("bf16")
    times = []
    for _ in range(epochs):
        model.train()
        _sync(device)
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for xb, yb in loader:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
        sched.step()
        float(loss_sum), float(correct)  # the epoch's metrics reach the host once, as Lightning's do
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times[-1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trainer", default="cpu", choices=("cpu", "gpu"))
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--images", type=int, default=4096)
    p.add_argument("--epochs", type=int, default=2, help="epochs per variant; the last is timed")
    p.add_argument("--repeats", type=int, default=2, help="alternating repeats of both variants; the median is kept")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_training.md"))
    args = p.parse_args(argv)

    tcfg = trainer_config(args.trainer)
    run = resolve_device(tcfg)
    ds = load_dataset("mnist")
    images, labels = ds.train_images[:args.images], ds.train_labels[:args.images]
    results = {"lightning": [], "bare": []}
    for _ in range(args.repeats):  # alternate, so that machine noise hits both alike
        results["bare"].append(bare_epoch(tcfg, run, images, labels, args.width, args.epochs, 0))
        results["lightning"].append(lightning_epoch(tcfg, run, images, labels, args.width, args.epochs, 0))
    lit, bare = float(np.median(results["lightning"])), float(np.median(results["bare"]))
    device = machine()
    fallback = " (trainer=gpu fell back to the CPU: no CUDA device)" if run["fallback"] else ""
    command = (f"python experiments/bench_training.py --trainer {args.trainer} --width {args.width} "
               f"--images {args.images}")
    lines = [
        f"Machine: {device}; torch {torch.__version__}, Lightning {pl.__version__}, "
        f"Python {platform.python_version()}.",
        f"Settings: AlexNet width {args.width}, {args.images} MNIST images (28 px), batch {tcfg.batch_size}, "
        f"precision {run['precision']}, {run['accelerator']}{fallback}, channels-last {run['channels_last']}; "
        f"epoch {args.epochs} of {args.epochs} timed, median of {args.repeats} alternating repeats.",
        "",
        "| variant | epoch time (s) | images/s |",
        "|---|---|---|",
        f"| bare PyTorch loop | {bare:.2f} | {args.images / bare:,.0f} |",
        f"| Lightning (our ImageClassifier + Trainer) | {lit:.2f} | {args.images / lit:,.0f} |",
        "",
        f"**Overhead ratio (Lightning / bare): {lit / bare:.3f}.**",
    ]
    print("\n".join(lines))
    out = write_result(args.out, "Lightning overhead: one training epoch, Lightning vs a bare PyTorch loop",
                       lines, command)
    print(f"Written to {out}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
