"""CPU training settings side by side (issue: fast CPU training): images/s of the training steps and
the final test accuracy, for 32-bit training as it was and for the chosen setting of ``trainer=cpu``.

    .venv/bin/python experiments/bench_cpu_training.py            # MNIST, all 58,000 training images

Every variant trains the CPU-scale AlexNet (width 0.25) on the same fold-0 split of MNIST (58,000
training images, the 10,000 test images) for the same number of epochs, in this one process, one
after the other. Then ``torch.compile`` is timed apart: its compile time against the steps per
second it gains. Writes results/bench_cpu_training.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from _bench_io import write_result  # noqa: E402

from disguisednets.models import AlexNet  # noqa: E402
from disguisednets.tracking import machine  # noqa: E402
from disguisednets.training import bf16_supported, fit_classifier  # noqa: E402


class StepTimer(pl.Callback):
    """Wall time of the training epochs only (no validation, no test)."""

    def __init__(self):
        self.seconds, self.images = 0.0, 0

    def on_train_epoch_start(self, trainer, pl_module):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.images += len(batch[1])

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds += time.perf_counter() - self._t0


def trainer_cfg(**over):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        t = compose("config", overrides=["trainer=cpu"]).trainer
    t = OmegaConf.merge(t, over)
    t.progress_bar = False
    return t


def splits():
    from hydra import compose, initialize_config_dir

    from disguisednets.gridpoint import load_splits

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["scale=cpu", "fold=0"])
    return load_splits(cfg)


def compile_timing(bf16: bool, batch: int, steps: int) -> dict[str, float]:
    """Seconds of the first compiled step, and steps/s compiled vs eager (bare loop, same batch)."""
    x = torch.randn(batch, 1, 28, 28).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    out = {}
    for name in ("eager", "compiled"):
        torch.manual_seed(0)
        model = AlexNet(28, width=0.25).to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        fwd = torch.compile(model) if name == "compiled" else model

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(fwd(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        t0 = time.perf_counter()
        step()
        out[f"{name}_first_s"] = time.perf_counter() - t0
        for _ in range(3):
            step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        out[f"{name}_images_per_s"] = steps * batch / (time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=None, help="default: trainer=cpu's max_epochs")
    p.add_argument("--compile-steps", type=int, default=60)
    p.add_argument("--skip-compile", action="store_true")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_cpu_training.md"))
    args = p.parse_args(argv)

    chosen = trainer_cfg()
    epochs = int(args.epochs or chosen.max_epochs)
    variants = [
        ("32-bit, batch 128, cosine (the CPU trainer before)",
         trainer_cfg(precision="32-true", channels_last=False, batch_size=128, lr=1e-3, schedule="cosine",
                     max_epochs=epochs)),
        ("32-bit, channels-last, batch 256, one-cycle",
         trainer_cfg(precision="32-true", max_epochs=epochs)),
        ("chosen: trainer=cpu (precision auto → "
         f"{'bf16-mixed' if bf16_supported('cpu') else '32-true'}, channels-last, batch 256, one-cycle)",
         trainer_cfg(max_epochs=epochs)),
    ]
    s = splits()
    rows = []
    for label, t in variants:
        torch.manual_seed(0)
        timer = StepTimer()
        t_fit = time.perf_counter()
        _, _, acc = fit_classifier(t, AlexNet(28, width=0.25), s.train, None, s.test, seed=0, callbacks=[timer])
        total = time.perf_counter() - t_fit
        rows.append((label, timer.images / timer.seconds, timer.seconds, total, 100 * acc))
        print(f"{label}: {timer.images / timer.seconds:,.0f} images/s, {total:.0f} s, test acc {100 * acc:.2f}%",
              flush=True)
    lines = [
        f"Machine: {machine()}, "
        f"bf16 native: {bf16_supported('cpu')}; torch {torch.__version__}, Lightning "
        f"{pl.__version__}, Python {platform.python_version()}.",
        f"Data: MNIST fold 0 of the CPU scale ({len(s.train[0]):,} training images, {len(s.test[0]):,} test "
        f"images), AlexNet width 0.25, {epochs} epochs each, one after the other in one process.",
        "",
        "| setting | images/s (training steps) | training steps (s) | whole fit incl. test (s) | test accuracy (%) |",
        "|---|---|---|---|---|",
        *[f"| {label} | {ips:,.0f} | {sec:.1f} | {total:.1f} | {acc:.2f} |" for label, ips, sec, total, acc in rows],
        "",
        f"Speed-up of the chosen setting over the 32-bit trainer before: {rows[-1][1] / rows[0][1]:.2f}× images/s.",
    ]
    if not args.skip_compile:
        c = compile_timing(bf16_supported("cpu"), int(chosen.batch_size), args.compile_steps)
        gain = c["compiled_images_per_s"] / c["eager_images_per_s"]
        steps_per_run = len(s.train[0]) // int(chosen.batch_size) * epochs
        saved = steps_per_run * int(chosen.batch_size) * (1 / c["eager_images_per_s"] - 1 / c["compiled_images_per_s"])
        lines += [
            "",
            f"`torch.compile` (bare loop, batch {chosen.batch_size}, same precision and memory format, "
            f"{args.compile_steps} timed steps after warm-up): first step {c['compiled_first_s']:.1f} s compiled vs "
            f"{c['eager_first_s']:.2f} s eager; {c['compiled_images_per_s']:,.0f} vs {c['eager_images_per_s']:,.0f} "
            f"images/s ({gain:.2f}×). Over one CPU-scale training ({steps_per_run:,} steps) it would "
            + (f"save {saved:.0f} s" if saved > 0 else f"cost {-saved:.0f} s more")
            + f", plus {c['compiled_first_s'] - c['eager_first_s']:.0f} s of compiling per grid point (each builds a "
            f"new model; more on a cold compile cache): "
            f"{'worth it' if saved > c['compiled_first_s'] - c['eager_first_s'] else 'not worth it'}.",
        ]
    command = ".venv/bin/python experiments/bench_cpu_training.py" + (f" --epochs {args.epochs}" if args.epochs else "") \
        + (" --skip-compile" if args.skip_compile else "")
    out = write_result(args.out, "CPU training: 32-bit vs the chosen setting", lines, command)
    print("\n".join(lines))
    print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
