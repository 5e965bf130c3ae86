"""Runs read back from MLflow by their structured tags (``kind``, ``setting``, ``fold``, ``column``,
``dataset``, ``mechanism``, ``attack``), never by their names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from mlflow.tracking import MlflowClient

__all__ = ["Runs", "grid_point", "load_runs", "pi_given", "values", "mean_std", "fmt", "folds"]


@dataclass
class Runs:
    """The latest finished run of each grid point (``setting`` and ``fold`` tags) of one experiment."""

    experiment: str
    runs: list = field(default_factory=list)

    def select(self, **where: str | Callable[[str], bool]) -> list:
        """Runs whose tag or param ``k`` equals (or satisfies) ``where[k]``; a missing one reads as ''."""
        out = []
        for r in self.runs:
            found = {**r.data.params, **r.data.tags}
            if all((w(found.get(k, "")) if callable(w) else found.get(k, "") == str(w)) for k, w in where.items()):
                out.append(r)
        return out

    def trained(self, **where) -> list:
        return self.select(kind="train", **where)

    def attacked(self, **where) -> list:
        return self.select(kind="attack", **where)

    def __len__(self) -> int:
        return len(self.runs)


def grid_point(run) -> tuple[str | None, str | None]:
    """The grid point a run belongs to: its ``setting`` and ``fold`` tags (a report keeps one run of each)."""
    return run.data.tags.get("setting"), run.data.tags.get("fold")


def load_runs(client: MlflowClient, experiment: str) -> Runs:
    """The experiment's train and attack runs, the latest finished one of each (setting, fold)."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return Runs(experiment)
    found = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                               order_by=["attributes.start_time DESC"], max_results=50000)
    latest: dict[tuple[str, str], object] = {}
    for r in found:
        if r.data.tags.get("kind") in ("train", "attack"):
            latest.setdefault(grid_point(r), r)
    return Runs(experiment, list(latest.values()))


def pi_given(run) -> bool:
    """The attack put blocks back by the true π handed to it: the upper bound, not the attack as the cloud
    runs it (tag ``permutation``; runs made before the tag existed say it by ``attack.knows_permutation``).
    Never on undisguised images: there is no π to hand over (older runs tagged those "given")."""
    if run.data.tags.get("mechanism") == "none":
        return False
    tag = run.data.tags.get("permutation")
    if tag is not None:
        return tag.startswith("given")
    return run.data.params.get("attack.knows_permutation") == "True" and \
        run.data.tags.get("attack") in ("codebook", "regression", "frequency", "covariance", "row_leak")


def values(runs: Iterable, metric: str) -> list[float]:
    return [r.data.metrics[metric] for r in runs if metric in r.data.metrics]


def mean_std(vals: list[float]) -> tuple[float, float]:
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def fmt(vals: list[float], digits: int = 1, count_folds: bool = False) -> str:
    """'mean ± std' over folds (one fold: the value); with ``count_folds``, '(n folds)' after it."""
    if not vals:
        return "—"
    mean, std = mean_std(vals)
    text = f"{mean:.{digits}f} ± {std:.{digits}f}" if len(vals) > 1 else f"{mean:.{digits}f}"
    if count_folds:
        text += f" ({len(vals)} fold{'s' * (len(vals) != 1)})"
    return text


def folds(runs: Iterable) -> int:
    return len({r.data.tags.get("fold") for r in runs})
