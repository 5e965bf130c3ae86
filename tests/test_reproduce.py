"""The reproduction: every sweep's grid composes, runs resume, and a toy sweep makes the report."""

import itertools

import pytest
from mlflow.tracking import MlflowClient

from disguisednets.experiment import run
from disguisednets.gridpoint import build_key
from disguisednets.reporting import write_paper_report
from disguisednets.reporting.provenance import PATTERN
from disguisednets.tracking import config_digest, run_name, setting_name
from tests.conftest import CONF, compose_config, multirun

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def _grid(experiment: str, scale: str = "cpu") -> list[list[str]]:
    """The overrides of every point of an experiment's sweep (first fold only)."""
    hcfg = compose_config([f"experiment={experiment}", f"scale={scale}"], hydra_config=True)
    axes = []
    for k, v in hcfg.hydra.sweeper.params.items():
        values = str(v).split(",")
        axes.append([f"{k}={values[0]}"] if k == "fold" else [f"{k}={x}" for x in values])
    return [list(p) for p in itertools.product(*axes)]


@pytest.mark.slow  # composes every grid point of every sweep (Hydra: ~0.1 s each)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_grid_point_composes_and_has_a_key(experiment):
    points = _grid(experiment)
    assert len(points) >= 2
    digests, names, settings = set(), set(), set()
    for point in points:
        cfg = compose_config([f"experiment={experiment}", *point])
        assert cfg.tracking.experiment in ("table2", "fig6", "fig7", "fig8", "fig9", "fig10", "model_confidentiality",
                                           "peers", "instahide_curve")
        assert cfg.scale.name == "cpu" and cfg.model.width == 0.25
        size = cfg.dataset.pad_to or 28
        key = build_key(cfg, (size, size), 10)
        assert (key is None) == (cfg.mechanism.name == "none")
        digests.add(config_digest(cfg))
        names.add(run_name(cfg))
        settings.add((setting_name(cfg), cfg.fold))
    assert len(digests) == len(points), "two grid points would share one result"
    assert len(settings) == len(points), "two grid points would share one setting tag (the report keeps one)"
    assert len(names) == len(points), "two grid points would share one run name (the report keeps one)"


def test_scales_set_model_trainer_data_and_folds():
    paper = compose_config(["experiment=table2", "scale=paper"], hydra_config=True)
    assert paper.model.width == 1.0 and paper.trainer.accelerator == "gpu" and paper.dataset.train_size is None
    assert paper.hydra.sweeper.params.fold == "0,1,2,3,4"
    cpu = compose_config(["experiment=table2", "scale.folds=0"], hydra_config=True)
    assert cpu.hydra.sweeper.params.fold == "0" and cpu.trainer.accelerator == "cpu"
    assert compose_config(["experiment=table2", "column=aes_ecb_attack"]).dataset.pad_to == 32


def test_config_digest_ignores_only_what_cannot_change_a_result():
    base = compose_config(["mechanism=rmt"])
    same = compose_config(["mechanism=rmt", "paths.output_dir=/elsewhere", "trainer.progress_bar=false",
                           "tracking.experiment=other", "resume=false"])
    assert config_digest(base) == config_digest(same)
    for change in (["fold=1"], ["mechanism.block_size=14"], ["noise=uniform"], ["trainer.max_epochs=7"],
                   ["attack=regression"]):
        assert config_digest(compose_config(["mechanism=rmt", *change])) != config_digest(base), change


@pytest.mark.slow  # trains or runs a subprocess
def test_finished_grid_points_are_skipped_unless_resume_is_false(tiny_cfg, tmp_path):
    first = run(tiny_cfg("mechanism=permutation"))
    again = run(tiny_cfg("mechanism=permutation", "trainer.progress_bar=true"))
    assert again["skipped"] and again["run_id"] == first["run_id"] and again["test_acc"] == first["test_acc"]
    other = run(tiny_cfg("mechanism=permutation", "fold=1"))
    assert not other.get("skipped")
    forced = run(tiny_cfg("mechanism=permutation", "resume=false"))
    assert not forced.get("skipped") and forced["run_id"] != first["run_id"]


