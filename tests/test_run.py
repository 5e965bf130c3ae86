"""The entry point on tiny settings: training runs, MLflow records it, and no key material leaks."""

import json
import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from disguisednets.reporting.__main__ import main as report_main
from disguisednets.experiment import run
from disguisednets.gridpoint import build_key
from tests.conftest import TINY, compose_config, multirun


def _store(tmp_path):
    return MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")


def _secret_fragments(key):
    """Pieces of key material that must not appear anywhere: base64 chunks and printed numbers."""
    arrays = json.loads(key.to_json())["arrays"]
    fragments = [a["data"][i:i + 24] for a in arrays.values() for i in range(0, min(len(a["data"]), 240), 24)]
    if key.has_array("matrices"):
        fragments += [repr(float(v))[:10] for v in key.array("matrices").ravel()[:20]]
    fragments.append(str(key.array("permutation").tolist()))
    fragments.append(str(key.array("label_map").tolist()))
    return [f for f in fragments if len(f) >= 8]


@pytest.mark.slow  # trains or runs a subprocess
def test_run_trains_and_logs_everything(tiny_cfg, tmp_path):
    cfg = tiny_cfg("mechanism=rmt")
    metrics = run(cfg)
    client = _store(tmp_path)
    exp = client.get_experiment_by_name("disguisednets")
    (r,) = client.search_runs([exp.experiment_id])
    assert r.info.status == "FINISHED" and r.info.run_id == metrics["run_id"]
    for name in ("test_acc", "val_acc", "val_loss", "train_acc", "train_loss", "epoch_time_s"):
        assert name in r.data.metrics, name
    assert [m.step for m in client.get_metric_history(r.info.run_id, "val_acc")] == [0]
    # One scale: accuracies in %, as the rates are (300 training images, 10 classes: above chance, and
    # a fraction 0..1 would read as under 1%).
    assert 10 < r.data.metrics["test_acc"] <= 100 and 1 < r.data.metrics["val_acc"] <= 100
    assert r.data.metrics["test_acc"] == metrics["test_acc"] and r.data.metrics["test_images"] == 200
    assert r.data.tags["kind"] == "train" and r.data.tags["setting"] == "train · mnist rmt-b7-orthogonal-matrix"
    assert r.info.run_name == "train · fold0 · mnist rmt-b7-orthogonal-matrix" and "column" not in r.data.tags
    # No tracking, output paths, unset values or unused groups among the params.
    assert not [k for k, v in r.data.params.items() if k.startswith(("paths.", "tracking.", "attack.", "examiner."))
                or v == "None"]
    key = build_key(cfg, (28, 28), 10)
    assert r.data.tags["key_fingerprint"] == key.fingerprint and r.data.tags["key_kind"] == "experiment"
    assert r.data.tags["git_commit"]
    assert r.data.params["mechanism.block_size"] == "7" and r.data.params["dataset.train_size"] == "300"

    # No key material in params, tags or artifacts.
    texts = list(r.data.params.values()) + list(r.data.tags.values())
    local = Path(client.download_artifacts(r.info.run_id, "", str(tmp_path / "art")))
    texts += [p.read_text(errors="replace") for p in local.rglob("*") if p.is_file()]
    blob = "\n".join(texts)
    for fragment in _secret_fragments(key):
        assert fragment not in blob


@pytest.mark.slow  # trains or runs a subprocess
def test_baseline_on_original_images_and_its_summary(tiny_cfg, tmp_path, capsys):
    metrics = run(tiny_cfg("mechanism=none", "tracking.experiment=base"))
    (r,) = _store(tmp_path).search_runs([_store(tmp_path).get_experiment_by_name("base").experiment_id])
    assert r.data.tags["key_fingerprint"] == "none" and r.data.metrics["test_acc"] == metrics["test_acc"]
    report_main(["summary", "--experiment", "base", "--output-dir", str(tmp_path / "outputs")])
    table = (tmp_path / "outputs" / "base-summary.md").read_text()
    assert f"| mnist | baseline (no disguise) | {metrics['test_acc']:.1f} (1 fold) | 200 | 96.7 ± 0.2 |" in table
    assert "mlflow ui --backend-store-uri sqlite:///" in capsys.readouterr().out


