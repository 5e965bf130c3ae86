"""The data owner's command line, end to end on PNG files written by Pillow."""

import filecmp
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disguisednets import cli
from disguisednets.mechanisms import load_key
from disguisednets.mechanisms import make_mechanism

CLASSES = ("cat", "dog", "emu")


def write_folder(root: Path, per_class: int = 4, size=(28, 28), seed: int = 0, flat: bool = False) -> np.ndarray:
    """An ImageFolder (or a flat folder) of random 8-bit grayscale PNGs; returns the images in file order."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(CLASSES) * per_class, *size), dtype=np.uint8)
    for i, image in enumerate(images):
        folder = root if flat else root / CLASSES[i // per_class]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"img{i:03d}.png")
    return images


def read_folder(root: Path) -> dict[str, list[np.ndarray]]:
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) or [root]:
        out[folder.name] = [np.asarray(Image.open(f)) for f in sorted(folder.glob("*.png"))]
    return out


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def keygen(tmp_path, *settings, name="owner.key") -> Path:
    path = tmp_path / name
    assert run("keygen", *settings, "-o", path) == 0
    return path


def test_keygen_writes_0600_prints_only_the_fingerprint_and_never_overwrites(tmp_path, capsys):
    path = keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7")
    out = capsys.readouterr().out
    key = load_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key.fingerprint in out and not key.experiment
    secret = json.loads(path.read_text())["arrays"]
    for a in secret.values():
        assert a["data"][:24] not in out
    before = path.read_bytes()
    assert run("keygen", "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "-o", path) == 2
    assert "already exists" in capsys.readouterr().err and path.read_bytes() == before


def test_keygen_rejects_a_block_size_that_does_not_divide_the_image(tmp_path, capsys):
    assert run("keygen", "--mechanism", "aes_ecb", "--image-size", "28", "--block-size", "8",
               "-o", tmp_path / "k") == 2
    err = capsys.readouterr().err
    assert "error:" in err and "28" in err and not (tmp_path / "k").exists()


@pytest.mark.parametrize("settings", [
    ["--mechanism", "permutation", "--block-size", "7"],
    ["--mechanism", "rmt", "--block-size", "7"],
    ["--mechanism", "rmt", "--block-size", "7", "--kind", "gaussian", "--mode", "flat"],
    ["--mechanism", "aes_ecb", "--block-size", "4", "--unit", "16"],
    ["--mechanism", "aes_cbc", "--block-size", "4", "--unit", "16"],
])
def test_keygen_disguise_restore_round_trip_on_png_folders(tmp_path, capsys, settings):
    originals = write_folder(tmp_path / "data")
    key_path = keygen(tmp_path, *settings, "--image-size", "28x28", "--classes", "3")
    assert run("disguise", "--key", key_path, tmp_path / "data", "-o", tmp_path / "cloud.npz", "-q") == 0
    with np.load(tmp_path / "cloud.npz") as z:
        disguised, codes = z["images"], z["labels"]
        assert str(z["key_fingerprint"]) == load_key(key_path).fingerprint
    mech = make_mechanism(load_key(key_path))
    assert disguised.shape == (12, 28, 28) and not np.array_equal(disguised.astype(np.float64), originals)
    np.testing.assert_array_equal(codes, mech.disguise_labels(np.repeat(np.arange(3), 4)))

    assert run("restore", "--key", key_path, tmp_path / "cloud.npz", "-o", tmp_path / "back",
               "--classes-from", tmp_path / "data", "-q") == 0
    restored = read_folder(tmp_path / "back")
    assert sorted(restored) == list(CLASSES)
    np.testing.assert_array_equal(np.stack([im for c in CLASSES for im in restored[c]]), originals)


def test_uint8_output_as_png_folder_restores_from_that_folder(tmp_path):
    originals = write_folder(tmp_path / "data")
    key_path = keygen(tmp_path, "--mechanism", "aes_ecb", "--image-size", "28", "--block-size", "4", "--classes", "3")
    assert run("disguise", "--key", key_path, tmp_path / "data", "-o", tmp_path / "cloud", "-q") == 0
    mech = make_mechanism(load_key(key_path))
    codes = mech.disguise_labels(np.arange(3))
    assert sorted(p.name for p in (tmp_path / "cloud").iterdir() if p.is_dir()) == sorted(str(c) for c in codes)
    assert json.loads((tmp_path / "cloud" / "disguisednets.json").read_text())["key_fingerprint"] == \
        load_key(key_path).fingerprint
    assert run("restore", "--key", key_path, tmp_path / "cloud", "-o", tmp_path / "back.npz", "-q") == 0
    with np.load(tmp_path / "back.npz") as z:
        order = np.argsort(z["labels"], kind="stable")
        np.testing.assert_array_equal(z["labels"][order], np.repeat(np.arange(3), 4))
        np.testing.assert_array_equal(z["images"][order], originals)


def test_flat_folder_of_new_images_for_inference(tmp_path):
    originals = write_folder(tmp_path / "new", flat=True)
    key_path = keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7")
    assert run("disguise", "--key", key_path, tmp_path / "new", "-o", tmp_path / "new.npz", "-q") == 0
    with np.load(tmp_path / "new.npz") as z:
        assert "labels" not in z.files and z["images"].dtype == np.float32
        np.testing.assert_allclose(make_mechanism(load_key(key_path)).restore(z["images"]), originals, atol=1e-2)


def test_array_inputs_and_chunks(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(50, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50)
    np.save(tmp_path / "x.npy", images)
    np.savez(tmp_path / "xy.npz", images=images, labels=labels)
    key_path = keygen(tmp_path, "--mechanism", "aes_ecb", "--image-size", "32", "--block-size", "8")
    key = load_key(key_path)
    for src, out in (("x.npy", "a.npy"), ("xy.npz", "b.npz")):
        assert run("disguise", "--key", key_path, tmp_path / src, "-o", tmp_path / out, "--chunk", "7", "-q") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), make_mechanism(key).disguise(images))
    with np.load(tmp_path / "b.npz") as z:  # ECB without noise: deterministic, chunking changes nothing
        np.testing.assert_array_equal(z["images"], np.load(tmp_path / "a.npy"))
        np.testing.assert_array_equal(z["labels"], make_mechanism(key).disguise_labels(labels))


def _bad(tmp_path, capsys, argv, message):
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before, "a failed command wrote something"


def test_bad_inputs_are_clear_errors_and_write_nothing(tmp_path, capsys):
    write_folder(tmp_path / "data")
    key_path = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7",
                      "--classes", "3")
    capsys.readouterr()
    disguise = ["disguise", "--key", key_path]

    mixed = tmp_path / "mixed"
    write_folder(mixed, per_class=1)
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(mixed / "cat" / "big.png")
    _bad(tmp_path, capsys, [*disguise, mixed, "-o", tmp_path / "o.npz"], "different sizes")

    rgb = tmp_path / "rgb"
    write_folder(rgb, per_class=1, flat=True)
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(rgb / "colour.png")
    _bad(tmp_path, capsys, [*disguise, rgb, "-o", tmp_path / "o.npz"], "mixes RGB images")

    rgba = tmp_path / "rgba"
    rgba.mkdir()
    Image.fromarray(np.zeros((28, 28, 4), np.uint8)).save(rgba / "alpha.png")
    _bad(tmp_path, capsys, [*disguise, rgba, "-o", tmp_path / "o.npz"], "4 channels")

    colour = tmp_path / "colour"
    colour.mkdir()
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(colour / "a.png")
    _bad(tmp_path, capsys, [*disguise, colour, "-o", tmp_path / "o.npz"], "--channels 3")

    other = tmp_path / "other"
    write_folder(other, size=(32, 32), flat=True)
    _bad(tmp_path, capsys, [*disguise, other, "-o", tmp_path / "o.npz"], "key (fingerprint")

    _bad(tmp_path, capsys, [*disguise, tmp_path / "data", "-o", tmp_path / "data"], "already exists")
    _bad(tmp_path, capsys, [*disguise, tmp_path / "data", "-o", tmp_path / "o.jpg"], "JPEG")
    _bad(tmp_path, capsys, [*disguise, tmp_path / "missing", "-o", tmp_path / "o.npz"], "does not exist")

    corrupt = tmp_path / "corrupt.key"
    corrupt.write_text(key_path.read_text()[:-40])
    _bad(tmp_path, capsys, ["disguise", "--key", corrupt, tmp_path / "data", "-o", tmp_path / "o.npz"], "corrupt")

    four = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7", name="k2")
    capsys.readouterr()
    write_folder(tmp_path / "many", per_class=1)  # classes 0..2, fine; a key with 2 classes is not
    two = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7",
                 "--classes", "2", name="k3")
    capsys.readouterr()
    _bad(tmp_path, capsys, ["disguise", "--key", two, tmp_path / "many", "-o", tmp_path / "o.npz"], "--classes 3")
    assert four.exists()


def test_wrong_key_and_uninvertible_key_on_restore(tmp_path, capsys):
    write_folder(tmp_path / "data")
    perm_key = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7",
                      "--classes", "3", name="perm.key")
    rmt_key = keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", name="rmt.key")
    aes_key = keygen(tmp_path, "--mechanism", "aes_ecb", "--image-size", "28", "--block-size", "4",
                     "--unit", "2", "--classes", "3", name="aes.key")
    assert run("disguise", "--key", perm_key, tmp_path / "data", "-o", tmp_path / "cloud.npz", "-q") == 0
    assert run("disguise", "--key", aes_key, tmp_path / "data", "-o", tmp_path / "aes.npz", "-q") == 0
    capsys.readouterr()
    _bad(tmp_path, capsys, ["restore", "--key", rmt_key, tmp_path / "cloud.npz", "-o", tmp_path / "r.npz"],
         "was disguised with the key of fingerprint")
    _bad(tmp_path, capsys, ["restore", "--key", aes_key, tmp_path / "aes.npz", "-o", tmp_path / "r.npz"],
         "cannot restore")


def test_interrupted_disguise_leaves_no_output(tmp_path, monkeypatch):
    write_folder(tmp_path / "data")
    key_path = keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "--classes", "3")
    from disguisednets.mechanisms import RMT

    calls = {"n": 0}
    original = RMT.disguise

    def failing(self, images, rng=None):
        calls["n"] += 1
        if calls["n"] == 3:  # the probe, the first chunk, then the second chunk fails
            raise KeyboardInterrupt
        return original(self, images, rng)

    monkeypatch.setattr(RMT, "disguise", failing)
    assert run("disguise", "--key", key_path, tmp_path / "data", "-o", tmp_path / "cloud.npz", "--chunk", "5",
               "-q") == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "owner.key"]


def test_labels_maps_predictions_back_to_class_names(tmp_path, capsys):
    write_folder(tmp_path / "data")
    key_path = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7",
                      "--classes", "3")
    codes = make_mechanism(load_key(key_path)).disguise_labels(np.array([2, 0, 1, 1]))
    capsys.readouterr()
    assert run("labels", "--key", key_path, "--classes-from", tmp_path / "data", *codes) == 0
    assert capsys.readouterr().out.split() == ["emu", "cat", "dog", "dog"]
    np.save(tmp_path / "pred.npy", codes)
    assert run("labels", "--key", key_path, tmp_path / "pred.npy", "-o", tmp_path / "names.txt") == 0
    assert (tmp_path / "names.txt").read_text().split() == ["2", "0", "1", "1"]
    assert run("labels", "--key", key_path, "7") == 2 and "0..2" in capsys.readouterr().err


def test_inspect_shows_settings_and_fingerprint_not_secrets(tmp_path, capsys):
    key_path = keygen(tmp_path, "--mechanism", "aes_ecb", "--image-size", "32", "--block-size", "8", "--unit", "2",
                      "--noise", "salt_and_pepper")
    capsys.readouterr()
    assert run("inspect", key_path) == 0
    out = capsys.readouterr().out
    key = load_key(key_path)
    assert key.fingerprint in out and "aes_ecb" in out and "32×32" in out and "16 blocks" in out
    assert "rate=0.02" in out and "unit=2" in out and "600" in out
    for a in json.loads(key_path.read_text())["arrays"].values():
        assert a["data"][:24] not in out


@pytest.mark.slow  # trains or runs a subprocess
def test_console_script_runs_the_readme_example(tmp_path):
    """The installed `disguisednets` command: export → keygen → disguise → restore, as in the README."""
    exe = Path(sys.executable).with_name("disguisednets")
    assert exe.is_file(), "the console script is installed with the package (pip install -e .)"

    def sh(*argv):
        done = subprocess.run([str(exe), *map(str, argv)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    sh("export", "--dataset", "mnist", "--count", "300", "-o", "digits")
    out = sh("keygen", "--mechanism", "aes_ecb", "--image-size", "28", "--block-size", "4", "-o", "owner.key")
    assert load_key(tmp_path / "owner.key").fingerprint in out
    sh("disguise", "--key", "owner.key", "digits", "-o", "digits-disguised.npz")
    sh("restore", "--key", "owner.key", "digits-disguised.npz", "-o", "digits-restored", "--classes-from", "digits")
    assert read_folder(tmp_path / "digits-restored").keys() == read_folder(tmp_path / "digits").keys()
    for c, images in read_folder(tmp_path / "digits").items():
        np.testing.assert_array_equal(np.stack(read_folder(tmp_path / "digits-restored")[c]), np.stack(images))


def _same_tree(a: Path, b: Path) -> None:
    """What `diff -r a b` checks: the same relative paths, byte for byte."""
    import filecmp

    files = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(a) == files(b)
    match, mismatch, errors = filecmp.cmpfiles(a, b, files(a), shallow=False)
    assert not mismatch and not errors


def test_a_disguised_png_folder_restores_to_the_same_names_and_bytes(tmp_path):
    write_folder(tmp_path / "in", per_class=5)
    key = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7", "--classes", "3")
    assert run("disguise", "--key", key, tmp_path / "in", "-o", tmp_path / "dis", "-q") == 0
    assert run("restore", "--key", key, tmp_path / "dis", "-o", tmp_path / "back", "--classes-from", tmp_path / "in",
               "-q") == 0
    _same_tree(tmp_path / "in", tmp_path / "back")
    # The disguised folder keeps the file names, not the class folders (those are the disguised labels).
    assert sorted(p.name for p in (tmp_path / "dis").rglob("*.png")) == sorted(
        p.name for p in (tmp_path / "in").rglob("*.png"))
    # Through an .npz too, and numbered on request.
    assert run("disguise", "--key", key, tmp_path / "in", "-o", tmp_path / "dis.npz", "-q") == 0
    assert run("restore", "--key", key, tmp_path / "dis.npz", "-o", tmp_path / "back2", "--classes-from",
               tmp_path / "in", "-q") == 0
    _same_tree(tmp_path / "in", tmp_path / "back2")
    assert run("disguise", "--key", key, tmp_path / "in", "-o", tmp_path / "numbered", "--no-names", "-q") == 0
    assert sorted(p.name for p in (tmp_path / "numbered").rglob("*.png"))[0] == "000000.png"


def test_nested_sub_folders_and_truncated_files_are_refused_with_their_path(tmp_path, capsys):
    key = keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7", "--classes", "3")
    write_folder(tmp_path / "in", per_class=3)
    nested = tmp_path / "in" / "cat" / "sub" / "subsub"
    nested.mkdir(parents=True)
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(nested / "a.png")
    assert run("disguise", "--key", key, tmp_path / "in", "-o", tmp_path / "o.npz", "-q") == 2
    err = capsys.readouterr().err
    assert str(nested / "a.png") in err and "nested sub-folder" in err and not (tmp_path / "o.npz").exists()

    write_folder(tmp_path / "in2", per_class=70)  # 210 images, one of them truncated
    victim = sorted((tmp_path / "in2" / "dog").glob("*.png"))[10]
    victim.write_bytes(victim.read_bytes()[:-200])
    assert run("disguise", "--key", key, tmp_path / "in2", "-o", tmp_path / "o2.npz", "--chunk", "64", "-q") == 2
    err = capsys.readouterr().err
    assert str(victim) in err and "truncated" in err and not (tmp_path / "o2.npz").exists()
    assert not list(tmp_path.glob(".o2.npz.*"))  # no partial output left behind


def test_keygen_warns_that_noiseless_rmt_leaks_rows_of_its_matrices(tmp_path, capsys):
    keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", name="plain.key")
    err = capsys.readouterr().err
    assert "leaks rows of its secret matrices" in err and "row_leak" in err and "--noise uniform" in err
    keygen(tmp_path, "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "--noise", "uniform",
           name="noisy.key")
    keygen(tmp_path, "--mechanism", "permutation", "--image-size", "28", "--block-size", "7", name="perm.key")
    assert "leaks" not in capsys.readouterr().err


@pytest.mark.parametrize("mechanism, block, out", [("permutation", 4, "d"), ("aes_ecb", 4, "d"), ("etc", 4, "d"),
                                                   ("rmt", 4, "d.npz"), ("learnable", 4, "d.npz")])
def test_rgb_png_folders_round_trip_exactly(tmp_path, capsys, mechanism, block, out):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 16, 16, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        folder = tmp_path / "in" / CLASSES[i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"photo{i}.png")
    key = keygen(tmp_path, "--mechanism", mechanism, "--image-size", "16", "--channels", "3", "--block-size", str(block),
                 "--classes", "3", *(["--noise", "uniform"] if mechanism == "rmt" else []))
    assert run("disguise", "--key", key, tmp_path / "in", "-o", tmp_path / out, "-q") == 0
    if out == "d":  # a PNG folder of RGB images
        assert {Image.open(p).mode for p in (tmp_path / "d").rglob("*.png")} == {"RGB"}
    assert run("restore", "--key", key, tmp_path / out, "-o", tmp_path / "back", "--classes-from", tmp_path / "in",
               "-q") == 0
    if mechanism == "rmt":  # noise stays in: restore gives the noisy images, not these
        assert read_folder(tmp_path / "back").keys() == read_folder(tmp_path / "in").keys()
        return
    cmp = filecmp.dircmp(tmp_path / "in", tmp_path / "back")
    assert not cmp.left_only and not cmp.right_only
    for c in CLASSES:
        for name in os.listdir(tmp_path / "in" / c):
            np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "back" / c / name)),
                                          np.asarray(Image.open(tmp_path / "in" / c / name)))


def test_keygen_takes_a_schemes_own_settings_with_set(tmp_path):
    """--set NAME=VALUE passes a setting no option names (a plugin scheme's own) to the scheme, which checks it."""
    assert run("keygen", "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "--set", "kind=\"gaussian\"",
               "-o", tmp_path / "a.key") == 0
    assert load_key(tmp_path / "a.key").spec["kind"] == "gaussian"
    assert run("keygen", "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "--set", "rounds=4",
               "-o", tmp_path / "b.key") == 2            # the scheme refuses a setting it does not take
    assert run("keygen", "--mechanism", "rmt", "--image-size", "28", "--block-size", "7", "--set", "4",
               "-o", tmp_path / "c.key") == 2
    assert not (tmp_path / "b.key").exists() and not (tmp_path / "c.key").exists()
