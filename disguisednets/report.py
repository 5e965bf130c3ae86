"""Tables and figures read back from MLflow, set beside the paper's numbers (docs/method.md §5).

    python -m disguisednets.report paper                       # results/table2.md, fig6–10.png, gallery.png
    python -m disguisednets.report summary --experiment table2  # accuracy per dataset and mechanism
    python -m disguisednets.report attacks --experiment fig8    # one row per attack run
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from disguisednets.tracking import default_uri

__all__ = ["PAPER_ACCURACY", "collect_accuracy", "summary_table", "write_paper_report", "main"]

PAPER_OUTPUTS = ("table2", "fig6", "fig7", "fig8", "fig9", "fig10", "gallery")
SWEEP_COMMANDS = {name: f"python experiments/run.py --multirun experiment={name}" for name in PAPER_OUTPUTS[:-1]}
SWEEP_COMMANDS["fig10"] += " (and experiment=fig10_regression)"

# Paper, Table I / II: model accuracy (%) as mean ± std over 5 folds.
PAPER_ACCURACY: dict[tuple[str, str], tuple[float, float]] = {
    ("mnist", "none"): (96.7, 0.2), ("mnist", "rmt"): (96.6, 0.4), ("mnist", "aes_ecb"): (91.6, 1.1),
    ("fashion", "none"): (88.7, 0.3), ("fashion", "rmt"): (85.1, 0.6), ("fashion", "aes_ecb"): (68.9, 1.4),
}
LABELS = {"none": "baseline (no disguise)", "permutation": "block permutation", "rmt": "RMT",
          "aes_ecb": "AES-ECB", "aes_cbc": "AES-CBC"}


def _setting(run) -> str:
    """A run's grid point without its fold: its run name minus the '-foldN' suffix."""
    return run.info.run_name.rsplit("-fold", 1)[0]


