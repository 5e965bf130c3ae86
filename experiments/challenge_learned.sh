#!/usr/bin/env bash
# The learned inverses (disguisednets/attacks/learned_inverse.py) at CPU scale, fold 0, MLflow experiment `challenge`
# (experiments/challenge.sh calls it with its PART). Core: DP pixelization 4×4 at ε = ∞ and 5 and 7×7 at ε = ∞ (MNIST and
# Fashion), with 20 known pairs at 4×4 ε = ∞, AES's 16-pixel-unit silhouettes (ECB, per-position-IV CBC), and InstaHide
# (k = 4: mixture → the dominant image, a U-Net).
# Extended: the other ε and cell sizes, Table II's AES (2-pixel units, 2% salt-and-pepper) and 16-pixel units with
# it. At ε ≤ 1 every attack stays near 0%: the noise is the image.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PART=${PART:-core}
run() { "$PY" experiments/run.py --multirun tracking.experiment=challenge trainer.progress_bar=false dataset.train_size=45000 "$@"; }
if [[ $PART == core ]]; then
  run attack=learned mechanism=dp_pixelization mechanism.block_size=4 mechanism.epsilon=null,5 dataset=mnist,fashion
  run attack=learned mechanism=dp_pixelization mechanism.block_size=7 mechanism.epsilon=null dataset=mnist,fashion
  run attack=learned mechanism=aes_ecb mechanism.unit=16 dataset=mnist
  run attack=learned mechanism=aes_cbc mechanism.unit=16 dataset=mnist
  run attack=learned_pairs mechanism=dp_pixelization mechanism.block_size=4 mechanism.epsilon=null dataset=mnist
  run attack=learned mechanism=instahide dataset=mnist,fashion
fi
if [[ $PART == extended ]]; then
  run attack=learned mechanism=dp_pixelization mechanism.block_size=4,7 mechanism.epsilon=0.1,0.5,1 dataset=mnist,fashion
  run attack=learned mechanism=dp_pixelization mechanism.block_size=7 mechanism.epsilon=5 dataset=mnist,fashion
  run attack=learned_pairs mechanism=dp_pixelization mechanism.block_size=4 mechanism.epsilon=null dataset=fashion
  run attack=learned mechanism=aes_ecb mechanism.unit=2 noise=salt_and_pepper dataset=mnist,fashion   # Table II's AES
  run attack=learned mechanism=aes_ecb mechanism.unit=16 noise=salt_and_pepper dataset=mnist          # attacks_cpu's
fi
