"""Reporting (docs/method.md §5): runs read back from MLflow by their tags, the paper's numbers,
Table II, Figures 6–10, galleries, and the CLI ``python -m disguisednets.reporting``."""

from disguisednets.reporting.runs import Runs, load_runs
from disguisednets.reporting.write import write_paper_report

__all__ = ["Runs", "load_runs", "write_paper_report"]
