"""Table II and Figures 6–10, read back from the MLflow runs and set beside the paper (docs/method.md §5).

    python -m disguisednets.report paper                 # every table and figure with runs
    python -m disguisednets.report paper --only table2

Each figure is drawn from the runs of its experiment (``conf/experiment/figN.yaml``): mean over
folds, with the standard deviation as error bars where there is more than one fold. The paper's
plots are not in its text, so each figure carries the paper's stated trend as its caption.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from mlflow.tracking import MlflowClient

__all__ = ["PAPER_TABLE2", "CAPTIONS", "Runs", "load_runs", "table2_markdown", "FIGURES", "gallery_figure"]

# Paper, Table II (docs/method.md §5): (mean, std) in %.
PAPER_TABLE2: dict[str, dict[str, tuple[float, float]]] = {
    "mnist": {"rmt": (96.6, 0.4), "aes_ecb": (91.6, 1.1), "none": (96.7, 0.2),
              "rmt_attack": (9.29, 3.3), "aes_ecb_attack": (37.3, 0.9), "none_attack": (96.7, 0.2)},
    "fashion": {"rmt": (85.1, 0.6), "aes_ecb": (68.9, 1.4), "none": (88.7, 0.3),
                "rmt_attack": (11.42, 1.3), "aes_ecb_attack": (19.3, 0.8), "none_attack": (88.7, 0.3)},
}

CAPTIONS = {
    "fig6": "Paper, Fig 6: smaller blocks (more blocks) preserve more utility; 2-pixel units via scale-up/"
            "scale-down are \"only 2–3% worse than the baselines\".",
    "fig7": "Paper, Fig 7: orthogonal matrices keep more utility than random projections; noise changes "
            "accuracy little; smaller blocks cost slightly; \"only 2–3% worse than baseline\".",
    "fig8": "Paper, Fig 8: u=16: hit rate < 10%, success grows slowly; u=2: hit rate rises to ~10% then "
            "falls to 2–3%, success plateaus near 50% by 20 pairs.",
    "fig9": "Paper, Fig 9: 2–3% salt-and-pepper noise cuts attack success by ~10 points with little "
            "accuracy loss; too much noise destroys accuracy.",
    "fig10": "Paper, Fig 10: direct re-identification of RMT images is low for every block size; the "
             "regression attack on b=7, u=100 is \"surprisingly effective\" with few pairs.",
}


@dataclass
class Runs:
    """The latest finished run of each grid point (run name = setting + fold) of one experiment."""

    experiment: str
    runs: list = field(default_factory=list)

    def select(self, **where: str | Callable[[str], bool]) -> list:
        """Runs whose tag or param ``k`` equals (or satisfies) ``where[k]``; a missing one reads as ''."""
        out = []
        for r in self.runs:
            values = {**r.data.params, **r.data.tags}
            if all((w(values.get(k, "")) if callable(w) else values.get(k, "") == str(w)) for k, w in where.items()):
                out.append(r)
        return out

    def __len__(self) -> int:
        return len(self.runs)


def load_runs(client: MlflowClient, experiment: str) -> Runs:
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return Runs(experiment)
    found = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                               order_by=["attributes.start_time DESC"], max_results=50000)
    latest: dict[str, object] = {}
    for r in found:
        if r.data.tags.get("kind") == "report":
            continue
        latest.setdefault(r.info.run_name, r)
    return Runs(experiment, list(latest.values()))


def _values(runs: Iterable, metric: str, scale: float = 1.0) -> list[float]:
    return [scale * r.data.metrics[metric] for r in runs if metric in r.data.metrics]


def _mean_std(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _fmt(values: list[float], digits: int = 1) -> str:
    if not values:
        return "—"
    mean, std = _mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def _folds(runs: Iterable) -> int:
    return len({r.data.tags.get("fold") for r in runs})


# ----------------------------------------------------------------------------------------------
# Table II

# The attack cells of Table II: (label, mechanism, attack, extra filters, paper key or None).
TABLE2_ATTACKS = [
    ("RMT: regression, inverse fit (docs/method.md §4), m = 20", "rmt", "regression", {"attack.form": "inverse", "attack.known_pairs": "20"}, "rmt_attack"),
    ("RMT: regression, paper's forward fit, m = 20", "rmt", "regression", {"attack.form": "forward", "attack.known_pairs": "20"}, "rmt_attack"),
    ("RMT: regression, inverse fit, m = 1", "rmt", "regression", {"attack.form": "inverse", "attack.known_pairs": "1"}, None),
    ("RMT: direct re-identification, m = 0", "rmt", "direct", {}, None),
    ("AES-ECB: codebook, m = 20, misses → most frequent unit", "aes_ecb", "codebook",
     {"attack.known_pairs": "20", "attack.miss_fill": "mode"}, "aes_ecb_attack"),
    ("AES-ECB: codebook, m = 20, misses → foreground", "aes_ecb", "codebook",
     {"attack.known_pairs": "20", "attack.miss_fill": "foreground"}, "aes_ecb_attack"),
    ("AES-ECB: codebook, m = 1", "aes_ecb", "codebook", {"attack.known_pairs": "1", "attack.miss_fill": "mode"}, None),
    ("AES-ECB: direct re-identification, m = 0", "aes_ecb", "direct", {}, None),
]


def _paper_cell(ds: str, key: str) -> str:
    mean, std = PAPER_TABLE2[ds][key]
    return f"{mean} ± {std}"


def _utility_cost(baseline: list, disguised: list) -> list[float]:
    """Baseline − disguised test accuracy (points), paired by fold."""
    base = {r.data.tags.get("fold"): 100 * r.data.metrics["test_acc"] for r in baseline if "test_acc" in r.data.metrics}
    return [base[r.data.tags.get("fold")] - 100 * r.data.metrics["test_acc"] for r in disguised
            if "test_acc" in r.data.metrics and r.data.tags.get("fold") in base]


def _paper_cost(ds: str, key: str) -> str:
    (b, sb), (d, sd) = PAPER_TABLE2[ds]["none"], PAPER_TABLE2[ds][key]
    return f"{b - d:.1f} ± {(sb ** 2 + sd ** 2) ** 0.5:.1f}"


def table2_markdown(runs: Runs, command: str) -> str:
    """Table II: accuracy (ours and the paper's), then every attack cell under the robust examiner,
    the paper-protocol examiner and the examiner-free linkage rate, beside the paper's number."""
    trained = lambda mech, ds: runs.select(dataset=ds, mechanism=mech, attack="")  # noqa: E731
    accuracy = ["| dataset | | RMT acc. | AES-ECB acc. | baseline acc. | RMT utility cost | AES-ECB utility cost |",
                "|---|---|---|---|---|---|---|"]
    attacks = ["| dataset | attack | paper: success | ours: success, robust examiner | ours: success, "
               "paper-protocol examiner | ours: linkage rate | ours: SSIM |", "|---|---|---|---|---|---|---|"]
    examiners = ["| dataset | examiner | accuracy on original test images | worst calibration (relative %) |",
                 "|---|---|---|---|"]
    notes = []
    for ds in ("mnist", "fashion"):
        if not runs.select(dataset=ds):
            continue
        rmt, aes, base = (trained(m, ds) for m in ("rmt", "aes_ecb", "none"))
        folds = _folds(runs.select(dataset=ds))
        accuracy.append(f"| {ds} | ours ({folds} fold{'s' * (folds != 1)}) | " + " | ".join(
            _fmt(_values(r, "test_acc", 100)) for r in (rmt, aes, base)) + " | "
            + " | ".join(_fmt(_utility_cost(base, r)) for r in (rmt, aes)) + " |")
        accuracy.append(f"| {ds} | paper (5 folds) | " + " | ".join(
            _paper_cell(ds, k) for k in ("rmt", "aes_ecb", "none")) + " | "
            + " | ".join(_paper_cost(ds, k) for k in ("rmt", "aes_ecb")) + " |")
        attacked, shown = [], set()
        for label, mech, attack, where, paper_key in TABLE2_ATTACKS:
            sel = runs.select(dataset=ds, mechanism=mech, attack=attack, **where)
            attacked += sel
            if not sel:
                continue
            # the paper's number beside the first of our rows for its cell
            paper = "—" if not paper_key else ("(the same cell)" if paper_key in shown else _paper_cell(ds, paper_key))
            shown.add(paper_key)
            attacks.append(f"| {ds} | {label} | {paper} | {_fmt(_values(sel, 'success_rate'))} | "
                           f"{_fmt(_values(sel, 'success_rate_paper'))} | {_fmt(_values(sel, 'linkage_rate'))} | "
                           f"{_fmt(_values(sel, 'ssim'), 2)} |")
        if attacked:
            attacks.append(f"| {ds} | baseline: no disguise | {_paper_cell(ds, 'none_attack')} | 100 by definition | "
                           f"100 by definition | 100 | 1.00 |")
            examiners.append(f"| {ds} | robust (all original training images, augmented; conf/examiner/) | "
                             f"{_fmt(_values(attacked, 'examiner_acc_original', 100))} | "
                             f"{_fmt(_values(attacked, 'examiner_calib_worst'))} |")
            examiners.append(f"| {ds} | paper protocol (the baseline model of this scale) | "
                             f"{_fmt(_values(attacked, 'paper_examiner_acc_original', 100))} | "
                             f"{_fmt(_values(attacked, 'paper_examiner_calib_worst'))} |")
        if base:
            tags, params = base[0].data.tags, base[0].data.params
            notes.append(f"{ds}: scale {tags.get('scale', '?')}, AlexNet width {params.get('model.width')}, "
                         f"{params.get('trainer.max_epochs')} epochs, training images per fold: "
                         f"{int(base[0].data.metrics.get('train_images', 0))}, test images: "
                         f"{params.get('dataset.test_size') if params.get('dataset.test_size') not in (None, 'None') else 10000}"
                         f", machine: {tags.get('machine', '?')}")
    compute = sum(_values(runs.runs, "total_time_s")) / 60
    return "\n".join([
        "# Table II — ours beside the paper's", "",
        f"Made by `{command}` from the runs of MLflow experiment `table2` "
        f"({len(runs)} runs, {compute:.1f} min of run time in all).", "",
        "## Accuracy of the model trained on disguised images (%)", "",
        *accuracy, "",
        "Test accuracy on the fold's test images, in the remapped label space. Mean ± sample std over folds; a "
        "fold is a seed for key, sampling and initialization. **Utility cost** = baseline accuracy − accuracy "
        "on disguised images, in points: ours per fold (the same fold's baseline), the paper's from its means "
        "(std: the two stds combined as if independent). It is the comparison that does not depend on whose "
        "AlexNet it is.", "",
        "## Attacks (%)", "",
        *attacks, "",
        "Success = 100 × examiner accuracy on the reconstructed (or, for direct re-identification, disguised) "
        "test images / its accuracy on the original test images (docs/method.md §4), under two examiners: the **robust** "
        "one (trained on all original training images with augmentations a person shrugs off, and checked on "
        "a calibration set of perturbed originals) and the **paper-protocol** one (the baseline model of the "
        "run's own scale, as the paper used it). **Linkage** (examiner-free) = share of reconstructed test "
        "images whose own original is the most correlated of all original test images (chance: 0.01% of "
        "10,000). Reconstructions end with the attacker's clean-up (clip; denoise and threshold fitted on "
        "cross-fitted known pairs). The paper gives one success number per attack cell and does not say which "
        "regression it ran; the forward fit is its form.", "",
        "## The examiners", "",
        *examiners, "",
        "Worst calibration: the lowest accuracy, relative to clean, over the calibration set (uniform noise "
        "±20, ±50 and +U(0, 100), Gaussian noise σ = 25, +40 offset, ×0.7 contrast, blur σ = 1, a 1-pixel "
        "shift). An examiner far below 100 there calls recognisable images unrecognisable.", "",
        "Settings, as the runs recorded them (conf/column/): " + _settings(runs) + ". The paper states neither "
        "m nor the exact settings of its \"best\" columns; ours follow its §V-C.", "",
        *[f"- {n}" for n in notes], "",
    ])


def _settings(runs: Runs) -> str:
    """Each column's setting read from its runs (run name without dataset and fold; attack options)."""
    def name(r) -> str:
        return r.info.run_name.split("-", 1)[1].rsplit("-fold", 1)[0]

    out = []
    for label, where in (("RMT", dict(mechanism="rmt", attack="")), ("AES-ECB", dict(mechanism="aes_ecb", attack="")),
                         ("RMT attack", dict(mechanism="rmt", attack="regression")),
                         ("AES-ECB attack", dict(mechanism="aes_ecb", attack="codebook"))):
        found = sorted({name(r) + (f" (padded to {r.data.params['dataset.pad_to']} px)"
                                   if r.data.params.get("dataset.pad_to") not in (None, "None") and not where["attack"]
                                   else "")
                        + (f", misses filled with {r.data.params['attack.miss_fill']}"
                           if "attack.miss_fill" in r.data.params else "")
                        for r in runs.select(**where)})
        if found:
            out.append(f"{label} = {' and '.join(f'`{f}`' for f in found)}")
    return "; ".join(out) or "—"


# ----------------------------------------------------------------------------------------------
# Figures

def _series(runs: list, x_of: Callable, metric: str, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    by_x: dict[float, list[float]] = defaultdict(list)
    for r in runs:
        if metric in r.data.metrics:
            by_x[float(x_of(r))].append(scale * r.data.metrics[metric])
    xs = np.array(sorted(by_x))
    stats = [_mean_std(by_x[x]) for x in xs]
    return xs, np.array([s[0] for s in stats]), np.array([s[1] for s in stats])


def _plot(ax, runs, x_of, metric, label, scale=1.0, **style):
    xs, mean, std = _series(runs, x_of, metric, scale)
    if len(xs):
        style = {"marker": "o", **style}
        ax.errorbar(xs, mean, yerr=std if std.any() else None, ms=4, capsize=3, label=label, **style)
    return len(xs)


def _baseline(reference: Runs | None, dataset: str) -> list[float]:
    if reference is None:
        return []
    return _values(reference.select(dataset=dataset, mechanism="none", attack=""), "test_acc", 100)


def _axhline_baseline(ax, values: list[float]) -> None:
    if values:
        ax.axhline(float(np.mean(values)), color="gray", ls="--", lw=1, label=f"our baseline {np.mean(values):.1f}")


def _new_figure(ncols: int, caption: str, title: str):
    from matplotlib.figure import Figure  # no pyplot: no global figure registry

    fig = Figure(figsize=(5.2 * ncols, 4.2), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    fig.suptitle(title, fontsize=10)
    fig.get_layout_engine().set(h_pad=0.1)
    fig.supxlabel(caption, fontsize=8, wrap=True)
    return fig, axes


def _param(name: str, cast=float) -> Callable:
    return lambda r: cast(r.data.params[name])


def _scale_note(runs: list) -> str:
    if not runs:
        return ""
    r = runs[0]
    return (f" — scale {r.data.tags.get('scale', '?')}, {r.data.params.get('dataset.name')}, "
            f"{_folds(runs)} fold(s)")


def fig6(runs: Runs, reference: Runs | None, others: Callable[[str], Runs] | None = None):
    trained = runs.select(mechanism="aes_ecb", attack="")
    if not trained:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig6"], "Fig 6: accuracy on AES-ECB-disguised images" + _scale_note(trained))
    blocks = lambda r: (32 // int(r.data.params["mechanism.block_size"])) ** 2  # noqa: E731
    for ax, units, title in ((axes[0], ("16",), "16-pixel units"), (axes[1], ("1", "2", "4", "8"), "smaller units")):
        for u in units:
            _plot(ax, runs.select(mechanism="aes_ecb", attack="", **{"mechanism.unit": u}), blocks, "test_acc",
                  f"u = {u}", 100)
        _axhline_baseline(ax, _baseline(reference, trained[0].data.params["dataset.name"]))
        ax.set(xscale="log", xlabel="number of blocks (32×32 images)", ylabel="test accuracy (%)", title=title)
        ax.set_xticks([1, 4, 16, 64], ["1", "4", "16", "64"])
        ax.legend(fontsize=8)
    return fig


def fig7(runs: Runs, reference: Runs | None, others: Callable[[str], Runs] | None = None):
    trained = runs.select(mechanism="rmt", attack="")
    if not trained:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig7"], "Fig 7: accuracy on RMT-disguised images" + _scale_note(trained))
    level = lambda r: float(r.data.params.get("noise.level", 0) if r.data.params.get("noise.kind") == "uniform" else 0)  # noqa: E731
    sizes = sorted({int(r.data.params["mechanism.block_size"]) for r in trained})
    b_left = 7 if 7 in sizes else sizes[0]
    levels = sorted({level(r) for r in trained})
    for kind, style in (("orthogonal", "-"), ("gaussian", "--")):
        _plot(axes[0], [r for r in runs.select(mechanism="rmt", attack="", **{"mechanism.kind": kind,
                                                                               "mechanism.block_size": b_left})],
              level, "test_acc", f"{kind}, b = {b_left}", 100, ls=style)
        for lv in levels:
            _plot(axes[1], [r for r in runs.select(mechanism="rmt", attack="", **{"mechanism.kind": kind})
                            if level(r) == lv], _param("mechanism.block_size", int), "test_acc",
                  f"{kind}, noise u = {lv:g}", 100, ls=style)
    base = _baseline(reference, trained[0].data.params["dataset.name"])
    for ax in axes:
        _axhline_baseline(ax, base)
        ax.legend(fontsize=7)
    axes[0].set(xlabel="uniform noise level u (pixel scale 0..255)", ylabel="test accuracy (%)",
                title="orthogonal vs random projection, by noise")
    axes[1].set(xlabel="block size b (28×28 images)", ylabel="test accuracy (%)", title="by block size")
    axes[1].set_xticks(sizes)
    return fig


def _known_pairs(r) -> float:
    return r.data.metrics["known_pairs"]


def _attack_lines(ax, runs, x_of, suffix: str = "", **style) -> None:
    """An attack's three scores against ``x_of``: success under the robust examiner, under the
    paper-protocol examiner, and the examiner-free linkage rate."""
    _plot(ax, runs, x_of, "success_rate", "success, robust examiner" + suffix, color="C0", **style)
    _plot(ax, runs, x_of, "success_rate_paper", "success, paper-protocol examiner" + suffix, color="C1",
          marker="s", **{k: v for k, v in style.items() if k != "marker"})
    _plot(ax, runs, x_of, "linkage_rate", "linkage rate (no examiner)" + suffix, color="C4", **style)


def fig8(runs: Runs, reference: Runs | None = None, others: Callable[[str], Runs] | None = None):
    attacked = runs.select(attack="codebook")
    if not attacked:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig8"], "Fig 8: codebook attack on AES-ECB vs known pairs" + _scale_note(attacked))
    panels = ((axes[0], "16", "16-pixel units"), (axes[1], "2", "2-pixel units"))
    for ax, u, title in panels:
        twin = ax.twinx()
        for form, style in (("exact", "-"), ("literal", ":")):
            sel = runs.select(attack="codebook", **{"mechanism.unit": u, "mechanism.form": form})
            if not sel or (u == "16" and form == "literal"):  # u = 16 literal is the exact form
                continue
            suffix = f" ({form}{', ' + sel[0].data.params['mechanism.filter'] if form == 'literal' else ''})"
            _attack_lines(ax, sel, _known_pairs, suffix, ls=style)
            _plot(twin, sel, _known_pairs, "hit_rate_foreground", "hit rate, foreground units" + suffix, 100,
                  ls=style, color="C3", alpha=0.6)
            _plot(twin, sel, _known_pairs, "hit_rate", "hit rate, all units" + suffix, 100, ls=style, color="C2",
                  alpha=0.6)
        ax.set(xscale="log", xlabel="known pairs m", ylabel="success / linkage (%)", title=title, ylim=(0, 105))
        twin.set(ylabel="hit rate (%)", ylim=(0, 105))
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=6, loc="upper center",
                  bbox_to_anchor=(0.5, -0.2), ncol=2)  # below the axes: the curves fill the plot
    return fig


def fig9(runs: Runs, reference: Runs | None = None, others: Callable[[str], Runs] | None = None):
    """The noise rate p = 0 is not run again (conf/experiment/fig9.yaml): its accuracy is Fig 6's
    noiseless 8×8-block training and its attack Fig 8's codebook attack with m = 20 (exact form,
    misses → most frequent unit), the same grid points; ``others`` loads those experiments."""
    sel = runs.select(mechanism="aes_ecb")
    if not sel:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig9"], "Fig 9: AES-ECB with salt-and-pepper noise" + _scale_note(sel))
    rate = lambda r: 100 * float(r.data.params.get("noise.rate", 0))  # noqa: E731
    noiseless = {"mechanism": "aes_ecb", "noise.kind": "none", "mechanism.block_size": "8",
                 "mechanism.form": lambda v: v in ("", "exact")}
    for ax, u, title in ((axes[0], "16", "16-pixel units"), (axes[1], "2", "2-pixel units")):
        trained = runs.select(mechanism="aes_ecb", attack="", **{"mechanism.unit": u})
        attacked = runs.select(mechanism="aes_ecb", attack="codebook", **{"mechanism.unit": u})
        m = int(attacked[0].data.metrics["known_pairs"]) if attacked else None
        if others is not None:  # p = 0 from Figs 6 and 8
            trained = trained + others("fig6").select(attack="", **{"mechanism.unit": u}, **noiseless)
            if m is not None:
                attacked = attacked + others("fig8").select(
                    attack="codebook", **{"mechanism.unit": u, "attack.known_pairs": str(m),
                                          "attack.miss_fill": "mode"}, **noiseless)
        _plot(ax, trained, rate, "test_acc", "model accuracy", 100, color="k")
        _attack_lines(ax, attacked, rate, f" (codebook, m = {m})" if m is not None else "")
        ax.set(xlabel="salt-and-pepper noise rate p (%)", ylabel="%", title=title, ylim=(0, 105))
        ax.legend(fontsize=8)
    return fig


def fig10(runs: Runs, reference: Runs | None = None, others: Callable[[str], Runs] | None = None):
    direct = runs.select(mechanism="rmt", attack="direct")
    regression = runs.select(mechanism="rmt", attack="regression")
    if not direct and not regression:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig10"], "Fig 10: attacks on RMT" + _scale_note(direct or regression))
    _attack_lines(axes[0], direct, _param("mechanism.block_size", int))
    axes[0].set(xlabel="block size b (28×28 images)", ylabel="success / linkage (%)",
                title="direct re-identification (no noise)", ylim=(0, 105))
    if direct:
        axes[0].set_xticks(sorted({int(r.data.params["mechanism.block_size"]) for r in direct}))
    for form, label, style in (("inverse", "inverse fit (docs/method.md §4)", "-"), ("forward", "forward fit (paper)", ":")):
        _attack_lines(axes[1], runs.select(mechanism="rmt", attack="regression", **{"attack.form": form}),
                      _known_pairs, f", {label}", ls=style)
    axes[1].set(xscale="log", xlabel="known pairs m", ylabel="success / linkage (%)",
                title="regression attack, b = 7, u = 100", ylim=(0, 105))
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    return fig


FIGURES: dict[str, Callable] = {"fig6": fig6, "fig7": fig7, "fig8": fig8, "fig9": fig9, "fig10": fig10}

# Mechanisms shown in the gallery (paper Figs 3–5): (label, mechanism, settings, noise, pad).
GALLERY = [
    ("block permutation, b=7", "permutation", {"block_size": 7}, None, None),
    ("RMT orthogonal, b=7", "rmt", {"block_size": 7, "kind": "orthogonal"}, None, None),
    ("RMT orthogonal, b=7, u=100", "rmt", {"block_size": 7, "kind": "orthogonal"},
     {"kind": "uniform", "level": 100}, None),
    ("RMT gaussian, b=14", "rmt", {"block_size": 14, "kind": "gaussian"}, None, None),
    ("AES-ECB, 1 block, u=16", "aes_ecb", {"block_size": 32, "unit": 16}, None, 32),
    ("AES-ECB, 16 blocks, u=16", "aes_ecb", {"block_size": 8, "unit": 16}, None, 32),
    ("AES-ECB, 16 blocks, u=2", "aes_ecb", {"block_size": 8, "unit": 2}, None, 32),
    ("AES-ECB, 16 blocks, u=2, s&p 2%", "aes_ecb", {"block_size": 8, "unit": 2},
     {"kind": "salt_and_pepper", "rate": 0.02}, 32),
    ("AES-CBC, 16 blocks, u=16", "aes_cbc", {"block_size": 8, "unit": 16}, None, 32),
]


def gallery_figure(samples: dict[str, tuple[np.ndarray, np.ndarray]], per_dataset: int = 5, seed: int = 0):
    """Originals and their disguised images under each mechanism of ``GALLERY`` (paper Figs 3–5):
    ``per_dataset`` test images of distinct classes from each dataset in ``samples`` (name → images,
    labels), one row per mechanism; experiment keys drawn from ``seed``."""
    from matplotlib.figure import Figure

    from disguisednets.data import pad_to
    from disguisednets.keys import generate_key
    from disguisednets.mechanisms import make_mechanism

    originals = np.concatenate([images[[np.flatnonzero(labels == c)[0] for c in np.unique(labels)[:per_dataset]]]
                                for images, labels in samples.values()])
    rows = [("original", originals)]
    rng = np.random.default_rng(seed)
    for label, name, settings, noise, pad in GALLERY:
        x = pad_to(originals, pad) if pad else originals
        key = generate_key(name, x.shape[1:], n_classes=10, noise=noise, seed=seed, **settings)
        rows.append((label, make_mechanism(key).disguise(x, rng=rng)))
    n = len(originals)
    fig = Figure(figsize=(0.9 * n + 2.0, 0.9 * len(rows) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, x) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            d = np.asarray(x[j], np.float64)
            ax.imshow((d - d.min()) / (np.ptp(d) or 1.0), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"{' and '.join(samples)} test images and their disguises (one key per row, drawn from seed "
                 f"{seed}; each image shown min–max scaled)", fontsize=9)
    return fig