@pytest.mark.slow  # trains or runs a subprocess
def test_two_point_table2_sweep_resumes_and_reports(tmp_path):
    """CI's smoke reproduction: the baseline and the RMT attack at toy scale, rerun, then the report."""
    sweep = ["experiment=table2", "scale=toy", "dataset=mnist", "column=baseline,rmt_attack"]
    multirun(tmp_path, *sweep)
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("table2")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    by_kind = {r.data.tags.get("attack", "train"): r for r in runs}
    assert {r.data.tags["kind"] for r in runs} == {"train", "attack"}
    assert by_kind["train"].data.tags["column"] == "baseline" and by_kind["regression"].data.tags["column"] == "rmt_attack"
    # The attack names the training run whose model is its paper-protocol examiner.
    assert by_kind["regression"].data.tags["train_run_id"] == by_kind["train"].info.run_id
    assert exp.tags["mlflow.note.content"].startswith("Table II")
    # The baseline's model is the paper-protocol examiner: the attack run trained none of its own.
    assert by_kind["regression"].data.tags["paper_examiner"] == by_kind["train"].data.tags["paper_examiner"]
    assert by_kind["regression"].data.tags["examiner"].startswith("robust-mnist-")
    assert by_kind["train"].data.tags["scale"] == "toy"

    done = multirun(tmp_path, *sweep)
    assert done.stderr.count("Skipping") + done.stdout.count("Skipping") == 2
    assert len(client.search_runs([exp.experiment_id])) == 2

    results = tmp_path / "results"
    written = write_paper_report(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}", results, ["table2"])
    assert written == [results / "table2.md"]
    table = (results / "table2.md").read_text()
    # Its provenance: the report command, and the commit and machine of the runs it reads.
    line = PATTERN.match(table.split("\n")[2])
    assert line and line["command"] == "python -m disguisednets.reporting paper"
    assert line["commit"] == runs[0].data.tags["git_commit"][:12] + (
        "-dirty-" + runs[0].data.tags["git_commit"].split("-dirty-")[1] if "-dirty-" in runs[0].data.tags["git_commit"]
        else "") and line["machine"] == runs[0].data.tags["machine"]
    base_acc = by_kind["train"].data.metrics["test_acc"]
    attack = by_kind["regression"].data.metrics["success_rate"]
    row = next(line for line in table.splitlines() if line.startswith("| mnist | ours (1 fold)"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:] == ["—", "—", f"{base_acc:.1f}", "—", "—"]  # no RMT/AES trainings: no utility cost
    assert "| mnist | paper (5 folds) | 96.6 ± 0.4 | 91.6 ± 1.1 | 96.7 ± 0.2 | 0.1 ± 0.4 | 5.1 ± 1.1 |" in table
    metrics = by_kind["regression"].data.metrics
    row = next(line for line in table.splitlines() if line.startswith("| mnist | RMT: regression, inverse fit"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:6] == ["9.29 ± 3.3", f"{attack:.1f}", f"{metrics['success_rate_paper']:.1f}",
                          f"{metrics['linkage_rate']:.1f}"]
    assert "| mnist | robust (all original training images" in table
    (report,) = client.search_runs([exp.experiment_id], filter_string="tags.kind = 'report'")
    assert sorted(a.path for a in client.list_artifacts(report.info.run_id)) == ["table2-runs-used.json", "table2.md"]
    # The report run holds the table's cells as metrics, and the runs it used.
    assert report.data.metrics["mnist/baseline/test_acc"] == pytest.approx(base_acc)
    assert report.data.metrics["mnist/rmt_attack/success_rate"] == pytest.approx(attack)
    assert sorted(report.data.tags["runs_used.table2"].split(",")) == sorted(r.info.run_id for r in runs)

    # The attack table as a results file (results/attacks_cpu.md is one), opening with its provenance.
    from disguisednets.reporting.__main__ import main as report_main

    assert report_main(["attacks", "--experiment", "table2", "--out", str(results / "attacks.md"), "--output-dir",
                        str(tmp_path / "outputs"), "--made-by", "make results-attacks"]) == 0
    attacks = (results / "attacks.md").read_text().split("\n")
    assert attacks[0] == "# table2: attack success" and PATTERN.match(attacks[2])["command"] == "make results-attacks"
    assert any(ln.startswith("| mnist rmt-b7-orthogonal-matrix uniform-level100 | regression | 20 |") for ln in attacks)


@pytest.mark.slow  # trains or runs a subprocess
def test_figure_from_a_toy_sweep(tmp_path):
    """Fig 10's left panel from two real toy runs; a figure without runs is skipped, not invented."""
    multirun(tmp_path, "experiment=fig10", "scale=toy", "mechanism.block_size=7,14")
    uri = f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}"
    written = write_paper_report(uri, tmp_path / "results", ["fig10", "fig6"])
    assert written == [tmp_path / "results" / "fig10.png"]
    assert (tmp_path / "results" / "fig10.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (tmp_path / "results" / "README.md").read_text()   # the figure's provenance, beside it
    assert "| `fig10.png` | Provenance: `python -m disguisednets.reporting paper` · commit " in readme
    assert "fig6.png" not in readme


def test_utility_cost_is_paired_by_fold():
    from types import SimpleNamespace

    from disguisednets.reporting.table2 import _utility_cost

    def r(fold, acc):
        return SimpleNamespace(data=SimpleNamespace(metrics={"test_acc": acc}, tags={"fold": str(fold)}))

    base = [r(0, 99.0), r(1, 97.0)]
    disguised = [r(1, 90.0), r(0, 95.0), r(2, 50.0)]   # fold 2 has no baseline: left out
    assert _utility_cost(base, disguised) == pytest.approx([7.0, 4.0])


@pytest.mark.slow  # trains or runs a subprocess
def test_a_toy_peers_sweep_makes_the_peers_table(tmp_path):
    """The peers' sweep end to end on a few of its columns: training on EtC, InstaHide and DP pixelization,
    the known-pair, InstaHide and denoising attacks, and results/peers.md from their runs."""
    multirun(tmp_path, "experiment=peers", "scale=toy", "dataset=mnist", "dataset.train_size=600",
             "column=baseline,etc,etc_known_pair,instahide,instahide_magnitude")
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    from disguisednets.reporting.peers import peers_markdown
    from disguisednets.reporting.runs import load_runs

    runs = load_runs(client, "peers")
    assert len(runs) == 5
    (known,) = runs.attacked(attack="known_pair")
    assert known.data.params["attack.known_pairs"] == "20" and known.data.tags["threat_level"] == "b"
    assert known.data.metrics["key_recovered"] > 50   # 20 MNIST pairs pin most of the EtC key down
    table = peers_markdown(runs, "test")
    etc = next(line for line in table.splitlines() if line.startswith("| mnist | EtC"))
    cells = [c.strip() for c in etc.strip("|").split("|")]
    # columns: dataset, scheme, setting, accuracy, cost, level (a) ×3, level (a) π given ×3, m = 20 ×3, paper
    assert cells[2] == "4×4" and cells[11] == "known_pair" and cells[12] == f"{known.data.metrics['success_rate']:.1f}"
    assert cells[8] == "—"      # a peer's attack finds its key itself: no "π given" upper bound
    ih = next(line for line in table.splitlines() if line.startswith("| mnist | InstaHide"))
    cells = [c.strip() for c in ih.strip("|").split("|")]
    assert cells[5] == "instahide_magnitude" and cells[11] == "none applies (one-time keys)"
    # DP pixelization: one row per ε (∞ is a null ε), its denoising attack at level (a)
    multirun(tmp_path, "experiment=peers_dp", "scale=toy", "dataset=mnist", "dataset.train_size=600",
             "++mechanism.block_size=4", "mechanism.epsilon=5,null", "column=dp_pixelization,dp_pixelization_denoise")
    table = peers_markdown(load_runs(client, "peers"), "test")
    summary = table.split("## Every attack run")[0]
    dp = [line for line in summary.splitlines() if line.startswith("| mnist | DP pixelization")]
    assert [line.split("|")[3].strip() for line in dp] == ["4×4, ε = ∞, m = 16 px", "4×4, ε = 5, m = 16 px"]
    assert all(line.split("|")[6].strip() == "dp_denoise" for line in dp)
