"""results/resistance.md and results/frontier.png: the verdict per setting, read from MLflow runs.

For every disguise setting with attack runs (Table II's, the figures', the attack sweeps', the peers'),
the least knowledge at which some attack re-identifies ≥ 50% of the test images by linkage, and at
which some attack reaches ≥ 90% success under the robust examiner, on the ladder: level (a) (the
attacker finds π itself), level (a) with π given (the upper bound), then m = 1, 2, 5, 10, 20 known
pairs; else "not within m = 20". Rates are means over folds. The frontier puts each setting at
x = its utility cost (baseline − accuracy, points) and y = its best level-(a) linkage (and m = 20's).

An InstaHide encoding mixes several private images and an attack brings back whichever it can: its linkage is
to any private image the encoding mixes (``linkage_rate_any``, docs/method.md §6), not to the one the test
label names. InstaHide's utility cost is from its reference recipe's trainings (experiment
``instahide_curve``, against the peers sweep's baseline).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from disguisednets.reporting.runs import pi_given

__all__ = ["ATTACK_EXPERIMENTS", "RUNGS", "TRAIN_EXPERIMENTS", "Verdict", "rung", "short_label", "utility_costs",
           "verdicts"]

RUNGS = ("level (a)", "level (a), π given", "m = 1", "m = 2", "m = 5", "m = 10", "m = 20")
# (experiment=fig10_regression logs its runs into the MLflow experiment fig10, read with it)
ATTACK_EXPERIMENTS = ("table2", "fig8", "fig10", "attacks_cpu", "row_leak", "peers", "challenge")
TRAIN_EXPERIMENTS = ("table2", "fig6", "fig7", "fig9", "peers", "instahide_curve")
# An experiment without its own clear-image baseline compared against another's (else Table II's)
BASELINE_OF = {"instahide_curve": "peers"}
LINKAGE_BAR, SUCCESS_BAR = 50.0, 90.0


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
    disguise = disguise.split(" ", 1)[1] if " " in disguise else disguise
    # Uniform noise of level 0 adds nothing (Fig 7's noise-free points): the same disguise as no noise.
    return run.data.tags.get("dataset", ""), disguise.removesuffix(" uniform-level0")


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
    best_m20: float | None = None                       # best linkage with up to 20 pairs, level (a) included, %
    experiments: set = field(default_factory=set)
    tried: dict = field(default_factory=dict)           # (rung, attack) → mean linkage %: every attack run against it


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
            found = {"linkage_rate": r.data.metrics.get("linkage_rate_any", r.data.metrics.get("linkage_rate")),
                     "success_rate": r.data.metrics.get("success_rate")}
            for metric, value in found.items():
                if value is not None:
                    cells[key][(step, attack_label(r))][metric].append(value)
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
        # A level-(b) attacker holds everything level (a) holds: its best is over every rung up to m = 20
        # but the π-given one (an upper bound, not a threat).
        m20 = [d["linkage_rate"] for k, d in means.items() if k[0] != RUNGS[1] and "linkage_rate" in d]
        if not any(k[0] == "m = 20" for k in means):
            m20 = []  # no attack run with 20 pairs: say nothing of that rung
        v.tried = {k: d["linkage_rate"] for k, d in means.items() if "linkage_rate" in d}
        v.best_level_a = max(level_a) if level_a else None
        v.best_m20 = max(m20) if m20 else None
        out.append(v)
    return out


def utility_costs(train_runs_by_experiment: dict[str, list],
                  baseline_of: dict[str, str] = BASELINE_OF) -> dict[tuple[str, str], float]:
    """Mean utility cost (baseline − accuracy, points) of each (dataset, setting) over its training runs,
    each against the baseline of its own experiment (or the one ``baseline_of`` names), dataset and fold,
    else Table II's of that fold."""
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
            base = baselines.get((baseline_of.get(exp, exp), d, f), baselines.get(("table2", d, f)))
            if base is not None:
                costs[setting_key(r)].append(base - r.data.metrics["test_acc"])
    return {k: float(np.mean(v)) for k, v in costs.items()}


