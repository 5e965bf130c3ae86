"""Table II beside the paper's (docs/method.md §5), from the runs of experiment ``table2``: each cell
is the runs tagged with its Table II ``column`` (conf/column/)."""

from __future__ import annotations

from disguisednets.reporting.paper import paper_cell, paper_cost
from disguisednets.reporting.runs import Runs, fmt, folds, values

__all__ = ["ACCURACY_COLUMNS", "ATTACK_COLUMNS", "table2_cells", "table2_markdown"]

ACCURACY_COLUMNS = (("RMT", "rmt"), ("AES-ECB", "aes_ecb"), ("baseline", "baseline"))

# The attack cells: (label, column, the paper's cell or None).
ATTACK_COLUMNS = [
    ("RMT: regression, inverse fit (docs/method.md §4), m = 20", "rmt_attack", "rmt_attack"),
    ("RMT: regression, paper's forward fit, m = 20", "rmt_attack_forward", "rmt_attack"),
    ("RMT: regression, inverse fit, m = 1", "rmt_attack_m1", None),
    ("RMT: direct re-identification, m = 0", "rmt_direct", None),
    ("AES-ECB: codebook, m = 20, misses → most frequent unit", "aes_ecb_attack", "aes_ecb_attack"),
    ("AES-ECB: codebook, m = 20, misses → foreground", "aes_ecb_attack_foreground", "aes_ecb_attack"),
    ("AES-ECB: codebook, m = 1", "aes_ecb_attack_m1", None),
    ("AES-ECB: direct re-identification, m = 0", "aes_ecb_direct", None),
]


def _utility_cost(baseline: list, disguised: list) -> list[float]:
    """Baseline − disguised test accuracy (points), paired by fold."""
    base = {r.data.tags.get("fold"): r.data.metrics["test_acc"] for r in baseline if "test_acc" in r.data.metrics}
    return [base[r.data.tags.get("fold")] - r.data.metrics["test_acc"] for r in disguised
            if "test_acc" in r.data.metrics and r.data.tags.get("fold") in base]


def table2_cells(runs: Runs) -> tuple[dict[str, list[float]], list[str]]:
    """The table's cells as lists over folds, by metric name ('mnist/rmt/test_acc',
    'mnist/rmt_attack/success_rate', …), and the ids of the runs they came from."""
    cells: dict[str, list[float]] = {}
    used: list[str] = []
    for ds in ("mnist", "fashion"):
        base = runs.trained(dataset=ds, column="baseline")
        for _, column in ACCURACY_COLUMNS:
            sel = runs.trained(dataset=ds, column=column)
            used += [r.info.run_id for r in sel]
            cells[f"{ds}/{column}/test_acc"] = values(sel, "test_acc")
            if column != "baseline":
                cells[f"{ds}/{column}/utility_cost"] = _utility_cost(base, sel)
        for _, column, _paper in ATTACK_COLUMNS:
            sel = runs.attacked(dataset=ds, column=column)
            used += [r.info.run_id for r in sel]
            for metric in ("success_rate", "success_rate_paper", "linkage_rate", "ssim"):
                cells[f"{ds}/{column}/{metric}"] = values(sel, metric)
    return {k: v for k, v in cells.items() if v}, used


def table2_markdown(runs: Runs, command: str) -> str:
    """Table II: accuracy (ours and the paper's), then every attack cell under the robust examiner,
    the paper-protocol examiner and the examiner-free linkage rate, beside the paper's number."""
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
        rmt, aes, base = (runs.trained(dataset=ds, column=c) for _, c in ACCURACY_COLUMNS)
        n = folds(runs.select(dataset=ds))
        accuracy.append(f"| {ds} | ours ({n} fold{'s' * (n != 1)}) | "
                        + " | ".join(fmt(values(r, "test_acc")) for r in (rmt, aes, base)) + " | "
                        + " | ".join(fmt(_utility_cost(base, r)) for r in (rmt, aes)) + " |")
        accuracy.append(f"| {ds} | paper (5 folds) | "
                        + " | ".join(paper_cell(ds, c) for _, c in ACCURACY_COLUMNS) + " | "
                        + " | ".join(paper_cost(ds, c) for c in ("rmt", "aes_ecb")) + " |")
        attacked, shown = [], set()
        for label, column, paper in ATTACK_COLUMNS:
            sel = runs.attacked(dataset=ds, column=column)
            attacked += sel
            if not sel:
                continue
            # the paper's number beside the first of our rows for its cell
            paper_text = "—" if not paper else ("(the same cell)" if paper in shown else paper_cell(ds, paper))
            shown.add(paper)
            attacks.append(f"| {ds} | {label} | {paper_text} | {fmt(values(sel, 'success_rate'))} | "
                           f"{fmt(values(sel, 'success_rate_paper'))} | {fmt(values(sel, 'linkage_rate'))} | "
                           f"{fmt(values(sel, 'ssim'), 2)} |")
        if attacked:
            attacks.append(f"| {ds} | baseline: no disguise | {paper_cell(ds, 'baseline_attack')} | "
                           "100 by definition | 100 by definition | 100 | 1.00 |")
            examiners.append(f"| {ds} | robust (all original training images, augmented; conf/examiner/) | "
                             f"{fmt(values(attacked, 'examiner_acc_original'))} | "
                             f"{fmt(values(attacked, 'examiner_calib_worst'))} |")
            examiners.append(f"| {ds} | paper protocol (the baseline model of this scale) | "
                             f"{fmt(values(attacked, 'paper_examiner_acc_original'))} | "
                             f"{fmt(values(attacked, 'paper_examiner_calib_worst'))} |")
        if base:
            tags, params, mt = base[0].data.tags, base[0].data.params, base[0].data.metrics
            notes.append(f"{ds}: scale {tags.get('scale', '?')}, AlexNet width {params.get('model.width')}, "
                         f"{params.get('trainer.max_epochs')} epochs, training images per fold: "
                         f"{int(mt.get('train_images', 0))}, test images: {int(mt.get('test_images', 0))}, "
                         f"machine: {tags.get('machine', '?')}")
    compute = sum(values(runs.runs, "total_time_s")) / 60
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
        "test images / its accuracy on the original test images (docs/method.md §4), under two examiners: the "
        "**robust** one (trained on all original training images with augmentations a person shrugs off, and "
        "checked on a calibration set of perturbed originals) and the **paper-protocol** one (the baseline model "
        "of the run's own scale, as the paper used it). **Linkage** (examiner-free) = share of reconstructed "
        "test images whose own original is the most correlated of all original test images (chance: 0.01% of "
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
    """Each column's setting, read from its runs' ``setting`` tags."""
    out = []
    for label, column in (("RMT", "rmt"), ("AES-ECB", "aes_ecb"), ("RMT attack", "rmt_attack"),
                          ("AES-ECB attack", "aes_ecb_attack")):
        found = sorted({_short_setting(r)
                        + (f" (padded to {r.data.params['dataset.pad_to']} px)" if "dataset.pad_to" in r.data.params
                           and r.data.tags.get("kind") == "train" else "")
                        for r in runs.select(column=column)})
        if found:
            out.append(f"{label} = {' and '.join(f'`{f}`' for f in found)}")
    return "; ".join(out) or "—"


def _short_setting(r) -> str:
    """The ``setting`` tag without the dataset; a training run's without the task too."""
    task, rest = r.data.tags["setting"].split(" · ", 1)
    disguise = rest.split(" ", 1)[1] if " " in rest else rest
    return disguise if r.data.tags.get("kind") == "train" else f"{task} on {disguise}"
