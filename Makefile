# DisguisedNets — set-up and main jobs. `make reproduce` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
SCALE  ?=
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lock data reproduce figures test test-fast clean-outputs ui results results-runs results-reports \
	results-table2 results-figures results-theft results-peers results-attacks results-row-leak bench results-cli \
	results-forward-fit results-permutation results-resistance results-instahide-curve results-challenge results-leaderboard runs-table2 runs-figures runs-theft runs-peers runs-instahide-curve runs-attacks runs-row-leak runs-challenge

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock -e '.[dev]'
	touch $(STAMP)

## install: create .venv and install the package with its test dependencies, at the exact versions of requirements.lock
install: $(STAMP)

## lock: refresh requirements.lock from pyproject.toml's ranges (a fresh venv, then pip freeze; ~3 minutes)
lock:
	bash experiments/lock_requirements.sh

## data: fetch MNIST and Fashion-MNIST into the cache (~/.cache/disguisednets) and verify checksums
data: install
	$(PY) -m disguisednets.data fetch mnist fashion

## reproduce: Table II (both datasets), logged to MLflow; writes results/table2.md, gallery.png and prints the
## table. Paper scale (5 folds, full AlexNet) where a CUDA device is visible, else CPU scale (2 folds, about
## 17 minutes on 2 cores); force one with `make reproduce SCALE=cpu`.
reproduce: data
	@scale="$(SCALE)"; \
	if [ -z "$$scale" ]; then \
	  if $(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then \
	    scale=paper; echo "make reproduce: a CUDA device is visible: scale=paper (5 folds, full AlexNet)"; \
	  else \
	    scale=cpu; echo "make reproduce: no CUDA device: scale=cpu (2 folds; make reproduce SCALE=paper for the GPU configs)"; \
	  fi; \
	fi; \
	$(PY) experiments/run.py --multirun experiment=table2 scale=$$scale
	$(PY) -m disguisednets.reporting paper --only table2 gallery

## figures: CPU-scale Figs 6–10 (one fold), the same as `make results-figures`
figures: results-figures

RUN    := $(PY) experiments/run.py --multirun
REPORT := $(PY) -m disguisednets.reporting

## results: re-make everything in results/ at the current code, CPU scale (hours on 2 cores: results/README.md gives the parts).
## Each file names the target below that made it (its provenance line); each target can be re-run alone.
results: results-table2 results-figures results-theft results-peers results-attacks results-row-leak bench results-cli \
	results-forward-fit results-permutation results-challenge results-resistance results-instahide-curve results-leaderboard

## results-runs: only the sweeps of `make results` (the reports read their runs back from MLflow)
results-runs: runs-table2 runs-figures runs-theft runs-peers runs-instahide-curve runs-attacks runs-row-leak runs-challenge

runs-table2: data
	$(RUN) experiment=table2 scale=cpu
runs-figures: data
	$(RUN) experiment=fig6 scale.folds=0
	$(RUN) experiment=fig7 scale.folds=0
	$(RUN) experiment=fig8 scale.folds=0
	$(RUN) experiment=fig9 scale.folds=0
	$(RUN) experiment=fig10 scale.folds=0
	$(RUN) experiment=fig10_regression scale.folds=0
runs-theft: data
	$(RUN) experiment=model_confidentiality
runs-peers: data
	$(RUN) experiment=peers
	$(RUN) experiment=peers_dp
runs-instahide-curve: data
	$(RUN) experiment=instahide_curve
	$(RUN) experiment=instahide_curve dataset=fashion model=alexnet_cpu mechanism.fresh_encodings=false
runs-attacks: data
	PY=$(PY) bash experiments/attacks_cpu.sh
runs-row-leak: data
	$(RUN) tracking.experiment=row_leak mechanism=rmt attack=row_leak noise=none,uniform \
	  mechanism.kind=orthogonal,gaussian dataset=mnist,fashion dataset.train_size=45000

CHALLENGE ?= all
runs-challenge: data
	PART=$(CHALLENGE) PY=$(PY) bash experiments/challenge.sh   # CHALLENGE=core: the settings that resisted before only

## results-table2: results/table2.md, gallery.png, gallery_colour.png (CPU scale; `make reproduce` picks the scale)
results-table2: runs-table2
	$(REPORT) paper --only table2 gallery --made-by "make results-table2"
## results-figures: results/fig6.png … fig10.png (one fold)
results-figures: runs-figures
	$(REPORT) paper --only fig6 fig7 fig8 fig9 fig10 --made-by "make results-figures"
## results-theft: results/model_confidentiality.md, .png
results-theft: runs-theft
	$(REPORT) theft --results-dir results --made-by "make results-theft"
## results-peers: results/peers.md (the peers and DP pixelization sweeps; InstaHide's accuracy from the curve's runs; the challenge's attacks on the same settings)
results-peers: runs-peers runs-instahide-curve runs-challenge
	$(REPORT) peers --made-by "make results-peers"
## results-attacks: results/attacks_cpu.md (every attack on its mechanism, MNIST, fold 0)
results-attacks: runs-attacks
	$(REPORT) attacks --experiment attacks_cpu --out results/attacks_cpu.md --made-by "make results-attacks"
## results-row-leak: results/row_leak.md
results-row-leak: runs-row-leak
	$(REPORT) attacks --experiment row_leak --out results/row_leak.md --made-by "make results-row-leak"
## results-challenge: results/challenge.md (the strongest attack of each kind: higher-order statistics on RMT, EtC's
## statistics, the learned inverses; MNIST and Fashion-MNIST, fold 0)
results-challenge: runs-challenge
	$(REPORT) attacks --experiment challenge --out results/challenge.md --snapshots results/runs --made-by "make results-challenge"
## bench: results/bench_mechanisms.md, bench_cpu_training.md, bench_training.md, bench_attacks.md
bench: data
	$(PY) experiments/bench_mechanisms.py
	$(PY) experiments/bench_cpu_training.py
	$(PY) experiments/bench_training.py
	$(PY) experiments/bench_attacks.py
	$(PY) experiments/bench_probe.py
## results-cli: results/cli.md (the data owner's command line on 10,000 PNG files and 60,000 arrays)
results-cli: data
	bash experiments/bench_cli.sh
## results-forward-fit: results/forward_fit_clipping.md, .png
results-forward-fit: data
	$(PY) experiments/forward_fit_clipping.py
## results-permutation: results/permutation_recovery.md (π found at level (a), every setting of Table II and Figs 6–10)
results-permutation: data
	$(PY) experiments/permutation_recovery.py
## results-instahide-curve: results/instahide_curve.md, .png (InstaHide as its reference trains it, ~27 min on 2 cores with bf16)
results-instahide-curve: runs-instahide-curve
	$(REPORT) instahide-curve --made-by "make results-instahide-curve"
## results-leaderboard: results/leaderboard.md, .png (every built-in scheme and the example plugin through `disguisednets benchmark` on MNIST; QUICK=--quick for a first look)
results-leaderboard: data
	QUICK=$(QUICK) PY=$(PY) bash experiments/leaderboard.sh
## results-resistance: results/resistance.md, frontier.png and the verdict at the top of README.md (the verdict per setting, from the runs of the sweeps above)
results-resistance: results-runs
	$(REPORT) resistance --made-by "make results-resistance"

## test: every test, the slow ones (training, subprocesses) included, one worker per core (pytest-xdist;
## `make test WORKERS=0` runs them in this process)
WORKERS ?= auto
test: data
	$(PY) -m pytest -q -n $(WORKERS)

## test-fast: the tests not marked slow
test-fast: data
	$(PY) -m pytest -q -n $(WORKERS) -m "not slow"

## ui: the MLflow UI on the runs of outputs/ (opens on the table of runs: the address below picks model training)
ui: install
	@echo "MLflow UI: open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/outputs/mlflow.db --host 127.0.0.1 --port 5000

clean-outputs:
	rm -rf outputs