def _step(cell: tuple[str, str, float] | None) -> str:
    return "not within m = 20" if cell is None else f"{cell[0]} ({cell[1]}, {cell[2]:.1f}%)"


def tried_text(tried: dict) -> str:
    """Every attack run against a setting with its mean linkage, best first: 'higher_order 98.0, regression (m = 20)
    100.0, …' (level (a) unmarked, other rungs named)."""
    order = sorted(tried.items(), key=lambda kv: (-kv[1], RUNGS.index(kv[0][0]), kv[0][1]))
    return ", ".join(f"{attack}{'' if step == RUNGS[0] else f' ({step})'} {value:.1f}" for (step, attack), value in order)


def _sources_line(sources: dict[str, str] | None) -> str:
    """Which experiments were read from the MLflow store, which from their committed snapshots, which had none."""
    if not sources:
        return ""
    said = {"store": "from the MLflow store", "snapshot": "from their snapshots in results/runs/ (the store had none "
            "of their runs)", "store + snapshot": "from the store, and from their snapshots for the grid points the "
            "store had no run of", "none": "with no runs at all (their rows are missing)"}
    parts = [f"{said[k]}: {', '.join(f'`{e}`' for e, s in sources.items() if s == k)}"
             for k in said if any(s == k for s in sources.values())]
    return " Experiments read " + "; ".join(parts) + "."


def resistance_markdown(found: list[Verdict], costs: dict[tuple[str, str], float], command: str,
                        sources: dict[str, str] | None = None) -> str:
    """The verdict table: one row per (dataset, setting); ``sources`` says where each experiment's runs were read."""
    lines = ["# What each setting resists: the least knowledge that re-identifies", "",
             f"Made by `{command}` from the attack runs of the MLflow experiments "
             f"{', '.join(f'`{e}`' for e in ATTACK_EXPERIMENTS)} and the training runs of "
             f"{', '.join(f'`{e}`' for e in TRAIN_EXPERIMENTS)}. Rates in %, means over folds."
             + _sources_line(sources), "",
             "| dataset | setting | utility cost (points) | linkage ≥ 50%: least knowledge (attack, linkage) | "
             "success ≥ 90%: least knowledge (attack, success) | best level-(a) linkage, π found | best linkage, "
             "≤ 20 pairs | attacks tried (linkage %) | from |", "|---|---|---|---|---|---|---|---|---|"]
    for v in found:
        cost = costs.get((v.dataset, v.setting))
        lines.append(f"| {v.dataset} | {v.setting} | {'—' if cost is None else f'{cost:.1f}'} | {_step(v.linkage)} | "
                     f"{_step(v.success)} | {'—' if v.best_level_a is None else f'{v.best_level_a:.1f}'} | "
                     f"{'—' if v.best_m20 is None else f'{v.best_m20:.1f}'} | {tried_text(v.tried)} | "
                     f"{', '.join(sorted(v.experiments))} |")
    lines += ["", "**The ladder**, least knowledge first: *level (a)* — the cloud's disguised data and public "
              "same-domain images, every block arrangement found by the attack itself; *level (a), π given* — the "
              "same attacks handed the true block permutation (an upper bound, not a threat the cloud poses); "
              "*m = 1, 2, 5, 10, 20* — that many known original/disguised pairs as well. A setting's verdict is the "
              "first rung at which some attack clears the bar (linkage: the reconstruction's own original is the "
              "most correlated of all test originals; success: the robust examiner's accuracy on the "
              "reconstructions relative to the originals); *not within m = 20* where no attack run up to 20 pairs "
              "does. A rung with no attack run counts as not clearing: a verdict is only as strong as the attacks "
              "that were run (the *from* column names their experiments). *Best linkage, ≤ 20 pairs*: the best of "
              "every attack up to m = 20, level (a)'s included (a cloud with pairs still has its public images), "
              "shown where some attack was run with 20 pairs. *Attacks tried*: every attack run against the setting, "
              "with its mean linkage, best first — what a verdict resisted. *Utility cost*: baseline − accuracy of "
              "the model trained on the setting, against the baseline of the same experiment and fold. "
              "*InstaHide*: an encoding mixes several private images and an attack brings back whichever it can, so "
              "its linkage counts a reconstruction linked to any private image its encoding mixes (Carlini et al.'s "
              "attack, docs/method.md §6); its utility cost is its reference recipe's (ResNet-18, fresh encodings "
              "every epoch: results/instahide_curve.md) against the peers sweep's AlexNet baseline. "
              "*DP pixelization*: ε = inf is pixelization without noise.", ""]
    return "\n".join(lines)


