"""Scale-out paths: the GPU config (or its CPU fallback), data-parallel sharding, DDP ranks that do
not track, and Hydra's submitit launchers."""


import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from disguisednets.experiment import run
from disguisednets.training import TensorLoader, resolve_device
from tests.conftest import TINY, compose_config, multirun


def _store(tmp_path, name="disguisednets"):
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name(name)
    return client, ([] if exp is None else client.search_runs([exp.experiment_id]))


@pytest.mark.parametrize("world", [2, 3])
def test_data_parallel_shards_are_disjoint_equal_and_shuffled_alike(world):
    n = 100
    images = torch.arange(n, dtype=torch.float32)[:, None, None, None]
    labels = torch.arange(n)
    shards = []
    for rank in range(world):
        loader = TensorLoader(images, labels, batch_size=7, shuffle=True, drop_last=False, seed=5,
                              rank=rank, world_size=world)
        seen = torch.cat([y for _, y in loader]).numpy()
        assert len(loader) == int(np.ceil((n // world) / 7)) and len(seen) == n // world
        shards.append(seen)
    union = np.concatenate(shards)
    assert len(np.unique(union)) == len(union) == world * (n // world)  # disjoint, equal sizes
    single = torch.cat([y for _, y in TensorLoader(images, labels, 7, shuffle=True, seed=5)]).numpy()
    np.testing.assert_array_equal(shards[0], single[0::world][:n // world])  # one shared shuffled order
    with pytest.raises(ValueError, match="rank must lie in 0..world_size-1"):
        TensorLoader(images, labels, 7, rank=2, world_size=2)


@pytest.mark.slow  # trains or runs a subprocess
def test_gpu_config_runs_here(tiny_cfg, tmp_path, caplog):
    """trainer=gpu trains on the GPU when there is one, else falls back to the CPU, 32-bit."""
    cfg = tiny_cfg("trainer=gpu", "trainer.batch_size=64", "trainer.eval_batch_size=200", "trainer.max_epochs=1")
    info = resolve_device(cfg.trainer)
    metrics = run(cfg)
    assert 0 <= metrics["test_acc"] <= 100 and metrics["test_images"] == 200
    (r,) = _store(tmp_path)[1]
    if torch.cuda.is_available():
        assert not info["fallback"] and info["precision"] == "bf16-mixed" and info["channels_last"]
        assert r.data.tags["device"].startswith("cuda")
    else:
        assert info == {"accelerator": "cpu", "devices": 1, "precision": "32-true", "strategy": "auto",
                        "channels_last": False, "fallback": True}
        assert r.data.tags["device"] == "cpu (fallback: no CUDA device)"
        assert "no CUDA device is visible" in caplog.text
    assert r.data.params["trainer.precision"] == "bf16-mixed"  # the config as asked; the tag says what ran


@pytest.mark.slow  # trains or runs a subprocess
def test_channels_last_trains_on_the_cpu_too(tiny_cfg, images):
    """Channels-last is a memory layout only: the trained model's weights are NHWC and it predicts
    what the same weights predict in the default layout."""
    import copy

    from disguisednets.models import AlexNet
    from disguisednets.training import fit_classifier

    cfg = tiny_cfg("trainer.channels_last=true", "trainer.precision=32-true")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (128, 28, 28)).astype(np.uint8)
    y = rng.integers(0, 10, 128)
    module, data, _ = fit_classifier(cfg.trainer, AlexNet(28, width=0.125), (x, y), None, (x[:32], y[:32]), seed=0)
    model = module.model.eval()
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    assert plain.features[0].weight.is_contiguous()
    with torch.no_grad():
        t = data.to_tensor(images)
        torch.testing.assert_close(model(t), plain(t), rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # trains or runs a subprocess
def test_extra_ddp_ranks_train_but_do_not_track(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.delenv("DISGUISEDNETS_EXAMINERS")  # examiners under this run's outputs/
    metrics = run(tiny_cfg("mechanism=rmt"))
    assert 0 <= metrics["test_acc"] <= 100 and "run_id" not in metrics
    assert _store(tmp_path)[1] == []
    assert not (tmp_path / "outputs" / "examiners").exists()


def test_slurm_launcher_is_configured():
    hcfg = compose_config(["hydra/launcher=slurm_gpu", "experiment=table2", "scale=paper"], hydra_config=True)
    launcher = hcfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.gpus_per_node == 1 and launcher.tasks_per_node == 1 and launcher.timeout_min >= 60


@pytest.mark.slow  # trains or runs a subprocess
def test_submitit_local_sweep_runs_two_parallel_jobs_into_one_store(tmp_path):
    out = tmp_path / "outputs"
    done = multirun(tmp_path, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10",
                    "hydra.launcher.cpus_per_task=1", *TINY, "mechanism=none,rmt", "tracking.experiment=launched")
    assert "Submitit 'local' sweep" in done.stdout + done.stderr
    client, runs = _store(tmp_path, "launched")
    assert sorted(r.data.tags["mechanism"] for r in runs) == ["none", "rmt"]
    assert all(r.info.status == "FINISHED" and "test_acc" in r.data.metrics for r in runs)
    assert len(list((out / "multiruns").rglob("*_submitted.pkl"))) == 2  # two submitit jobs
