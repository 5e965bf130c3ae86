"""Write Table II, Figs 6–10 and the gallery into results/, and log each to its experiment's one
``report`` run (tag ``kind=report``) with the cells as metrics and the ids of the runs it used."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from mlflow.tracking import MlflowClient

from disguisednets.reporting.figures import FIGURES
from disguisednets.reporting.provenance import record_figure, run_commits, run_machines, with_provenance
from disguisednets.reporting.runs import Runs, load_runs, mean_std
from disguisednets.reporting.table2 import table2_cells, table2_markdown

__all__ = ["PAPER_OUTPUTS", "SWEEP_COMMANDS", "write_paper_report"]

PAPER_OUTPUTS = ("table2", "fig6", "fig7", "fig8", "fig9", "fig10", "gallery")
SWEEP_COMMANDS = {name: f"python experiments/run.py --multirun experiment={name}" for name in PAPER_OUTPUTS[:-1]}
SWEEP_COMMANDS["fig10"] += " (and experiment=fig10_regression)"
_TAG_LIMIT = 5000  # characters MLflow keeps in a tag value


def report_run(client: MlflowClient, experiment: str) -> str | None:
    """The experiment's one "report" run (created on first use), which holds its tables and figures."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    found = client.search_runs([exp.experiment_id], filter_string="tags.kind = 'report'", max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(exp.experiment_id, run_name="report",
                            tags={"kind": "report", "setting": "report",
                                  "mlflow.note.content": "Tables and figures made from this experiment's runs by "
                                                         "python -m disguisednets.reporting paper; metrics: the "
                                                         "table's cells (mean over folds, and _std)."})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _log_report(client: MlflowClient, run_id: str, path: Path, runs: Runs, cells: dict[str, list[float]]) -> None:
    client.log_artifact(run_id, str(path))
    step = int(client.get_run(run_id).data.metrics.get("reports_written", 0)) + 1
    for name, vals in cells.items():
        mean, std = mean_std(vals)
        client.log_metric(run_id, name, mean, step=step)
        client.log_metric(run_id, f"{name}_std", std, step=step)
    client.log_metric(run_id, "reports_written", step, step=step)
    ids = sorted({r.info.run_id for r in runs.runs})
    if not ids:  # drawn from the data, not from runs (the gallery)
        return
    with tempfile.TemporaryDirectory() as tmp:
        used = Path(tmp) / f"{path.stem}-runs-used.json"
        used.write_text(json.dumps({"output": path.name, "experiment": runs.experiment, "run_ids": ids}, indent=1))
        client.log_artifact(run_id, str(used))
    text = ",".join(ids)
    client.set_tag(run_id, f"runs_used.{path.stem}", text if len(text) <= _TAG_LIMIT
                   else f"{len(ids)} runs: see {used.name}")


def write_paper_report(uri: str, results_dir: str | os.PathLike, only: list[str] | None = None,
                       command: str = "python -m disguisednets.reporting paper", made_by: str | None = None
                       ) -> list[Path]:
    """Write Table II, Figs 6–10 and the gallery (those in ``only``, default all) from the runs in the
    store into ``results_dir``, and log each to its experiment's "report" run. Outputs without runs
    are skipped with a note; returns the files written. Each file gets its provenance (the command
    ``made_by``, default ``command``; the runs' commit and machine): a Markdown file under its title, a
    figure in ``results_dir``/README.md (:mod:`disguisednets.reporting.provenance`)."""
    made_by = made_by or command
    client = MlflowClient(uri)
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    only = list(only or PAPER_OUTPUTS)
    table2 = load_runs(client, "table2")
    written: list[tuple[Path, Runs, dict]] = []
    if "table2" in only:
        if len(table2):
            path = results / "table2.md"
            cells, used = table2_cells(table2)
            used_runs = [r for r in table2.runs if r.info.run_id in set(used)]
            path.write_text(with_provenance(table2_markdown(table2, command), made_by, run_commits(used_runs),
                                            run_machines(used_runs)))
            written.append((path, Runs("table2", used_runs), cells))
        else:
            print(f"table2: no runs yet; run: {SWEEP_COMMANDS['table2']}")
    for name in (n for n in FIGURES if n in only):
        runs = load_runs(client, name)
        fig = FIGURES[name](runs, table2 if len(table2) else None,
                            others=lambda experiment: load_runs(client, experiment))
        if fig is None:
            print(f"{name}: no runs yet; run: {SWEEP_COMMANDS[name]}")
            continue
        path = results / f"{name}.png"
        fig.savefig(path, dpi=130)
        record_figure(results, path, made_by, run_commits(runs.runs), run_machines(runs.runs))
        written.append((path, runs, {}))
    if "gallery" in only:
        from disguisednets.data import load_dataset
        from disguisednets.reporting.gallery import colour_gallery_figure, gallery_figure, sample_photo

        samples = {}
        for name in ("mnist", "fashion"):
            ds = load_dataset(name)
            samples[name] = (ds.test_images, ds.test_labels)
        path = results / "gallery.png"
        gallery_figure(samples).savefig(path, dpi=130)
        record_figure(results, path, made_by)   # drawn from the data and experiment keys, not from runs
        written.append((path, Runs("table2"), {}))
        path = results / "gallery_colour.png"
        colour_gallery_figure(sample_photo()).savefig(path, dpi=130)
        record_figure(results, path, made_by)
        written.append((path, Runs("table2"), {}))
    for path, runs, cells in written:
        run_id = report_run(client, runs.experiment)
        if run_id is not None:
            _log_report(client, run_id, path, runs, cells)
        print(f"Written {path}" + (f" (logged to MLflow experiment {runs.experiment!r})" if run_id else ""))
    return [p for p, _, _ in written]