@pytest.mark.parametrize("overrides", [
    ["mechanism=permutation", "noise=salt_and_pepper"],
    ["mechanism=rmt", "mechanism.kind=gaussian", "mechanism.mode=flat", "noise=uniform"],
    ["mechanism=aes_ecb", "mechanism.unit=2", "mechanism.aes_form=literal", "mechanism.filter=bicubic"],
    ["mechanism=aes_ecb", "noise=salt_and_pepper"],
    ["mechanism=aes_cbc"],
    ["mechanism=etc"],
    ["mechanism=learnable"],
    ["mechanism=instahide"],
])
@pytest.mark.slow  # trains or runs a subprocess
def test_every_mechanism_trains_through_the_entry_point(tiny_cfg, tmp_path, overrides):
    cfg = tiny_cfg(*overrides, "dataset.train_size=128", "dataset.val_size=64", "dataset.test_size=64")
    metrics = run(cfg)
    assert metrics["test_images"] == 64 and metrics["train_images"] == 128 and 0 <= metrics["test_acc"] <= 100
    (r,) = _store(tmp_path).search_runs([_store(tmp_path).get_experiment_by_name("disguisednets").experiment_id])
    assert r.data.tags["key_fingerprint"] == build_key(cfg, (cfg.dataset.pad_to or 28,) * 2, 10).fingerprint


@pytest.mark.slow  # trains
def test_runs_open_as_model_training_with_their_data_and_model(tiny_cfg, tmp_path):
    """What the MLflow UI shows: the runs table (experiment kind), the Dataset column (one input per split,
    named by dataset, disguise, fold and size, with the split's digest), and the Models column: a model
    that mlflow.pytorch.load_model loads and that predicts on disguised images as the run's network did."""
    import mlflow
    import numpy as np
    import torch

    from disguisednets.gridpoint import STREAM_NOISE, GridPoint

    cfg = tiny_cfg("mechanism=rmt", "trainer.precision=32-true")  # 32-bit on every CPU: the same predictions
    metrics = run(cfg)
    client = _store(tmp_path)
    exp = client.get_experiment_by_name("disguisednets")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    r = client.get_run(metrics["run_id"])
    inputs = {{t.key: t.value for t in i.tags}["mlflow.data.context"]: i.dataset for i in r.inputs.dataset_inputs}
    assert sorted(inputs) == ["testing", "training", "validation"]
    assert inputs["training"].name == "mnist rmt-b7-orthogonal-matrix · fold0 · training (300 images)"
    assert inputs["testing"].name.endswith("testing (200 images)") and len(inputs["training"].digest) == 16
    again = run(tiny_cfg("mechanism=rmt", "trainer.precision=32-true", "resume=false"))  # the same data, digests
    assert {i.dataset.digest for i in client.get_run(again["run_id"]).inputs.dataset_inputs} == \
        {d.digest for d in inputs.values()}

    (model,) = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list",
                                           filter_string=f"source_run_id = '{r.info.run_id}'")
    mlflow.set_tracking_uri(client.tracking_uri)
    loaded = mlflow.pytorch.load_model(model.model_uri)
    point = GridPoint.build(cfg)
    _, _, (test_x, test_y) = point.disguised_splits()   # disguised images, disguised classes
    with torch.no_grad():
        predicted = loaded(torch.from_numpy(test_x)).argmax(1).numpy()
    # The run tested the same network on the same images, in 32-bit as here (at most one image may flip).
    assert abs(100 * np.mean(predicted == test_y) - metrics["test_acc"]) <= 100 / len(test_y)
    example = point.disguise(point.splits.test[0][:4], point.rng(STREAM_NOISE))
    assert example.dtype == np.float32 and tuple(loaded(torch.from_numpy(example)).shape) == (4, 10)


@pytest.mark.slow  # trains or runs a subprocess
def test_multirun_cli_creates_store_first_and_keeps_keys_out_of_outputs(tmp_path):
    """The real command line: a two-point sweep; Hydra's output folders hold no key material."""
    out = tmp_path / "outputs"
    done = multirun(tmp_path, *TINY, "tracking.experiment=sweep", "mechanism=none,rmt")
    client = MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    assert sorted(r.data.tags["mechanism"] for r in runs) == ["none", "rmt"]
    assert all(r.info.status == "FINISHED" for r in runs)
    key = build_key(compose_config(["mechanism=rmt"]), (28, 28), 10)
    hydra_files = [p for p in (out / "multiruns").rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in hydra_files)
    blob = "\n".join(p.read_text(errors="replace") for p in hydra_files) + done.stdout + done.stderr
    for fragment in _secret_fragments(key):
        assert fragment not in blob
    assert not list(tmp_path.glob("mlruns")), "nothing written outside paths.output_dir"


