"""results/resistance.md and results/frontier.png: the verdict per setting, read from MLflow runs.

For every disguise setting with attack runs (Table II's, the figures', the attack sweeps', the peers'),
the least knowledge at which some attack re-identifies ≥ 50% of the test images by linkage, and at
which some attack reaches ≥ 90% success under the robust examiner, on the ladder: level (a) (the
attacker finds π itself), level (a) with π given (the upper bound), then m = 1, 2, 5, 10, 20 known
pairs; else "not within m = 20". Rates are means over folds. The frontier puts each setting at
x = its utility cost (baseline − accuracy, points) and y = its best level-(a) linkage (and m = 20's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ATTACK_EXPERIMENTS", "RUNGS", "TRAIN_EXPERIMENTS", "Verdict", "rung", "utility_costs", "verdicts"]

RUNGS = ("level (a)", "level (a), π given", "m = 1", "m = 2", "m = 5", "m = 10", "m = 20")
ATTACK_EXPERIMENTS = ("table2", "fig8", "fig10", "fig10_regression", "attacks_cpu", "row_leak", "peers")
TRAIN_EXPERIMENTS = ("table2", "fig6", "fig7", "fig9", "peers")
LINKAGE_BAR, SUCCESS_BAR = 50.0, 90.0


def pi_given(run) -> bool:
    """The attack put blocks back by the true π handed to it (tag ``permutation``; runs made before
    the tag existed say it by ``attack.knows_permutation``)."""
    tag = run.data.tags.get("permutation")
    if tag is not None:
        return tag.startswith("given")
    return run.data.params.get("attack.knows_permutation") == "True" and \
        run.data.tags.get("attack") in ("codebook", "regression", "frequency", "covariance", "row_leak")


def rung(run) -> str | None:
    """The run's place on the ladder of knowledge, or None (m beyond 20: more than the verdict asks)."""
    level = run.data.tags.get("threat_level")
    if level == "a":
        return RUNGS[1] if pi_given(run) else RUNGS[0]
    m = run.data.params.get("attack.known_pairs", "")
    return f"m = {m}" if level == "b" and f"m = {m}" in RUNGS else None


def setting_key(run) -> tuple[str, str]:
    """(dataset, disguise) of a run: the part of its ``setting`` tag after the task."""
    setting = run.data.tags.get("setting", "")
    disguise = setting.split(" · ", 1)[1] if " · " in setting else setting
    return run.data.tags.get("dataset", ""), disguise.split(" ", 1)[1] if " " in disguise else disguise


def attack_label(run) -> str:
    name = run.data.tags.get("attack", "?")
    fill = run.data.params.get("attack.miss_fill")
    return f"{name} ({fill} fill)" if name == "codebook" and fill not in (None, "", "None") else name


@dataclass
class Verdict:
    """One setting's verdict: for each bar, the first rung that clears it (and the attack and its rate)."""

    dataset: str
    setting: str
    linkage: tuple[str, str, float] | None = None      # (rung, attack, mean linkage %) or None: not within m = 20
    success: tuple[str, str, float] | None = None
    best_level_a: float | None = None                   # best level-(a) linkage without π, %
    best_m20: float | None = None                       # best linkage at m = 20, %
    experiments: set = field(default_factory=set)


def verdicts(runs_by_experiment: dict[str, list]) -> list[Verdict]:
    """The verdict of every (dataset, setting) among the attack runs of each experiment."""
    cells: dict[tuple, dict[tuple[str, str], dict[str, list[float]]]] = defaultdict(lambda: defaultdict(
        lambda: {"linkage_rate": [], "success_rate": []}))
    sources = defaultdict(set)
    for experiment, runs in runs_by_experiment.items():
        for r in runs:
            step = rung(r)
            if step is None or r.data.tags.get("kind") != "attack":
                continue
            key = setting_key(r)
            for metric in ("linkage_rate", "success_rate"):
                if metric in r.data.metrics:
                    cells[key][(step, attack_label(r))][metric].append(r.data.metrics[metric])
            sources[key].add(experiment)
    out = []
    for (dataset, setting), by_attack in sorted(cells.items()):
        v = Verdict(dataset, setting, experiments=sources[(dataset, setting)])
        means = {k: {m: float(np.mean(x)) for m, x in d.items() if x} for k, d in by_attack.items()}
        for metric, bar, slot in (("linkage_rate", LINKAGE_BAR, "linkage"), ("success_rate", SUCCESS_BAR, "success")):
            for step in RUNGS:
                cleared = [(means[k][metric], k[1]) for k in means if k[0] == step and means[k].get(metric, -1) >= bar]
                if cleared:
                    value, attack = max(cleared)
                    setattr(v, slot, (step, attack, value))
                    break
        level_a = [d["linkage_rate"] for k, d in means.items() if k[0] == RUNGS[0] and "linkage_rate" in d]
        m20 = [d["linkage_rate"] for k, d in means.items() if k[0] == "m = 20" and "linkage_rate" in d]
        v.best_level_a = max(level_a) if level_a else None
        v.best_m20 = max(m20) if m20 else None
        out.append(v)
    return out


def utility_costs(train_runs_by_experiment: dict[str, list]) -> dict[tuple[str, str], float]:
    """Mean utility cost (baseline − accuracy, points) of each (dataset, setting) over its training runs,
    each against the baseline of its own experiment, dataset and fold (else Table II's of that fold)."""
    baselines = {}
    for exp, runs in train_runs_by_experiment.items():
        for r in runs:
            if r.data.tags.get("mechanism") == "none" and "test_acc" in r.data.metrics:
                baselines[(exp, r.data.tags.get("dataset"), r.data.tags.get("fold"))] = r.data.metrics["test_acc"]
    costs = defaultdict(list)
    for exp, runs in train_runs_by_experiment.items():
        for r in runs:
            if r.data.tags.get("mechanism") == "none" or "test_acc" not in r.data.metrics:
                continue
            d, f = r.data.tags.get("dataset"), r.data.tags.get("fold")
            base = baselines.get((exp, d, f), baselines.get(("table2", d, f)))
            if base is not None:
                costs[setting_key(r)].append(base - r.data.metrics["test_acc"])
    return {k: float(np.mean(v)) for k, v in costs.items()}
