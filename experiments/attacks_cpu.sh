#!/usr/bin/env bash
# Every attack on its mechanism at CPU scale on MNIST (fold 0), logged to the MLflow experiment
# `attacks_cpu`. `make results-attacks` runs it, then writes results/attacks_cpu.md from the runs
# (python -m disguisednets.reporting attacks --experiment attacks_cpu --out results/attacks_cpu.md).
set -euo pipefail
PY=${PY:-.venv/bin/python}
run() { "$PY" experiments/run.py --multirun tracking.experiment=attacks_cpu trainer.progress_bar=false "$@"; }
# level (b): known pairs, on top of everything level (a) has: the owner's sample is 45,000 images, so the
# other 13,000 are the attacker's public images, and π is estimated from them and the pairs together
# (with pairs alone, one pair finds only part of π: docs/method.md §4, threat model)
B="dataset.train_size=45000"
run mechanism=aes_ecb attack=codebook attack.known_pairs=1,20,1000 mechanism.unit=16,2 noise=none,salt_and_pepper $B
run mechanism=aes_ecb attack=codebook attack.known_pairs=1,20,1000 mechanism.unit=2 mechanism.aes_form=literal mechanism.filter=bilinear $B
run mechanism=rmt attack=regression attack.known_pairs=1,20,1000 noise=none,uniform mechanism.kind=orthogonal,gaussian $B
run mechanism=rmt noise=uniform attack=regression attack.regression_form=forward attack.known_pairs=1,20,1000 $B
# direct re-identification
run mechanism=none,permutation,rmt,aes_ecb,aes_cbc attack=direct
# level (a): no known pairs; every attack finds π itself (attack.knows_permutation=false, the default)
run mechanism=aes_ecb attack=frequency,frequency_rank mechanism.unit=16,2 dataset.train_size=45000
run mechanism=aes_ecb attack=frequency,frequency_rank mechanism.unit=2 noise=salt_and_pepper dataset.train_size=45000  # the Table II AES setting
run mechanism=rmt attack=covariance noise=none,uniform dataset.train_size=45000
# the same level-(a) attacks handed the true π: the upper bound beside them (`++`: a multirun first composes
# its base config, whose attack is `none` when the attack is swept, and `none` has no knows_permutation)
run mechanism=aes_ecb attack=frequency,frequency_rank mechanism.unit=2 noise=salt_and_pepper dataset.train_size=45000 ++attack.knows_permutation=true
run mechanism=rmt attack=covariance noise=uniform dataset.train_size=45000 ++attack.knows_permutation=true
run mechanism=permutation attack=jigsaw dataset.train_size=45000
run mechanism=rmt attack=row_leak noise=none,uniform mechanism.kind=orthogonal,gaussian dataset.train_size=45000
# sanity: every attack on undisguised images must (nearly) succeed
run mechanism=none attack=codebook,regression,frequency,frequency_rank,covariance,jigsaw dataset.train_size=45000