def collect_accuracy(client: MlflowClient, experiment: str, by_setting: bool = False) -> dict[tuple[str, str], dict]:
    """Per (dataset, mechanism) — or per (dataset, full setting) with ``by_setting`` — the test
    accuracies (%) of the latest finished run of each fold, and the mean epoch time (s)."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SystemExit(f"No MLflow experiment {experiment!r} in the store; run the experiment first.")
    runs = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"], max_results=5000)
    latest: dict[tuple[str, str, str], object] = {}
    for r in runs:
        if "test_acc" not in r.data.metrics:
            continue
        group = _setting(r) if by_setting else r.data.tags.get("mechanism")
        latest.setdefault((r.data.tags.get("dataset"), group, r.data.tags.get("fold")), r)
    out: dict[tuple[str, str], dict] = {}
    for (dataset, group, _fold), r in latest.items():
        entry = out.setdefault((dataset, group), {"acc": [], "epoch_s": [], "runs": [],
                                                  "mechanism": r.data.tags.get("mechanism")})
        entry["acc"].append(100 * r.data.metrics["test_acc"])
        history = client.get_metric_history(r.info.run_id, "epoch_time_s")
        if history:
            entry["epoch_s"].append(float(np.mean([m.value for m in history])))
        entry["runs"].append(r.info.run_id)
    return out


def _fmt(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.1f} (1 fold)"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f} ({len(values)} folds)"


def summary_table(results: dict[tuple[str, str], dict]) -> str:
    lines = ["| dataset | mechanism | our accuracy (%) | paper, best setting (%) | epoch time (s) |",
             "|---|---|---|---|---|"]
    order = {"none": 0, "permutation": 1, "rmt": 2, "aes_ecb": 3, "aes_cbc": 4}
    for (dataset, group) in sorted(results, key=lambda k: (k[0], order.get(results[k]["mechanism"], 9), k[1])):
        e = results[(dataset, group)]
        paper = PAPER_ACCURACY.get((dataset, e["mechanism"]))
        paper_s = f"{paper[0]} ± {paper[1]}" if paper else "—"
        epoch = f"{np.mean(e['epoch_s']):.1f}" if e["epoch_s"] else "—"
        lines.append(f"| {dataset} | {LABELS.get(group, group)} | {_fmt(e['acc'])} | {paper_s} | {epoch} |")
    return "\n".join(lines)


def attack_table(client: MlflowClient, experiment: str) -> str:
    """One row per attack grid point (latest finished run of each setting and fold): success
    rate, hit rates, reconstruction error."""
    from disguisednets.reproduction import load_runs

    if client.get_experiment_by_name(experiment) is None:
        raise SystemExit(f"No MLflow experiment {experiment!r} in the store; run the attacks first.")
    latest = {r.info.run_name: r for r in load_runs(client, experiment).runs if "success_rate" in r.data.metrics}
    lines = ["| disguise | attack | known pairs m | success, robust examiner (%) | success, paper-protocol "
             "examiner (%) | linkage (%) | raw map: success / linkage (%) | hit rate (all / foreground) | MSE | "
             "SSIM |", "|---|---|---|---|---|---|---|---|---|---|"]

    def split(r) -> tuple[str, str]:
        """Run name → (disguise, attack with its variant): '…-rmt-b7-…-regression-forward-m20-fold0'."""
        attack = r.data.tags.get("attack", "?")
        disguise, _, rest = _setting(r).rpartition("-" + attack)
        return disguise, attack + rest.rsplit("-m", 1)[0]

    def order(name):
        r = latest[name]
        disguise, attack = split(r)
        return attack, disguise, r.data.metrics.get("known_pairs", 0)

    for name in sorted(latest, key=order):
        r = latest[name]
        mt = r.data.metrics
        disguise, attack = split(r)
        hits = (f"{100 * mt['hit_rate']:.1f} / {100 * mt['hit_rate_foreground']:.1f}"
                if "hit_rate" in mt else "—")
        if "permutation_recovered" in mt:
            hits = f"π recovered: {100 * mt['permutation_recovered']:.0f}%"
        raw = (f"{mt['success_rate_raw']:.1f} / {mt['linkage_rate_raw']:.1f}" if "success_rate_raw" in mt
               else "—")
        paper = f"{mt['success_rate_paper']:.1f}" if "success_rate_paper" in mt else "—"
        linkage = f"{mt['linkage_rate']:.1f}" if "linkage_rate" in mt else "—"
        lines.append(f"| {disguise} | {attack} | {int(mt.get('known_pairs', 0))} | {mt['success_rate']:.1f} | {paper} | "
                     f"{linkage} | {raw} | {hits} | {mt['mse']:.0f} | {mt['ssim']:.3f} |")
    examined = [latest[n] for n in latest if "examiner_calib_worst" in latest[n].data.metrics]
    if examined:
        mt = examined[0].data.metrics
        lines += ["", f"Robust examiner ({examined[0].data.tags.get('examiner')}): accuracy on the original test "
                  f"images {100 * mt['examiner_acc_original']:.1f}%, worst calibration {mt['examiner_calib_worst']:.1f}% "
                  f"of clean; paper-protocol examiner ({examined[0].data.tags.get('paper_examiner')}): "
                  f"{100 * mt['paper_examiner_acc_original']:.1f}%, worst calibration "
                  f"{mt['paper_examiner_calib_worst']:.1f}% of clean."]
    return "\n".join(lines)


def _report_run(client: MlflowClient, experiment: str) -> str | None:
    """The experiment's one "report" run (created on first use), which holds its tables and figures."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    found = client.search_runs([exp.experiment_id], filter_string="tags.kind = 'report'", max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(exp.experiment_id, run_name="report", tags={"kind": "report"})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def write_paper_report(uri: str, results_dir: str | os.PathLike, only: list[str] | None = None,
                       command: str = "python -m disguisednets.report paper") -> list[Path]:
    """Write Table II, Figs 6–10 and the gallery (those in ``only``, default all) from the runs in the
    store into ``results_dir``, and log each to its experiment's "report" run. Figures without runs
    are skipped with a note; returns the files written."""
    from disguisednets.reproduction import FIGURES, gallery_figure, load_runs, table2_markdown

    client = MlflowClient(uri)
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    only = list(only or PAPER_OUTPUTS)
    table2 = load_runs(client, "table2")
    written: list[tuple[Path, str]] = []
    if "table2" in only:
        if len(table2):
            path = results / "table2.md"
            path.write_text(table2_markdown(table2, command))
            written.append((path, "table2"))
        else:
            print(f"table2: no runs yet; run: {SWEEP_COMMANDS['table2']}")
    for name in (n for n in FIGURES if n in only):
        fig = FIGURES[name](load_runs(client, name), table2 if len(table2) else None,
                            others=lambda experiment: load_runs(client, experiment))
        if fig is None:
            print(f"{name}: no runs yet; run: {SWEEP_COMMANDS[name]}")
            continue
        path = results / f"{name}.png"
        fig.savefig(path, dpi=130)
        written.append((path, name))
    if "gallery" in only:
        from disguisednets.data import load_dataset

        samples = {}
        for name in ("mnist", "fashion"):
            ds = load_dataset(name)
            samples[name] = (ds.test_images, ds.test_labels)
        path = results / "gallery.png"
        gallery_figure(samples).savefig(path, dpi=130)
        written.append((path, "table2"))
    for path, experiment in written:
        run_id = _report_run(client, experiment)
        if run_id is not None:
            client.log_artifact(run_id, str(path))
        print(f"Written {path}" + (f" (logged to MLflow experiment {experiment!r})" if run_id else ""))
    return [p for p, _ in written]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m disguisednets.report")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summary", help="accuracy per dataset and mechanism, beside the paper's")
    p.add_argument("--experiment", required=True, help="MLflow experiment name")
    p.add_argument("--output-dir", default=os.environ.get("DISGUISEDNETS_OUTPUT", "outputs"))
    p.add_argument("--by-run", action="store_true", help="one row per setting instead of per mechanism")
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or <output-dir>/mlflow.db")
    p = sub.add_parser("attacks", help="success rate of every attack run, with hit rates and errors")
    p.add_argument("--experiment", required=True, help="MLflow experiment name")
    p.add_argument("--output-dir", default=os.environ.get("DISGUISEDNETS_OUTPUT", "outputs"))
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or <output-dir>/mlflow.db")
    p = sub.add_parser("paper", help="Table II, Figs 6–10 and the gallery into results/ (and MLflow)")
    p.add_argument("--only", nargs="+", choices=PAPER_OUTPUTS, help="default: all that have runs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--output-dir", default=os.environ.get("DISGUISEDNETS_OUTPUT", "outputs"))
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or <output-dir>/mlflow.db")
    args = parser.parse_args(argv)
    uri = default_uri(args.output_dir, args.tracking_uri)
    if args.cmd == "paper":
        command = "python -m disguisednets.report paper" + (f" --only {' '.join(args.only)}" if args.only else "")
        written = write_paper_report(uri, args.results_dir, args.only, command)
        if not written:
            print("Nothing written: no runs for what was asked.")
            return 1
        table2 = Path(args.results_dir) / "table2.md"
        if table2 in written:  # the main result, on the terminal too
            print("\n" + table2.read_text().split("\n## The examiners")[0])
        if uri.startswith("sqlite:"):
            print(f"Browse the runs: .venv/bin/mlflow ui --backend-store-uri {uri}")
        return 0
    if args.cmd == "attacks":
        text = (f"# {args.experiment}: attack success\n\n{attack_table(MlflowClient(uri), args.experiment)}\n\n"
                "Success rate = 100 × examiner accuracy on reconstructed (or disguised) test images / its accuracy "
                "on the original test images (docs/method.md §4), under the robust examiner and the paper-protocol one (the "
                "baseline model of the run's scale). Linkage = share of reconstructions whose own original is the "
                "most correlated original test image (no examiner). Raw map: the scores before the attacker's "
                "clean-up. Hit rates: codebook lookups found, over all units and over units whose original pixels "
                "are not all background.\n")
    else:
        table = summary_table(collect_accuracy(MlflowClient(uri), args.experiment, args.by_run))
        text = (f"# {args.experiment}: test accuracy beside the paper (Table I/II)\n\n{table}\n\n"
                "Accuracy is measured in the remapped label space on the 10,000 test images. "
                "Ours is CPU scale (narrow AlexNet, few epochs); the paper's is full AlexNet in TensorFlow.\n")
    out = Path(args.output_dir) / f"{args.experiment}-{args.cmd}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"Written to {out}.")
    if uri.startswith("sqlite:"):
        print(f"Browse the runs: .venv/bin/mlflow ui --backend-store-uri {uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def attack_gallery(original: np.ndarray, disguised: np.ndarray, reconstructed: np.ndarray, labels: np.ndarray,
                   per_class: int = 2, title: str = ""):
    """A figure of original | disguised | reconstructed, ``per_class`` test images of each class.
    Disguised images are shown min–max scaled per image (they may be float, outside 0..255)."""
    from matplotlib.figure import Figure  # no pyplot: no global figure registry to fill up in a multirun

    labels = np.asarray(labels)
    classes = np.unique(labels)
    fig = Figure(figsize=(1.1 * 3 * per_class, 1.1 * len(classes) + 0.5), layout="constrained")
    axes = fig.subplots(len(classes), 3 * per_class, squeeze=False)
    for row, c in enumerate(classes):
        picks = np.flatnonzero(labels == c)[:per_class]
        for k in range(per_class):
            for col, name in enumerate(("original", "disguised", "reconstructed")):
                ax = axes[row, 3 * k + col]
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(name, fontsize=7)
                if k >= len(picks):
                    continue
                i = picks[k]
                if name == "disguised":
                    d = np.asarray(disguised[i], np.float64)
                    ax.imshow((d - d.min()) / (np.ptp(d) or 1.0), cmap="gray", vmin=0, vmax=1)
                else:
                    ax.imshow((original if name == "original" else reconstructed)[i], cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_ylabel(str(c), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig
