"""Tables of any experiment (``report summary`` and ``report attacks``): accuracy per dataset and
mechanism beside the paper's, and one row per attack grid point."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient

from disguisednets.reporting.paper import PAPER_TABLE2
from disguisednets.reporting.runs import Runs, fmt, pi_given
from disguisednets.reporting.snapshot import load_runs_or_snapshot

__all__ = ["LABELS", "attack_table", "read_runs", "summary_table"]

LABELS = {"none": "baseline (no disguise)", "permutation": "block permutation", "rmt": "RMT",
          "aes_ecb": "AES-ECB", "aes_cbc": "AES-CBC"}
_ORDER = {"none": 0, "permutation": 1, "rmt": 2, "aes_ecb": 3, "aes_cbc": 4}
_PAPER_COLUMN = {"none": "baseline", "rmt": "rmt", "aes_ecb": "aes_ecb"}  # the paper's best setting


def read_runs(client: MlflowClient, experiment: str, snapshots: str | None = None) -> Runs:
    """The experiment's finished runs (with ``snapshots``, a grid point the store lacks read from there); exits with
    what to run when there are none."""
    runs = load_runs_or_snapshot(client, experiment, snapshots)[0]   # snapshots None: the store's runs alone
    if not len(runs):
        raise SystemExit(f"No finished runs in MLflow experiment {experiment!r}; run the experiment first.")
    return runs


def summary_table(client: MlflowClient, experiment: str, by_setting: bool = False) -> str:
    """Test accuracy per (dataset, mechanism) — or per setting with ``by_setting`` — over folds,
    beside the paper's best setting, with the mean epoch time."""
    groups: dict[tuple[str, str], list] = {}
    for r in read_runs(client, experiment).trained():
        tags = r.data.tags
        # by setting: the setting tag without its task and dataset ('train · mnist rmt-b7-…' → 'rmt-b7-…')
        group = tags["setting"].split(" · ", 1)[1].split(" ", 1)[-1] if by_setting else tags.get("mechanism")
        groups.setdefault((tags.get("dataset"), group), []).append(r)
    lines = ["| dataset | mechanism | our accuracy (%) | test images | paper, best setting (%) | epoch time (s) |",
             "|---|---|---|---|---|---|"]
    for (dataset, group), runs in sorted(groups.items(), key=lambda kv: (
            kv[0][0], _ORDER.get(kv[1][0].data.tags.get("mechanism"), 9), kv[0][1])):
        mechanism = runs[0].data.tags.get("mechanism")
        paper = PAPER_TABLE2.get(dataset, {}).get(_PAPER_COLUMN.get(mechanism, ""))
        epochs = [float(np.mean([m.value for m in h])) for h in
                  (client.get_metric_history(r.info.run_id, "epoch_time_s") for r in runs) if h]
        images = sorted({int(r.data.metrics.get("test_images", 0)) for r in runs})
        lines.append(f"| {dataset} | {LABELS.get(group, group)} | "
                     f"{fmt([r.data.metrics['test_acc'] for r in runs], count_folds=True)} | "
                     f"{', '.join(f'{n:,}' for n in images)} | {f'{paper[0]} ± {paper[1]}' if paper else '—'} | "
                     f"{f'{np.mean(epochs):.1f}' if epochs else '—'} |")
    return "\n".join(lines)


def attack_table(client: MlflowClient, experiment: str, snapshots: str | None = None, runs: Runs | None = None) -> str:
    """One row per attack grid point and fold: success rates, linkage, hit rates, reconstruction error (with
    ``snapshots``, a grid point the store lacks is read from its snapshot there; ``runs``: those runs, read
    already)."""
    attacked = (runs if runs is not None else read_runs(client, experiment, snapshots)).attacked()
    lines = ["| disguise | attack | known pairs m | fold | π: given, or found (positions / pixels placed, %) | "
             "success, robust examiner (%) | success, paper-protocol examiner (%) | linkage (%) | raw map: success / "
             "linkage (%) | hit rate (all / foreground, %) | MSE | SSIM |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def parts(r) -> tuple[str, str]:
        task, disguise = r.data.tags["setting"].split(" · ", 1)
        return disguise, task.rsplit(" m=", 1)[0]

    def order(r):
        disguise, task = parts(r)
        m = r.data.params.get("attack.known_pairs", "0")
        return task, disguise, int(m) if m.isdigit() else 0, r.data.tags.get("fold", "")

    for r in sorted(attacked, key=order):
        mt = r.data.metrics
        disguise, task = parts(r)
        hits = f"{mt['hit_rate']:.1f} / {mt['hit_rate_foreground']:.1f}" if "hit_rate" in mt else "—"
        if r.data.tags.get("mechanism") == "none":
            pi = "— (no disguise)"
        elif pi_given(r):
            pi = "given (upper bound)"
        elif "permutation_recovered" in mt:   # found by the attack itself (π̂, or the jigsaw's)
            pi = f"{mt['permutation_recovered']:.0f}" + (f" / {mt['pixels_placed']:.0f}" if "pixels_placed" in mt else "")
        else:
            pi = "—"
        if "rows_found" in mt:  # the row-leak attack: rows of R_i found, and found along the true row
            hits = f"rows of R_i found / recovered: {mt['rows_found']:.0f} / {mt.get('rows_recovered', float('nan')):.0f}%"
        raw = f"{mt['success_rate_raw']:.1f} / {mt['linkage_rate_raw']:.1f}" if "success_rate_raw" in mt else "—"
        lines.append(f"| {disguise} | {task} | {r.data.params.get('attack.known_pairs', '?')} | "
                     f"{r.data.tags.get('fold')} | {pi} | {mt['success_rate']:.1f} | {mt['success_rate_paper']:.1f} | "
                     f"{mt['linkage_rate']:.1f} | {raw} | {hits} | {mt['mse']:.0f} | {mt['ssim']:.3f} |")
    if attacked:
        r = attacked[0]
        mt, tags = r.data.metrics, r.data.tags
        lines += ["", f"Robust examiner ({tags.get('examiner')}): accuracy on the original test images "
                  f"{mt['examiner_acc_original']:.1f}%, worst calibration {mt['examiner_calib_worst']:.1f}% of clean; "
                  f"paper-protocol examiner ({tags.get('paper_examiner')}): {mt['paper_examiner_acc_original']:.1f}%, "
                  f"worst calibration {mt['paper_examiner_calib_worst']:.1f}% of clean."]
    return "\n".join(lines)
