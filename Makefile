# DisguisedNets — set-up and main jobs. `make reproduce` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install data reproduce figures test clean-outputs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## install: create .venv and install the package with its test dependencies
install: $(STAMP)

## data: fetch MNIST and Fashion-MNIST into the cache (~/.cache/disguisednets) and verify checksums
data: install
	$(PY) -m disguisednets.data fetch mnist fashion

## reproduce: CPU-scale Table II (both datasets, 2 folds), logged to MLflow; writes results/table2.md, gallery.png
reproduce: data
	$(PY) experiments/run.py --multirun experiment=table2
	$(PY) -m disguisednets.report paper --only table2 gallery

## figures: CPU-scale Figs 6–10 (one fold), then the full report (about 32 minutes on 2 cores)
figures: data
	$(PY) experiments/run.py --multirun experiment=fig6 scale.folds=0
	$(PY) experiments/run.py --multirun experiment=fig7 scale.folds=0
	$(PY) experiments/run.py --multirun experiment=fig8 scale.folds=0
	$(PY) experiments/run.py --multirun experiment=fig9 scale.folds=0
	$(PY) experiments/run.py --multirun experiment=fig10 scale.folds=0
	$(PY) experiments/run.py --multirun experiment=fig10_regression scale.folds=0
	$(PY) -m disguisednets.report paper

## test: the unit and smoke tests
test: data
	$(PY) -m pytest -q

clean-outputs:
	rm -rf outputs
