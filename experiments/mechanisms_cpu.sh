#!/usr/bin/env bash
# One CPU-scale MNIST run (fold 0) per mechanism, all logged to the MLflow experiment
# `mechanisms_cpu`; then the summary table. Run from the repository root after `make install data`:
#   bash experiments/mechanisms_cpu.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
run() { "$PY" experiments/run.py tracking.experiment=mechanisms_cpu trainer.progress_bar=false "$@"; }
run mechanism=none
run mechanism=permutation
run mechanism=rmt
run mechanism=rmt mechanism.kind=gaussian
run mechanism=rmt mechanism.mode=flat
run mechanism=rmt noise=uniform noise.level=100
run mechanism=aes_ecb mechanism.unit=16
run mechanism=aes_ecb mechanism.unit=16 noise=salt_and_pepper noise.rate=0.02
run mechanism=aes_ecb mechanism.unit=2
run mechanism=aes_ecb mechanism.unit=2 mechanism.aes_form=literal mechanism.filter=bilinear
run mechanism=aes_cbc mechanism.unit=16
run mechanism=aes_cbc mechanism.unit=16 mechanism.iv=random
"$PY" -m disguisednets.reporting summary --experiment mechanisms_cpu --by-run
