"""The one entry point: compose the config, disguise the data, train, test, log to MLflow.

One run is one grid point (dataset × mechanism × settings × fold):

    python experiments/run.py mechanism=rmt fold=0
    python experiments/run.py --multirun experiment=table2

``run(cfg) -> metrics`` is a plain function, callable in-process (the tests do).
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from disguisednets.experiment import run  # noqa: E402


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    try:
        metrics = run(cfg)
    except ValueError as exc:   # a setting refused before anything trained or was recorded: one line, exit 2
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        raise SystemExit(2) from None
    return metrics["success_rate"] if "success_rate" in metrics else metrics["test_acc"]


if __name__ == "__main__":
    main()
