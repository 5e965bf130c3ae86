"""Table II's MNIST column at paper scale, fold 0, on one CUDA device: the baseline, RMT and AES-ECB
trainings (full AlexNet, trainer=gpu: bf16, channels-last, 20 epochs) and the column's eight attacks,
through the real entry point (`disguisednets.experiment.run`, MLflow store in a scratch folder), timed
step by step → results/gpu.md (images/s, accuracy or attack success, wall time of each step).

    bash experiments/gpu_check.sh                 # on a CUDA machine; about 8 minutes on one H200
    bash experiments/gpu_check.sh --toy --out /tmp/gpu.md   # the CPU fallback at toy size (a test runs it)

Without a CUDA device, trainer=gpu falls back to the CPU in 32-bit (the file says so); ``--toy`` shrinks the
data and the network so that this fallback finishes in a minute or two.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from _bench_io import write_result  # noqa: E402

# Table II's MNIST column in the order of its sweep (conf/experiment/table2.yaml): the trainings first
# (the baseline's model is the paper-protocol examiner of the attacks), then the attacks.
COLUMNS = ("baseline", "rmt", "aes_ecb", "rmt_attack", "rmt_attack_forward", "aes_ecb_attack", "rmt_direct",
           "rmt_attack_m1", "aes_ecb_direct", "aes_ecb_attack_m1", "aes_ecb_attack_foreground")
TOY = ("scale=toy", "dataset.train_size=2000", "dataset.val_size=200", "dataset.test_size=500")
PAPER_MINUTES = 8


def overrides(column: str, output_dir: Path, toy: bool) -> list[str]:
    return [f"column={column}", "dataset=mnist", "fold=0", *(TOY if toy else ("scale=paper",)), "trainer=gpu",
            *(("model.width=0.125", "trainer.max_epochs=1") if toy else ()),
            "tracking.experiment=gpu_check", f"paths.output_dir={output_dir}", "trainer.progress_bar=false"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--toy", action="store_true", help="toy size (the CPU fallback, for tests)")
    p.add_argument("--out", default=str(ROOT / "results" / "gpu.md"))
    p.add_argument("--output-dir", default=None, help="MLflow store and examiners (default: a scratch folder)")
    args = p.parse_args(argv)

    import torch
    from hydra import compose, initialize_config_dir
    from mlflow.tracking import MlflowClient

    from disguisednets.experiment import run
    from disguisednets.runinfo import machine

    output_dir = Path(args.output_dir or tempfile.mkdtemp(prefix="gpu_check-"))
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "no CUDA device: trainer=gpu fell back to the CPU (32-bit)"
    print(f"gpu_check: {device}; outputs in {output_dir}", flush=True)
    rows, t_all = [], time.perf_counter()
    client = None
    for column in COLUMNS:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=overrides(column, output_dir, args.toy))
        t0 = time.perf_counter()
        metrics = run(cfg)
        wall = time.perf_counter() - t0
        client = client or MlflowClient(f"sqlite:///{output_dir / 'mlflow.db'}")
        attack = cfg.attack.name != "none"
        if attack:
            what = (f"success {metrics['success_rate']:.1f}%, linkage {metrics['linkage_rate']:.1f}% "
                    f"({cfg.attack.name}, m = {metrics.get('known_pairs', cfg.attack.get('known_pairs', 0))})")
            speed = "—"
        else:
            epochs = client.get_metric_history(metrics["run_id"], "epoch_time_s")
            train_s = sum(m.value for m in epochs)
            speed = f"{metrics['train_images'] * len(epochs) / train_s:,.0f}" if train_s else "—"
            what = f"test accuracy {metrics['test_acc']:.2f}%"
        rows.append(f"| {column} | {'attack' if attack else 'training'} | {what} | {speed} | {wall:.1f} |")
        print(rows[-1], flush=True)
    total = time.perf_counter() - t_all
    scale = "toy size (CPU fallback check)" if args.toy else "paper scale: full AlexNet, all 55,000 training images"
    lines = [
        f"Device: {device}. Host: {machine()}; torch {torch.__version__}, Python {platform.python_version()}.",
        f"Table II's MNIST column, fold 0, {scale}, trainer=gpu (bf16 autocast on a CUDA device, channels-last); "
        f"the robust examiner is trained once and cached (in the first attack's wall time unless it was cached).",
        "",
        "| column | step | result | training images/s | wall time (s) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Total wall time: {total / 60:.1f} min" + ("" if args.toy or not cuda else
                                                  f" (target: within {PAPER_MINUTES} min)") + ".",
    ]
    command = "bash experiments/gpu_check.sh" + (" --toy" if args.toy else "")
    out = write_result(args.out, "GPU check: Table II's MNIST column at paper scale, fold 0", lines, command)
    print(f"Written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
