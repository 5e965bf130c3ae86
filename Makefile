# DisguisedNets — set-up and main jobs. `make reproduce` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
SCALE  ?=
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lock data reproduce figures test test-fast clean-outputs results results-runs results-reports \
	results-table2 results-figures results-theft results-peers results-attacks results-row-leak bench results-cli \
	results-forward-fit runs-table2 runs-figures runs-theft runs-peers runs-attacks runs-row-leak

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

## test: every test, the slow ones (training, subprocesses) included
test: data
	$(PY) -m pytest -q

## test-fast: the tests not marked slow (under a minute)
test-fast: data
	$(PY) -m pytest -q -m "not slow"

clean-outputs:
	rm -rf outputs
