"""The reporting CLI: tables and figures read back from MLflow, set beside the paper's numbers.

    python -m disguisednets.reporting paper                       # results/table2.md, fig6–10.png, gallery.png
    python -m disguisednets.reporting summary --experiment table2  # accuracy per dataset and mechanism
    python -m disguisednets.reporting attacks --experiment fig8    # one row per attack run
    python -m disguisednets.reporting peers                       # results/peers.md: the peers side by side
    python -m disguisednets.reporting instahide-curve             # results/instahide_curve.md, .png
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlflow.tracking import MlflowClient

from disguisednets.reporting.provenance import record_figure, run_commits, run_machines, with_provenance
from disguisednets.reporting.tables import attack_table, read_runs, summary_table
from disguisednets.reporting.write import PAPER_OUTPUTS, write_paper_report
from disguisednets.tracking import UI_URL, default_uri


def _store_options(p: argparse.ArgumentParser) -> None:
    """Where the runs are, and what the results' provenance line names as their command."""
    p.add_argument("--output-dir", default=os.environ.get("DISGUISEDNETS_OUTPUT", "outputs"))
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or <output-dir>/mlflow.db")
    p.add_argument("--made-by", default=None, help="the command named in the results' provenance line (default: "
                   "this report command); `make results` names its target")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m disguisednets.reporting")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summary", help="accuracy per dataset and mechanism, beside the paper's")
    p.add_argument("--experiment", required=True, help="MLflow experiment name")
    p.add_argument("--by-run", action="store_true", help="one row per setting instead of per mechanism")
    _store_options(p)
    p = sub.add_parser("attacks", help="success rate of every attack run, with hit rates and errors")
    p.add_argument("--experiment", required=True, help="MLflow experiment name")
    p.add_argument("--out", default=None, help="write the table here, as a results file with its provenance "
                   "(e.g. results/attacks_cpu.md), instead of <output-dir>/<experiment>-attacks.md")
    p.add_argument("--snapshots", default=None, help="run snapshots (results/runs): a grid point the store has no "
                   "run of is read from here")
    _store_options(p)
    p = sub.add_parser("theft", help="model confidentiality: theft success per dataset and disguise")
    p.add_argument("--experiment", default="model_confidentiality", help="MLflow experiment name")
    p.add_argument("--results-dir", default="results")
    _store_options(p)
    p = sub.add_parser("peers", help="this paper's mechanisms beside the published alternatives (results/peers.md)")
    p.add_argument("--experiment", default="peers", help="MLflow experiment name")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--snapshots", default="results/runs", help="run snapshots: a grid point the store has no run of "
                   "is read from here (the peers sweep, InstaHide's curve and the challenge)")
    _store_options(p)
    p = sub.add_parser("leaderboard", help="results/leaderboard.md and .png from the benchmark verdicts "
                       "(results/verdicts/*.json, each checked against the verdict schema)")
    p.add_argument("--verdicts", default="results/verdicts")
    p.add_argument("--results-dir", default="results")
    _store_options(p)
    p = sub.add_parser("resistance", help="the verdict per setting (results/resistance.md), results/frontier.png and "
                       "the verdict at the top of the README beside results/")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--snapshots", default="results/runs", help="run snapshots: a grid point the store has no run of "
                   "is read from here; the snapshot of each experiment read from the store is (re)written")
    _store_options(p)
    p = sub.add_parser("snapshot", help="keep experiments' runs (tags, params, final metrics) in results/runs/")
    p.add_argument("experiments", nargs="*", help="default: every experiment the resistance report reads")
    p.add_argument("--snapshots", default="results/runs")
    _store_options(p)
    p = sub.add_parser("instahide-curve", help="InstaHide's learning curves (results/instahide_curve.md, .png)")
    p.add_argument("--experiment", default="instahide_curve", help="MLflow experiment name")
    p.add_argument("--results-dir", default="results")
    _store_options(p)
    p = sub.add_parser("paper", help="Table II, Figs 6–10 and the gallery into results/ (and MLflow)")
    p.add_argument("--only", nargs="+", choices=PAPER_OUTPUTS, help="default: all that have runs")
    p.add_argument("--results-dir", default="results")
    _store_options(p)
    args = parser.parse_args(argv)
    uri = default_uri(args.output_dir, args.tracking_uri)
    if args.cmd == "paper":
        command = "python -m disguisednets.reporting paper" + (f" --only {' '.join(args.only)}" if args.only else "")
        written = write_paper_report(uri, args.results_dir, args.only, command, args.made_by)
        if not written:
            print("Nothing written: no runs for what was asked.")
            return 1
        table2 = Path(args.results_dir) / "table2.md"
        if table2 in written:  # the main result, on the terminal too
            print("\n" + table2.read_text().split("\n## The examiners")[0])
        if uri.startswith("sqlite:"):
            print(f"Browse the runs: .venv/bin/mlflow ui --backend-store-uri {uri}, then open {UI_URL}")
        return 0
    if args.cmd == "instahide-curve":
        from disguisednets.reporting.instahide_curve import curve_figure, curve_markdown, curves
        from disguisednets.reporting.runs import load_runs

        client = MlflowClient(uri)
        runs = load_runs(client, args.experiment)
        found = curves(client, runs)
        if not found:
            print(f"No trainings in MLflow experiment {args.experiment!r}; run: python experiments/run.py --multirun "
                  "experiment=instahide_curve")
            return 1
        command = "python -m disguisednets.reporting instahide-curve"
        out = Path(args.results_dir) / "instahide_curve.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(with_provenance(curve_markdown(found, command), args.made_by or command,
                                       run_commits(runs.runs), run_machines(runs.runs)))
        curve_figure(found).savefig(out.with_suffix(".png"), dpi=130)
        record_figure(out.parent, out.with_suffix(".png"), args.made_by or command, run_commits(runs.runs),
                      run_machines(runs.runs))
        print(out.read_text())
        return 0
    if args.cmd == "snapshot":
        from disguisednets.reporting.resistance import ATTACK_EXPERIMENTS, TRAIN_EXPERIMENTS
        from disguisednets.reporting.runs import load_runs
        from disguisednets.reporting.snapshot import write_snapshot

        client = MlflowClient(uri)
        wanted = args.experiments or list(dict.fromkeys((*ATTACK_EXPERIMENTS, *TRAIN_EXPERIMENTS)))
        for e in wanted:
            runs = load_runs(client, e)
            if runs.runs:
                print(f"{e}: {len(runs)} runs ({run_commits(runs.runs)}) -> {write_snapshot(runs, args.snapshots, args.made_by or 'python -m disguisednets.reporting snapshot')}")
            else:
                print(f"{e}: no finished runs in the store; its snapshot (if any) is left as it is")
        return 0
    if args.cmd == "leaderboard":
        from disguisednets.reporting.leaderboard import leaderboard_figure, leaderboard_markdown, read_verdicts

        verdicts = read_verdicts(args.verdicts)
        if not verdicts:
            print(f"No verdicts in {args.verdicts}; run: bash experiments/leaderboard.sh")
            return 1
        command = "python -m disguisednets.reporting leaderboard"
        commit = "+".join(sorted({v["commit"] for v in verdicts}))
        machine = " + ".join(sorted({v["made"].split(" · ")[0] for v in verdicts}))
        out = Path(args.results_dir) / "leaderboard.md"
        out.write_text(with_provenance(leaderboard_markdown(verdicts, command), args.made_by or command, commit, machine))
        fig = leaderboard_figure(verdicts)
        fig.savefig(out.with_suffix(".png"), dpi=130)
        record_figure(out.parent, out.with_suffix(".png"), args.made_by or command, commit, machine)
        print(out.read_text())
        print(f"Written {out} and {out.with_suffix('.png')}.")
        return 0
    if args.cmd == "resistance":
        from disguisednets.reporting.peers import reference_instahide
        from disguisednets.reporting.resistance import (ATTACK_EXPERIMENTS, TRAIN_EXPERIMENTS, frontier_figure,
                                                        resistance_markdown, utility_costs, verdicts)
        from disguisednets.reporting.snapshot import load_runs_or_snapshot, write_snapshot
        from disguisednets.reporting.verdict import BEGIN as VERDICT_BEGIN
        from disguisednets.reporting.verdict import read_resistance, readme_with_verdict, verdict_markdown

        client = MlflowClient(uri)
        read, sources = {}, {}
        for e in dict.fromkeys((*ATTACK_EXPERIMENTS, *TRAIN_EXPERIMENTS)):
            read[e], sources[e] = load_runs_or_snapshot(client, e, args.snapshots)
            if sources[e].startswith("store") and args.snapshots:   # the committed record of what this report read
                write_snapshot(read[e], args.snapshots, args.made_by or "python -m disguisednets.reporting resistance")
        attacks = {e: read[e].attacked() for e in ATTACK_EXPERIMENTS}
        trains = {e: read[e].trained() for e in TRAIN_EXPERIMENTS}
        # only the trainings that follow InstaHide's reference recipe
        trains["instahide_curve"] = reference_instahide(read["instahide_curve"]).trained()
        everything = [r for runs in (*attacks.values(), *trains.values()) for r in runs]
        found = verdicts(attacks)
        if not found:
            print("No attack runs to judge; run the sweeps first (make results-runs).")
            return 1
        costs = utility_costs(trains)
        command = "python -m disguisednets.reporting resistance"
        out = Path(args.results_dir) / "resistance.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(with_provenance(resistance_markdown(found, costs, command, sources), args.made_by or command,
                                       run_commits(everything), run_machines(everything)))
        frontier_figure(found, costs).savefig(out.with_name("frontier.png"), dpi=130)
        record_figure(out.parent, out.with_name("frontier.png"), args.made_by or command, run_commits(everything),
                      run_machines(everything))
        print(out.read_text())
        print(f"Written {out} and {out.with_name('frontier.png')}.")
        readme = Path(args.results_dir).resolve().parent / "README.md"   # the project's README beside results/
        if readme.is_file() and VERDICT_BEGIN in readme.read_text():
            readme.write_text(readme_with_verdict(readme.read_text(), verdict_markdown(read_resistance(out.read_text()))))
            print(f"Written the verdict at the top of {readme}.")
        return 0
    if args.cmd in ("peers", "theft"):
        from disguisednets.reporting.snapshot import load_runs_or_snapshot

        runs, _ = load_runs_or_snapshot(MlflowClient(uri), args.experiment, getattr(args, "snapshots", None))
        sweep = {"peers": "peers", "theft": "model_confidentiality"}[args.cmd]
        if not len(runs):
            print(f"No finished runs in MLflow experiment {args.experiment!r}; run: python experiments/run.py "
                  f"--multirun experiment={sweep}")
            return 1
        command = f"python -m disguisednets.reporting {args.cmd}" + (
            f" --experiment {args.experiment}" if args.experiment != sweep or args.cmd == "theft" else "")
        if args.cmd == "peers":
            from disguisednets.reporting.peers import peers_markdown as markdown
            out = Path(args.results_dir) / "peers.md"
        else:
            from disguisednets.reporting.theft import theft_markdown as markdown
            out = Path(args.results_dir) / f"{args.experiment}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        made_from, extra = runs.runs, {}
        if args.cmd == "peers":   # InstaHide's accuracy: the reference recipe's trainings (experiment=instahide_curve)
            from disguisednets.reporting.peers import reference_instahide
            extra = {"instahide": reference_instahide(load_runs_or_snapshot(MlflowClient(uri), "instahide_curve",
                                                                            args.snapshots)[0]),
                     "challenge": load_runs_or_snapshot(MlflowClient(uri), "challenge", args.snapshots)[0]}
            made_from = runs.runs + extra["instahide"].runs + extra["challenge"].runs
        out.write_text(with_provenance(markdown(runs, command, **extra), args.made_by or command, run_commits(made_from),
                                       run_machines(made_from)))
        print(out.read_text())
        print(f"Written {out}.")
        if args.cmd == "theft":
            from disguisednets.reporting.theft import inversion_figure

            fig = inversion_figure(MlflowClient(uri), runs)
            if fig is not None:
                fig.savefig(out.with_suffix(".png"), dpi=130)
                record_figure(out.parent, out.with_suffix(".png"), args.made_by or command, run_commits(runs.runs),
                              run_machines(runs.runs))
                print(f"Written {out.with_suffix('.png')}.")
        return 0
    if args.cmd == "attacks":
        read = read_runs(MlflowClient(uri), args.experiment, args.snapshots)
        text = (f"# {args.experiment}: attack success\n\n"
                f"{attack_table(MlflowClient(uri), args.experiment, runs=read)}\n\n"
                "Success rate = 100 × examiner accuracy on reconstructed (or disguised) test images / its accuracy "
                "on the original test images (docs/method.md §4), under the robust examiner and the paper-protocol one (the "
                "baseline model of the run's scale). Linkage = share of reconstructions whose own original is the "
                "most correlated original test image (no examiner). Raw map: the scores before the attacker's "
                "clean-up. Hit rates: codebook lookups found, over all units and over units whose original pixels "
                "are not all background.\n")
    else:
        table = summary_table(MlflowClient(uri), args.experiment, args.by_run)
        text = (f"# {args.experiment}: test accuracy beside the paper (Table I/II)\n\n{table}\n\n"
                "Accuracy is measured in the remapped label space on the runs' test images (column 'test images'). "
                "Ours is CPU scale (narrow AlexNet, few epochs); the paper's is full AlexNet in TensorFlow.\n")
    out = Path(args.output_dir) / f"{args.experiment}-{args.cmd}.md"
    if args.cmd == "attacks" and args.out:
        runs = read.runs
        command = f"python -m disguisednets.reporting attacks --experiment {args.experiment} --out {args.out}" + (
            f" --snapshots {args.snapshots}" if args.snapshots is not None else "")
        text = with_provenance(text.replace(f"# {args.experiment}: attack success\n",
                                            f"# {args.experiment}: attack success\n\nMade by `{command}` from the runs "
                                            f"of MLflow experiment `{args.experiment}` ({len(runs)} runs).\n", 1),
                               args.made_by or command, run_commits(runs), run_machines(runs))
        out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"Written to {out}.")
    if uri.startswith("sqlite:"):
        print(f"Browse the runs: .venv/bin/mlflow ui --backend-store-uri {uri}, then open {UI_URL}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