_SCHEMES = {"permutation": ("permutation", "tab:purple"), "rmt": ("RMT", "tab:red"), "aes_ecb": ("AES-ECB", "tab:orange"),
            "aes_cbc": ("AES-CBC", "tab:brown"), "etc": ("EtC", "tab:green"), "learnable": ("learnable", "tab:olive"),
            "instahide": ("InstaHide", "tab:blue"), "dp_pixelization": ("DP pixel.", "tab:cyan")}


def short_label(setting: str) -> str:
    """A setting's name as the frontier writes it: 'rmt-b7-orthogonal-matrix uniform-level100' → 'RMT b7 orth. +U100'."""
    scheme, *rest = setting.split("-", 1)
    parts = [_SCHEMES.get(scheme, (scheme, ""))[0]]
    text = rest[0] if rest else ""
    for pattern, name in ((r"\bb(\d+)\b", r"b\1"), (r"unit(\d+)", r"u\1"), (r"orthogonal-matrix", "orth."),
                          (r"gaussian-matrix", "Gauss."), (r"literal-bilinear", "literal"),
                          (r"uniform-level(\d+)", r"+U\1"),
                          (r"salt_and_pepper-rate([\d.]+)", lambda m: f"+s&p {100 * float(m.group(1)):g}%"),
                          (r"gaussian-sigma(\d+)", r"+N\1"), (r"eps-inf", "ε∞"), (r"eps([\d.]+)", r"ε\1")):
        text = re.sub(pattern, name, text)
    if scheme == "instahide":
        text = ""
    return " ".join(parts + [t for t in re.split(r"[- ]", text) if t])


def _spread(ys: list[float], xs: list[float], gap: float, width: float) -> list[float]:
    """Label heights: each point's own, moved down until no label within ``width`` in x is closer than ``gap``."""
    placed: list[tuple[float, float]] = []
    out = [0.0] * len(ys)

    def taken(i: int, y: float) -> bool:
        return any(abs(y - py) < gap and abs(xs[i] - px) < width for px, py in placed)

    for i in sorted(range(len(ys)), key=lambda i: (-ys[i], xs[i])):
        y = ys[i]
        while taken(i, y):
            y -= gap
        if y < 0:  # below the axis: go up from the point instead
            y = ys[i]
            while taken(i, y):
                y += gap
        placed.append((xs[i], y))
        out[i] = y
    return out


def _dp_series(shown: list[Verdict], costs: dict[tuple[str, str], float]) -> dict[str, list[tuple[float, float, str]]]:
    """DP pixelization's settings as one curve per block size: {'b4': [(cost, level-(a) linkage, 'ε5'), …]}."""
    series: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for v in shown:
        found = re.fullmatch(r"dp_pixelization-(b\d+)-eps(-inf|[\d.]+)", v.setting)
        if found and v.best_level_a is not None:
            eps = "ε∞" if found.group(2) == "-inf" else f"ε{found.group(2)}"
            series[found.group(1)].append((costs[(v.dataset, v.setting)], v.best_level_a, eps))
    return {b: sorted(points) for b, points in sorted(series.items())}


