"""Figures 6–10 beside the paper's stated trends (docs/method.md §5), drawn from the runs of each
figure's experiment (``conf/experiment/figN.yaml``): mean over folds, with the standard deviation
as error bars where there is more than one fold. The paper's plots are not in its text, so each
figure carries the paper's stated trend as its caption."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from disguisednets.reporting.paper import CAPTIONS
from disguisednets.reporting.runs import Runs, folds, mean_std, values

__all__ = ["FIGURES", "fig6", "fig7", "fig8", "fig9", "fig10"]


def _series(runs: list, x_of: Callable, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    by_x: dict[float, list[float]] = defaultdict(list)
    for r in runs:
        if metric in r.data.metrics:
            by_x[float(x_of(r))].append(r.data.metrics[metric])
    xs = np.array(sorted(by_x))
    stats = [mean_std(by_x[x]) for x in xs]
    return xs, np.array([s[0] for s in stats]), np.array([s[1] for s in stats])


def _plot(ax, runs, x_of, metric, label, **style):
    xs, mean, std = _series(runs, x_of, metric)
    if len(xs):
        style = {"marker": "o", **style}
        ax.errorbar(xs, mean, yerr=std if std.any() else None, ms=4, capsize=3, label=label, **style)
    return len(xs)


def _baseline(reference: Runs | None, dataset: str) -> list[float]:
    if reference is None:
        return []
    return values(reference.trained(dataset=dataset, column="baseline"), "test_acc")


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
            f"{folds(runs)} fold(s)")


def fig6(runs: Runs, reference: Runs | None, others: Callable[[str], Runs] | None = None):
    trained = runs.trained(mechanism="aes_ecb")
    if not trained:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig6"], "Fig 6: accuracy on AES-ECB-disguised images" + _scale_note(trained))
    blocks = lambda r: (32 // int(r.data.params["mechanism.block_size"])) ** 2  # noqa: E731
    for ax, units, title in ((axes[0], ("16",), "16-pixel units"), (axes[1], ("1", "2", "4", "8"), "smaller units")):
        for u in units:
            _plot(ax, runs.trained(mechanism="aes_ecb", **{"mechanism.unit": u}), blocks, "test_acc",
                  f"unit = {u} px")
        _axhline_baseline(ax, _baseline(reference, trained[0].data.params["dataset.name"]))
        ax.set(xscale="log", xlabel="number of blocks (32×32 images)", ylabel="test accuracy (%)", title=title)
        ax.set_xticks([1, 4, 16, 64], ["1", "4", "16", "64"])
        ax.legend(fontsize=8)
    return fig


def fig7(runs: Runs, reference: Runs | None, others: Callable[[str], Runs] | None = None):
    trained = runs.trained(mechanism="rmt")
    if not trained:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig7"], "Fig 7: accuracy on RMT-disguised images" + _scale_note(trained))
    level = lambda r: float(r.data.params.get("noise.level", 0) if r.data.params.get("noise.kind") == "uniform" else 0)  # noqa: E731
    sizes = sorted({int(r.data.params["mechanism.block_size"]) for r in trained})
    b_left = 7 if 7 in sizes else sizes[0]
    levels = sorted({level(r) for r in trained})
    for kind, style in (("orthogonal", "-"), ("gaussian", "--")):
        _plot(axes[0], runs.trained(mechanism="rmt", **{"mechanism.kind": kind, "mechanism.block_size": b_left}),
              level, "test_acc", f"{kind}, b = {b_left}", ls=style)
        for lv in levels:
            _plot(axes[1], [r for r in runs.trained(mechanism="rmt", **{"mechanism.kind": kind}) if level(r) == lv],
                  _param("mechanism.block_size", int), "test_acc", f"{kind}, noise level {lv:g}", ls=style)
    base = _baseline(reference, trained[0].data.params["dataset.name"])
    for ax in axes:
        _axhline_baseline(ax, base)
        ax.legend(fontsize=7)
    axes[0].set(xlabel="uniform noise level (pixel scale 0..255)", ylabel="test accuracy (%)",
                title="orthogonal vs random projection, by noise")
    axes[1].set(xlabel="block size b (28×28 images)", ylabel="test accuracy (%)", title="by block size")
    axes[1].set_xticks(sizes)
    return fig


def _known_pairs(r) -> float:
    return float(r.data.params["attack.known_pairs"])


def _attack_lines(ax, runs, x_of, suffix: str = "", **style) -> None:
    """An attack's three scores against ``x_of``: success under the robust examiner, under the
    paper-protocol examiner, and the examiner-free linkage rate."""
    _plot(ax, runs, x_of, "success_rate", "success, robust examiner" + suffix, color="C0", **style)
    _plot(ax, runs, x_of, "success_rate_paper", "success, paper-protocol examiner" + suffix, color="C1",
          marker="s", **{k: v for k, v in style.items() if k != "marker"})
    _plot(ax, runs, x_of, "linkage_rate", "linkage rate (no examiner)" + suffix, color="C4", **style)


def fig8(runs: Runs, reference: Runs | None = None, others: Callable[[str], Runs] | None = None):
    attacked = runs.attacked(attack="codebook")
    if not attacked:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig8"], "Fig 8: codebook attack on AES-ECB vs known pairs" + _scale_note(attacked))
    panels = ((axes[0], "16", "16-pixel units"), (axes[1], "2", "2-pixel units"))
    for ax, unit, title in panels:
        twin = ax.twinx()
        for form, style in (("exact", "-"), ("literal", ":")):
            sel = runs.attacked(attack="codebook", **{"mechanism.unit": unit, "mechanism.aes_form": form})
            if not sel or (unit == "16" and form == "literal"):  # 16-pixel units: literal is the exact form
                continue
            suffix = f" ({form}{', ' + sel[0].data.params['mechanism.filter'] if form == 'literal' else ''})"
            _attack_lines(ax, sel, _known_pairs, suffix, ls=style)
            _plot(twin, sel, _known_pairs, "hit_rate_foreground", "hit rate, foreground units" + suffix,
                  ls=style, color="C3", alpha=0.6)
            _plot(twin, sel, _known_pairs, "hit_rate", "hit rate, all units" + suffix, ls=style, color="C2",
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
                 "mechanism.aes_form": "exact"}
    for ax, unit, title in ((axes[0], "16", "16-pixel units"), (axes[1], "2", "2-pixel units")):
        trained = runs.trained(mechanism="aes_ecb", **{"mechanism.unit": unit})
        attacked = runs.attacked(mechanism="aes_ecb", attack="codebook", **{"mechanism.unit": unit})
        m = attacked[0].data.params["attack.known_pairs"] if attacked else None
        if others is not None:  # p = 0 from Figs 6 and 8
            trained = trained + others("fig6").trained(**{"mechanism.unit": unit}, **noiseless)
            if m is not None:
                attacked = attacked + others("fig8").attacked(
                    attack="codebook", **{"mechanism.unit": unit, "attack.known_pairs": m, "attack.miss_fill": "mode"},
                    **noiseless)
        _plot(ax, trained, rate, "test_acc", "model accuracy", color="k")
        _attack_lines(ax, attacked, rate, f" (codebook, m = {m})" if m is not None else "")
        ax.set(xlabel="salt-and-pepper noise rate p (%)", ylabel="%", title=title, ylim=(0, 105))
        ax.legend(fontsize=8)
    return fig


def fig10(runs: Runs, reference: Runs | None = None, others: Callable[[str], Runs] | None = None):
    direct = runs.attacked(mechanism="rmt", attack="direct")
    regression = runs.attacked(mechanism="rmt", attack="regression")
    if not direct and not regression:
        return None
    fig, axes = _new_figure(2, CAPTIONS["fig10"], "Fig 10: attacks on RMT" + _scale_note(direct or regression))
    _attack_lines(axes[0], direct, _param("mechanism.block_size", int))
    axes[0].set(xlabel="block size b (28×28 images)", ylabel="success / linkage (%)",
                title="direct re-identification (no noise)", ylim=(0, 105))
    if direct:
        axes[0].set_xticks(sorted({int(r.data.params["mechanism.block_size"]) for r in direct}))
    for form, label, style in (("inverse", "inverse fit (docs/method.md §4)", "-"), ("forward", "forward fit (paper)", ":")):
        _attack_lines(axes[1], runs.attacked(mechanism="rmt", attack="regression", **{"attack.regression_form": form}),
                      _known_pairs, f", {label}", ls=style)
    axes[1].set(xscale="log", xlabel="known pairs m", ylabel="success / linkage (%)",
                title="regression attack, b = 7, uniform noise level 100", ylim=(0, 105))
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    return fig


FIGURES: dict[str, Callable] = {"fig6": fig6, "fig7": fig7, "fig8": fig8, "fig9": fig9, "fig10": fig10}
