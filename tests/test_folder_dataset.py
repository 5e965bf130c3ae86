"""dataset=folder: a data owner's labelled images in the harness (docs/method.md §1 "Your own images"), in
colour through training and attacks; bad folders refused before any training."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from disguisednets.experiment import run
from disguisednets.folderdata import content_digest, load_folder
from disguisednets.imagefiles.inputs import InputError
from tests.conftest import compose_config
from tests.folders import shapes, write_folder

FOLDER_TINY = ["dataset=folder", "dataset.val_size=0.1", "model.width=0.125", "trainer.max_epochs=10",
               "trainer.batch_size=32", "trainer.progress_bar=false", "tracking.log_model=false",
               "examiner.max_epochs=2", "examiner.max_calibration_loss=100"]


@pytest.fixture(scope="module")
def rgb_folder(tmp_path_factory):
    images, labels = shapes(n_per_class=80, size=16, colour=True, classes=3)
    return write_folder(tmp_path_factory.mktemp("owner") / "shapes", images, labels, ["square", "ring", "bar"])


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_folder_reads_as_a_stratified_seeded_split_cached_by_its_content(rgb_folder, cache, tmp_path):
    ds = load_folder(rgb_folder, test_fraction=0.2, split_seed=0)
    assert ds.train_images.shape == (192, 16, 16, 3) and ds.test_images.shape == (48, 16, 16, 3)
    assert ds.train_images.dtype == np.uint8 and ds.classes == ("bar", "ring", "square")   # sorted class folders
    assert np.bincount(ds.test_labels).tolist() == [16, 16, 16]                            # 20% of each class
    assert ds.digest == content_digest(rgb_folder) and ds.name == f"shapes-{ds.digest[:8]}"
    assert list((cache / "folders").glob(f"{ds.digest[:24]}-test0.2-seed0.npz"))
    again = load_folder(rgb_folder, test_fraction=0.2, split_seed=0, use_cache=True)
    np.testing.assert_array_equal(again.test_images, ds.test_images)
    other = load_folder(rgb_folder, test_fraction=0.2, split_seed=1, use_cache=False)
    assert not np.array_equal(other.test_images, ds.test_images)                           # the seed splits
    # Every training and test image is one of the folder's, none in both.
    every = np.concatenate([ds.train_images, ds.test_images]).reshape(240, -1)
    assert len(np.unique(every, axis=0)) == 240
    # The digest follows the content, not the files' times.
    copy = write_folder(tmp_path / "copy", *shapes(n_per_class=80, size=16, colour=True, classes=3),
                        ["square", "ring", "bar"])
    assert content_digest(copy) == ds.digest
    (copy / "ring" / "00090.png").write_bytes((copy / "ring" / "00091.png").read_bytes())
    assert content_digest(copy) != ds.digest


def test_a_folder_with_train_and_test_keeps_its_own_split(tmp_path, cache):
    images, labels = shapes(n_per_class=20, size=12, colour=False, classes=2)
    write_folder(tmp_path / "own" / "train", images[::2], labels[::2])
    write_folder(tmp_path / "own" / "test", images[1::2], labels[1::2])
    ds = load_folder(tmp_path / "own")
    assert ds.train_images.shape == (20, 12, 12) and ds.test_images.shape == (20, 12, 12)
    np.testing.assert_array_equal(ds.test_images, images[1::2][np.argsort(labels[1::2], kind="stable")])


def _bad_folder(tmp_path, kind):
    images, labels = shapes(n_per_class=10, size=16, colour=True, classes=2)
    root = write_folder(tmp_path / kind, images, labels)
    if kind == "mixed_sizes":
        from PIL import Image
        Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "c0" / "odd.png")
    elif kind == "truncated":
        f = root / "c1" / "00015.png"
        f.write_bytes(f.read_bytes()[:60])
    elif kind == "one_class":
        import shutil
        shutil.rmtree(root / "c1")
    elif kind == "no_classes":
        for f in root.rglob("*.png"):
            f.rename(root / f"{f.parent.name}-{f.name}")
    return root


@pytest.mark.parametrize("kind, says", [("mixed_sizes", "size"), ("truncated", "00015.png"),
                                        ("one_class", "one class"), ("no_classes", "no class subfolders")])
def test_a_bad_folder_is_refused_before_any_training(tmp_path, cache, kind, says):
    root = _bad_folder(tmp_path, kind)
    cfg = compose_config([*FOLDER_TINY, f"dataset.path={root}", f"paths.output_dir={tmp_path / 'out'}"])
    with pytest.raises(InputError, match=says):
        run(cfg)
    assert not (tmp_path / "out" / "mlflow.db").exists() or not _runs(tmp_path / "out")   # nothing trained


def _runs(out):
    client = MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    return [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


def test_a_folder_without_a_path_says_how_to_give_one(tmp_path):
    with pytest.raises(ValueError, match="dataset.path="):
        run(compose_config([*FOLDER_TINY, f"paths.output_dir={tmp_path}"]))


@pytest.mark.slow  # trains
def test_a_colour_folder_trains_and_is_attacked_through_the_harness(rgb_folder, cache, tmp_path):
    """RGB 16×16 shapes: the network learns them in the clear and under RMT (a key per channel), and the
    covariance attack, fitted on the folder's public images, is scored in colour."""
    out = tmp_path / "out"
    common = [*FOLDER_TINY, f"dataset.path={rgb_folder}", f"paths.output_dir={out}"]
    clear = run(compose_config([*common, "mechanism=none"]))
    assert clear["test_acc"] > 60                                           # 3 classes: chance is 33%
    rmt = run(compose_config([*common, "mechanism=rmt", "mechanism.block_size=4"]))
    assert rmt["test_acc"] > 50
    attacked = run(compose_config([*common, "mechanism=rmt", "mechanism.block_size=4", "attack=covariance",
                                         "attack.knows_permutation=true", "dataset.train_size=130",
                                         "attack.public_size=40"]))
    assert 0 <= attacked["linkage_rate"] <= 100 and -1 <= attacked["ssim"] <= 1
    # EtC shuffles colour channels per block: its statistics attack reads the colour images whole, scored in colour
    etc = run(compose_config([*common, "mechanism=etc", "mechanism.block_size=4", "attack=etc_statistics",
                              "dataset.train_size=130"]))
    assert 0 <= etc["key_recovered"] <= 100 and 0 <= etc["linkage_rate"] <= 100 and -1 <= etc["ssim"] <= 1
    runs = [r for r in _runs(out) if r.data.tags.get("attack") != "etc_statistics"]
    assert {r.data.tags["kind"] for r in runs} == {"train", "attack"}
    for r in runs:
        assert r.data.tags["dataset_digest"] == content_digest(rgb_folder)
        assert r.data.tags["dataset_shape"] == "16×16×3" and r.data.tags["dataset"].startswith("shapes-")
    (att,) = [r for r in runs if r.data.tags["kind"] == "attack"]
    assert att.data.metrics["linkage_rate"] == attacked["linkage_rate"]


def test_model_theft_on_colour_is_refused_before_training(rgb_folder, cache, tmp_path):
    cfg = compose_config([*FOLDER_TINY, f"dataset.path={rgb_folder}", f"paths.output_dir={tmp_path}",
                          "mechanism=rmt", "mechanism.block_size=4", "theft.enabled=true"])
    with pytest.raises(ValueError, match="grayscale disguises only"):
        run(cfg)
