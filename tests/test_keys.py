import json
import os
import stat

import numpy as np
import pytest

from disguisednets.keys import DisguiseKey, KeyFileError, KeyRandom
from disguisednets.mechanisms import generate_key, load_key


@pytest.fixture
def key():
    return generate_key("rmt", (28, 28), 7, seed=3)


def test_seeded_keys_are_reproducible_and_marked(key):
    again = generate_key("rmt", (28, 28), 7, seed=3)
    assert again == key and again.fingerprint == key.fingerprint and key.experiment
    assert generate_key("rmt", (28, 28), 7, seed=4) != key


def test_default_keys_come_from_the_os_csprng(monkeypatch):
    a, b = generate_key("rmt", (28, 28), 7), generate_key("rmt", (28, 28), 7)
    assert not a.experiment and a != b
    calls = []
    real = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: calls.append(n) or real(n))
    generate_key("rmt", (28, 28), 7)
    assert sum(calls) >= 8 * (16 + 10 + 16 * 49)  # permutation, label map, 16 matrices of 7×7


def test_key_random_distributions():
    rng = KeyRandom(seed=1)
    u = rng.uniform((100_000,))
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = rng.normal((100_000,))
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert sorted(rng.permutation(50)) == list(range(50))


def test_repr_and_json_show_no_key_material(key):
    text = repr(key)
    assert key.fingerprint in text and "experiment key" in text
    for name in ("matrices", "permutation", "label_map"):
        assert str(key.array(name).ravel()[:3]) not in text


def test_save_is_0600_and_never_overwrites(key, tmp_path):
    path = key.save(tmp_path / "k.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == key
    with pytest.raises(FileExistsError, match="Refusing to overwrite"):
        key.save(path)
    assert load_key(path) == key  # the existing key survives
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temp files left


def test_load_rejects_wrong_mechanism(key, tmp_path):
    path = key.save(tmp_path / "k.json")
    with pytest.raises(KeyFileError, match="is a 'rmt' key; a 'aes_ecb' key is needed"):
        load_key(path, mechanism="aes_ecb")


def _edit(key, tmp_path, change):
    doc = json.loads(key.to_json())
    change(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    return path


def test_load_rejects_wrong_shape(key, tmp_path):
    def shrink(doc):
        m = generate_key("rmt", (28, 28), 14, seed=0).to_json()
        doc["arrays"]["matrices"] = json.loads(m)["arrays"]["matrices"]
    with pytest.raises(KeyFileError, match=r"'matrices' has shape \(4, 14, 14\).*needs shape \(16, 7, 7\)"):
        load_key(_edit(key, tmp_path, shrink))


def test_load_rejects_edited_spec_and_corruption(key, tmp_path):
    def touch_spec(doc):
        doc["spec"]["kind"] = "gaussian"
    with pytest.raises(KeyFileError, match="does not match its recorded fingerprint"):
        load_key(_edit(key, tmp_path, touch_spec))
    bad = tmp_path / "bad.json"
    bad.write_text(key.to_json()[:-40])
    with pytest.raises(KeyFileError, match="not a valid key file"):
        load_key(bad)
    bad.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(KeyFileError, match="corrupt"):
        load_key(bad)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key(tmp_path / "missing.json")


def test_load_rejects_non_permutation(key, tmp_path):
    def dup(doc):
        k = DisguiseKey(key.spec, {"permutation": np.zeros(16, np.int64), "label_map": key.array("label_map"),
                                   "matrices": key.array("matrices")}, True)
        doc["arrays"] = json.loads(k.to_json())["arrays"]
        doc["fingerprint"] = k.fingerprint
    with pytest.raises(KeyFileError, match="'permutation' is not a permutation"):
        load_key(_edit(key, tmp_path, dup))


def test_key_errors_never_contain_key_material(key, tmp_path):
    secrets = json.loads(key.to_json())["arrays"]
    def shrink(doc):
        doc["arrays"]["matrices"]["shape"] = [4, 7, 7]
    with pytest.raises(KeyFileError) as err:
        load_key(_edit(key, tmp_path, shrink))
    for a in secrets.values():
        assert a["data"][:16] not in str(err.value)


def test_experiment_keys_of_different_grid_points_share_no_key_material():
    """The same seed for another dataset, mechanism or setting gives other secrets (issue: MNIST and
    Fashion runs of a fold shared their key; rmt and permutation their permutation)."""
    from tests.conftest import compose_config

    from disguisednets.gridpoint import build_key

    mnist = build_key(compose_config(["mechanism=rmt", "dataset=mnist"]), (28, 28), 10)
    fashion = build_key(compose_config(["mechanism=rmt", "dataset=fashion"]), (28, 28), 10)
    assert mnist.fingerprint != fashion.fingerprint
    for name in ("permutation", "label_map", "matrices"):
        assert not np.array_equal(mnist.array(name), fashion.array(name)), name
    again = build_key(compose_config(["mechanism=rmt", "dataset=mnist"]), (28, 28), 10)
    assert again == mnist  # still reproducible
    perm = generate_key("permutation", (28, 28), 7, seed=0)
    rmt = generate_key("rmt", (28, 28), 7, seed=0)
    rmt_noisy = generate_key("rmt", (28, 28), 7, seed=0, noise={"kind": "uniform", "level": 100})
    assert not np.array_equal(perm.array("permutation"), rmt.array("permutation"))
    assert not np.array_equal(rmt.array("matrices"), rmt_noisy.array("matrices"))
