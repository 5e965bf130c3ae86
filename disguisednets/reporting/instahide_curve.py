"""InstaHide's learning curves (results/instahide_curve.md, .png; docs/method.md §6): accuracy on clear
validation images and the fit to the mixed training labels, epoch by epoch, per dataset, network and
encoding regime (fresh every epoch, as the reference code trains, or one set)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from disguisednets.reporting.runs import Runs  # noqa: E402

__all__ = ["curve_figure", "curve_markdown", "curves"]


def _label(run) -> str:
    p = run.data.params
    regime = "one set" if p.get("mechanism.fresh_encodings") == "False" else "fresh every epoch"
    return f"{p.get('model.name')} w{float(p.get('model.width', 1)):g}, {regime}"


def curves(client: MlflowClient, runs: Runs) -> list[dict]:
    """One entry per training run: dataset, label, epochs, val_acc and train_acc per epoch (%), test_acc."""
    out = []
    for r in sorted(runs.trained(), key=lambda r: (r.data.tags.get("dataset", ""), _label(r))):
        hist = {m: [x.value for x in sorted(client.get_metric_history(r.info.run_id, m), key=lambda x: x.step)]
                for m in ("val_acc", "train_acc", "epoch_time_s")}
        out.append({"dataset": r.data.tags.get("dataset"), "label": _label(r), "run": r, **hist,
                    "test_acc": r.data.metrics.get("test_acc"), "minutes": r.data.metrics.get("total_time_s", 0) / 60})
    return out


def curve_markdown(found: list[dict], command: str) -> str:
    lines = ["# InstaHide trained as its reference trains it: learning curves", "",
             f"Made by `{command}` from the runs of MLflow experiment `instahide_curve` ({len(found)} trainings).", "",
             "| dataset | network, encodings | epochs | test accuracy (%) | best validation accuracy (%) at epoch | "
             "fit to mixed labels, last epoch (%) | minutes |", "|---|---|---|---|---|---|---|"]
    for c in found:
        val = c["val_acc"]
        best = max(range(len(val)), key=val.__getitem__) if val else None
        lines.append(f"| {c['dataset']} | {c['label']} | {len(val)} | {c['test_acc']:.1f} | "
                     + (f"{val[best]:.1f} at {best + 1}" if val else "—") + " | "
                     + (f"{c['train_acc'][-1]:.1f}" if c["train_acc"] else "—") + f" | {c['minutes']:.1f} |")
    lines += ["", "Validation and test images are used in the clear (normalized), as the reference code tests. The fit "
              "is the share of training encodings whose predicted class is the mixed label's largest (a mixed label "
              "cannot be fitted exactly by one class). results/README.md says what the curves show."]
    return "\n".join(lines) + "\n"


def curve_figure(found: list[dict]):
    datasets = sorted({c["dataset"] for c in found})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.2), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for i, c in enumerate(x for x in found if x["dataset"] == ds):
            epochs = range(1, len(c["val_acc"]) + 1)
            line, = ax.plot(epochs, c["val_acc"], marker="o", label=f"{c['label']}: validation (clear)")
            ax.plot(range(1, len(c["train_acc"]) + 1), c["train_acc"], ls=":", color=line.get_color(),
                    label=f"{c['label']}: fit to mixed labels")
        ax.set_title(f"InstaHide k = 4 on {ds}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
