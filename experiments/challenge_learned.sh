#!/usr/bin/env bash
# The learned inverses (disguisednets/attacks/learned_inverse.py) at CPU scale, fold 0, MLflow experiment `challenge`:
# DP pixelization at ε = ∞ and 5 for both cell sizes and datasets (at ε ≤ 1 every attack stays near 0%: the noise
# is the image), with 20 known pairs where it has the most to give, and AES's silhouettes (ECB, per-position-IV CBC).
set -euo pipefail
PY=${PY:-.venv/bin/python}
run() { "$PY" experiments/run.py --multirun tracking.experiment=challenge trainer.progress_bar=false dataset.train_size=45000 "$@"; }
run attack=learned mechanism=dp_pixelization mechanism.block_size=4,7 mechanism.epsilon=null,5 dataset=mnist,fashion
run attack=learned_pairs mechanism=dp_pixelization mechanism.block_size=4 mechanism.epsilon=null dataset=mnist,fashion
run attack=learned mechanism=aes_ecb mechanism.unit=16 dataset=mnist
run attack=learned mechanism=aes_cbc mechanism.unit=16 dataset=mnist
run attack=learned mechanism=aes_ecb mechanism.unit=2 noise=salt_and_pepper dataset=mnist,fashion   # Table II's AES
