"""The GPU check (experiments/gpu_check.sh) on its CPU fallback at toy size: every step of Table II's MNIST
column runs through the real entry point and lands in the report with its time."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from disguisednets.reporting.provenance import PATTERN

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # trains three toy networks and runs eight attacks in a subprocess
def test_gpu_check_runs_on_the_cpu_fallback_at_toy_size(tmp_path):
    out = tmp_path / "gpu.md"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PY"] = sys.executable
    done = subprocess.run(["bash", str(ROOT / "experiments" / "gpu_check.sh"), "--toy", "--out", str(out),
                           "--output-dir", str(tmp_path / "outputs")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = out.read_text().split("\n")
    assert lines[0].startswith("# GPU check") and PATTERN.match(lines[2]), lines[:3]
    assert "`bash experiments/gpu_check.sh --toy`" in lines[2]
    text = "\n".join(lines)
    assert "fell back to the CPU" in text or "Device: NVIDIA" in text
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith(("| column", "|---"))]
    assert [r.split(" | ")[0][2:] for r in rows] == ["baseline", "rmt", "aes_ecb", "rmt_attack", "rmt_attack_forward",
                                                      "aes_ecb_attack", "rmt_direct", "rmt_attack_m1", "aes_ecb_direct",
                                                      "aes_ecb_attack_m1", "aes_ecb_attack_foreground"]
    for r in rows[:3]:   # trainings: accuracy above chance, a speed, a time
        cells = r.split(" | ")
        assert float(cells[2].split()[-1].rstrip("%")) > 10 and cells[3].replace(",", "").isdigit()
        assert float(cells[4].rstrip(" |")) > 0
    assert all("success" in r and "linkage" in r for r in rows[3:])
    assert "Total wall time" in text


def test_gpu_check_says_what_is_missing_without_hydra_mlflow_or_wheels(tmp_path):
    """On a machine that lacks the carried packages and has no .whl/, it stops with what to do."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")   # a Python on which no import works
    fake.chmod(0o755)
    copy = tmp_path / "repo"
    (copy / "experiments").mkdir(parents=True)
    (copy / "experiments" / "gpu_check.sh").write_text((ROOT / "experiments" / "gpu_check.sh").read_text())
    done = subprocess.run(["bash", str(copy / "experiments" / "gpu_check.sh")], cwd=copy,
                          env={**os.environ, "PY": str(fake)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--fetch-wheels" in done.stderr
