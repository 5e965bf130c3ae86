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


def _step(cell: tuple[str, str, float] | None) -> str:
    return "not within m = 20" if cell is None else f"{cell[0]} ({cell[1]}, {cell[2]:.1f}%)"


def resistance_markdown(found: list[Verdict], costs: dict[tuple[str, str], float], command: str) -> str:
    """The verdict table: one row per (dataset, setting)."""
    lines = ["# What each setting resists: the least knowledge that re-identifies", "",
             f"Made by `{command}` from the attack runs of the MLflow experiments "
             f"{', '.join(f'`{e}`' for e in ATTACK_EXPERIMENTS)} and the training runs of "
             f"{', '.join(f'`{e}`' for e in TRAIN_EXPERIMENTS)}. Rates in %, means over folds.", "",
             "| dataset | setting | utility cost (points) | linkage ≥ 50%: least knowledge (attack, linkage) | "
             "success ≥ 90%: least knowledge (attack, success) | best level-(a) linkage, π found | best linkage, "
             "m = 20 | from |", "|---|---|---|---|---|---|---|---|"]
    for v in found:
        cost = costs.get((v.dataset, v.setting))
        lines.append(f"| {v.dataset} | {v.setting} | {'—' if cost is None else f'{cost:.1f}'} | {_step(v.linkage)} | "
                     f"{_step(v.success)} | {'—' if v.best_level_a is None else f'{v.best_level_a:.1f}'} | "
                     f"{'—' if v.best_m20 is None else f'{v.best_m20:.1f}'} | {', '.join(sorted(v.experiments))} |")
    lines += ["", "**The ladder**, least knowledge first: *level (a)* — the cloud's disguised data and public "
              "same-domain images, every block arrangement found by the attack itself; *level (a), π given* — the "
              "same attacks handed the true block permutation (an upper bound, not a threat the cloud poses); "
              "*m = 1, 2, 5, 10, 20* — that many known original/disguised pairs as well. A setting's verdict is the "
              "first rung at which some attack clears the bar (linkage: the reconstruction's own original is the "
              "most correlated of all test originals; success: the robust examiner's accuracy on the "
              "reconstructions relative to the originals); *not within m = 20* where no attack run up to 20 pairs "
              "does. A rung with no attack run counts as not clearing: a verdict is only as strong as the attacks "
              "that were run (the *from* column names their experiments). *Utility cost*: baseline − accuracy of "
              "the model trained on the setting, against the baseline of the same experiment and fold.", ""]
    return "\n".join(lines)


def frontier_figure(found: list[Verdict], costs: dict[tuple[str, str], float]):
    """One panel per dataset: each setting with a utility cost at (cost, best level-(a) linkage), and its
    m = 20 linkage as a second marker joined to it."""
    from matplotlib.figure import Figure

    datasets = sorted({v.dataset for v in found if (v.dataset, v.setting) in costs})
    fig = Figure(figsize=(6.2 * max(len(datasets), 1), 5.2), layout="constrained")
    axes = fig.subplots(1, max(len(datasets), 1), squeeze=False)[0]
    for ax, dataset in zip(axes, datasets):
        for v in found:
            cost = costs.get((v.dataset, v.setting))
            if v.dataset != dataset or cost is None:
                continue
            a = v.best_level_a if v.best_level_a is not None else np.nan
            ax.scatter([cost], [a], marker="o", color="tab:red", zorder=3)
            if v.best_m20 is not None:
                ax.scatter([cost], [v.best_m20], marker="^", color="tab:blue", zorder=3)
                ax.plot([cost, cost], [a if np.isfinite(a) else v.best_m20, v.best_m20], color="0.7", lw=0.8)
            ax.annotate(v.setting, (cost, a if np.isfinite(a) else v.best_m20 or 0), fontsize=6, rotation=30,
                        xytext=(3, 4), textcoords="offset points")
        ax.set(title=dataset, xlabel="utility cost (points of accuracy lost)",
               ylabel="linkage: test images re-identified (%)", ylim=(-3, 103))
        ax.set_xlim(left=0)
        ax.axhline(LINKAGE_BAR, color="0.6", ls=":", lw=0.8)
    axes[0].scatter([], [], marker="o", color="tab:red", label="level (a): π found by the attacker, no pair")
    axes[0].scatter([], [], marker="^", color="tab:blue", label="m = 20 known pairs")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle("Privacy–utility frontier: lower and to the left is better for the data owner")
    return fig