def frontier_figure(found: list[Verdict], costs: dict[tuple[str, str], float]):
    """One panel per dataset: each setting with a utility cost at (cost, best level-(a) linkage), its best
    linkage with up to 20 pairs as a second marker joined to it; colour = scheme, labels spaced apart.
    DP pixelization is drawn as one curve per block size through its ε values, each point marked with its ε."""
    from matplotlib.figure import Figure

    datasets = sorted({v.dataset for v in found if (v.dataset, v.setting) in costs})
    fig = Figure(figsize=(7.5 * max(len(datasets), 1), 6.2), layout="constrained")
    axes = fig.subplots(1, max(len(datasets), 1), squeeze=False)[0]
    for ax, dataset in zip(axes, datasets):
        costed = [v for v in found if v.dataset == dataset and (v.dataset, v.setting) in costs]
        dp = _dp_series(costed, costs)
        shown = [v for v in costed if not v.setting.startswith("dp_pixelization-")]
        xs = [costs[(v.dataset, v.setting)] for v in shown]
        ys = [v.best_level_a if v.best_level_a is not None else v.best_m20 for v in shown]
        ys = [np.nan if y is None else y for y in ys]
        dp_right = max((x for points in dp.values() for x, _, _ in points), default=0.0) * 1.12 + 1.0
        right = max(max(xs, default=1.0) * 1.45 + 1.0, dp_right)
        heights = _spread([0.0 if np.isnan(y) else y for y in ys], xs, gap=4.5, width=right * 0.3)
        for v, x, y, ly in zip(shown, xs, ys, heights):
            colour = _SCHEMES.get(v.setting.split("-", 1)[0], ("", "0.3"))[1]
            if v.best_level_a is not None:
                ax.scatter([x], [v.best_level_a], marker="o", s=40, color=colour, zorder=3)
            if v.best_m20 is not None:
                ax.scatter([x], [v.best_m20], marker="^", s=40, facecolors="none", edgecolors=colour, zorder=3)
                if v.best_level_a is not None:
                    ax.plot([x, x], [v.best_level_a, v.best_m20], color=colour, lw=0.8, alpha=0.5)
            if not np.isnan(y):
                ax.annotate(short_label(v.setting), (x, y), xytext=(x + right * 0.07, ly), fontsize=7, color=colour,
                            va="center", arrowprops=dict(arrowstyle="-", color="0.75", lw=0.5))
        colour = _SCHEMES["dp_pixelization"][1]
        for i, (block, points) in enumerate(dp.items()):
            px, py, eps = zip(*points)
            ax.plot(px, py, marker="os"[i % 2], ms=5, color=colour, lw=1.0, ls="-" if i % 2 == 0 else "--", zorder=3,
                    label=f"DP pixelization {block} (ε from ∞ on the left to 0.1)")
            merged: dict[tuple[float, float], list[str]] = defaultdict(list)  # points that coincide share a label
            for x, y, e in points:
                merged[(round(x), round(y))].append(e)
            for (x, y), names in merged.items():
                ax.annotate(", ".join(names), (x, y), xytext=(0, 6 + 9 * i), textcoords="offset points", fontsize=6, color=colour,
                            ha="center")
        if dp:
            ax.legend(loc="center right", fontsize=7, frameon=False)
        ax.set(title=dataset, xlabel="utility cost (points of accuracy lost)",
               ylabel="linkage: test images re-identified (%)", ylim=(-3, 103), xlim=(0, right))
        ax.axhline(LINKAGE_BAR, color="0.6", ls=":", lw=0.8)
    axes[0].scatter([], [], marker="o", color="0.3", label="level (a): no pair, π found by the attacker")
    axes[0].scatter([], [], marker="^", facecolors="none", edgecolors="0.3",
                    label="best with up to 20 known pairs (level (a)'s attacks included)")
    handles = [h for h in axes[0].collections if h.get_label() and not h.get_label().startswith("_")][-2:]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle("Privacy–utility frontier: lower and to the left is better for the data owner")
    return fig
