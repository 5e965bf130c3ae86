#!/usr/bin/env bash
# Every "resists" verdict challenged by the strongest attack of its kind (level (a): no pairs, π found by the
# attack), at CPU scale, fold 0, logged to the MLflow experiment `challenge`; `make results-resistance` reads it.
# Parts: PART=statistics (higher_order on every RMT setting of Table II, Figs 7 and 10, the peers, attacks_cpu
# and row_leak; etc_statistics on every EtC setting) and PART=learned (the learned inverses); default both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PART=${PART:-all}
run() { "$PY" experiments/run.py --multirun tracking.experiment=challenge trainer.progress_bar=false dataset.train_size=45000 "$@"; }
if [[ $PART == all || $PART == statistics ]]; then
  run attack=etc_statistics mechanism=etc mechanism.block_size=4,7 dataset=mnist,fashion
  run attack=higher_order mechanism=rmt mechanism.kind=gaussian,orthogonal noise=none,uniform dataset=mnist,fashion
  run attack=higher_order mechanism=rmt mechanism.kind=orthogonal mechanism.block_size=2,4,14,28      # Fig 10
  run attack=higher_order mechanism=rmt mechanism.kind=gaussian,orthogonal mechanism.block_size=4,14 noise=uniform  # Fig 7
  run attack=higher_order mechanism=rmt mechanism.kind=gaussian mechanism.mode=flat noise=uniform
fi
if [[ $PART == all || $PART == learned ]]; then
  bash experiments/challenge_learned.sh
fi