@pytest.mark.slow  # trains or runs a subprocess
def test_a_run_leaves_the_next_run_its_own_store(tmp_path, monkeypatch):
    """mlflow.set_tracking_uri writes $MLFLOW_TRACKING_URI; a run must not leave it behind, or the
    next run in the same process (a multirun's next job) would log into this run's store."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first = run(compose_config([*TINY, f"paths.output_dir={tmp_path / 'a'}", "mechanism=none"]))
    assert "MLFLOW_TRACKING_URI" not in os.environ
    second = run(compose_config([*TINY, f"paths.output_dir={tmp_path / 'b'}", "mechanism=none"]))
    assert not second.get("skipped"), "the second store is empty: nothing to resume from"
    for store, run_id in (("a", first["run_id"]), ("b", second["run_id"])):
        client = MlflowClient(f"sqlite:///{tmp_path / store / 'mlflow.db'}")
        assert client.get_run(run_id).info.status == "FINISHED"


@pytest.mark.slow  # runs a subprocess
@pytest.mark.parametrize("settings, says", [
    (["mechanism=permutation", "mechanism.block_size=5"], "must divide the image size 28×28"),
    (["mechanism=rmt", "mechanism.kind=bogus"], "'bogus'"),
    (["mechanism=rmt", "attack=regression", "attack.name=bogus"], "Unknown attack 'bogus'"),
])
def test_a_bad_setting_is_refused_before_hydra_or_the_store_writes_anything(tmp_path, settings, says):
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "run.py"), *settings,
                           f"paths.output_dir={tmp_path / 'outputs'}"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0]
    assert list(tmp_path.iterdir()) == []          # no Hydra output folder, no MLflow store


def _clone_and_code_versions(tmp_path):
    """A clone of this repository, and a function that prints, from inside it, ``git_commit()`` then
    ``code_version`` of that and of each commit given (each in a fresh process: both are cached)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)

    def versions(*commits: str) -> list[str]:
        code = ("import sys; from disguisednets.runinfo import code_version, git_commit; "
                "print(git_commit()); print(*(code_version(c) for c in [git_commit(), *sys.argv[1:]]), sep='\\n')")
        return subprocess.run([sys.executable, "-c", code, *commits], cwd=clone, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(clone)}, check=True).stdout.split()

    return clone, versions


def test_code_version_ignores_results_and_docs_but_not_code(tmp_path):
    """The report rewrites results/ after a sweep; that must not make the code "dirty" (a dirty
    version would stop the next `make reproduce` from resuming)."""
    clone, versions = _clone_and_code_versions(tmp_path)

    def version() -> str:
        return versions()[0]

    clean = version()
    assert "dirty" not in clean and not clean.startswith("unknown")
    (clone / "results").mkdir(exist_ok=True)
    (clone / "results" / "table2.md").write_text("rewritten by the report\n")
    (clone / "README.md").write_text("edited\n")
    assert version() == clean
    (clone / "conf" / "config.yaml").write_text((clone / "conf" / "config.yaml").read_text() + "\n# edited\n")
    assert version().startswith(clean + "-dirty-")


def test_a_results_commit_keeps_the_code_version_but_a_code_commit_does_not(tmp_path):
    """`make results` commits results/; the runs made before that commit are still runs of the current
    code (find_finished_run resumes them). A commit that changes a config is new code."""
    import subprocess

    clone, versions = _clone_and_code_versions(tmp_path)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    before, before_version = versions()
    (clone / "results").mkdir(exist_ok=True)
    (clone / "results" / "table2.md").write_text("rewritten by the report\n")
    subprocess.run([*git, "add", "-A", "results"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "results"], check=True)
    after, after_version, old_version = versions(before)
    assert after != before and after_version == old_version == before_version
    (clone / "conf" / "config.yaml").write_text((clone / "conf" / "config.yaml").read_text() + "\n# edited\n")
    subprocess.run([*git, "commit", "-q", "-am", "code"], check=True)
    _, code_version, old_version = versions(before)
    assert code_version != old_version == before_version
    _, unknown = versions("0" * 40)[1:]
    assert unknown == "0" * 40  # a commit the repository lacks matches only itself


def test_instahide_learning_curves_are_logged_per_epoch_and_reported(tiny_cfg, tmp_path):
    """InstaHide trained on fresh encodings (and on one set), AlexNet and the reference's ResNet-18: the
    curve report reads each run's per-epoch validation accuracy back from MLflow, table and figure."""
    for overrides in (["model=resnet18_cpu", "model.width=0.125"], ["mechanism.fresh_encodings=false"]):
        run(tiny_cfg("mechanism=instahide", "trainer.max_epochs=2", "tracking.experiment=instahide_curve",
                     "tracking.log_model=false", *overrides))
    results = tmp_path / "results"
    assert report_main(["instahide-curve", "--output-dir", str(tmp_path / "outputs"),
                        "--results-dir", str(results)]) == 0
    text = (results / "instahide_curve.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| mnist |")]
    assert len(rows) == 2 and any("resnet18 w0.125, fresh every epoch | 2 |" in r for r in rows)
    assert any("alexnet w0.125, one set | 2 |" in r for r in rows)
    assert (results / "instahide_curve.png").stat().st_size > 10_000
