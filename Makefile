# DisguisedNets — set-up and main jobs. `make reproduce` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install data reproduce test clean-outputs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## install: create .venv and install the package with its test dependencies
install: $(STAMP)

## data: fetch MNIST and Fashion-MNIST into the cache (~/.cache/disguisednets) and verify checksums
data: install
	$(PY) -m disguisednets.data fetch mnist fashion

## reproduce: CPU-scale baseline and RMT on MNIST, logged to MLflow, with a summary table
reproduce: data
	$(PY) experiments/run.py --multirun experiment=reproduce_cpu
	$(PY) -m disguisednets.report summary --experiment reproduce_cpu

## test: the unit and smoke tests
test: data
	$(PY) -m pytest -q

clean-outputs:
	rm -rf outputs
