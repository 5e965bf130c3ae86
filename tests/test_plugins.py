"""Plugins (docs/plugins.md): a third-party scheme installed as a package — the example in examples/block_xor —
is found through its entry points by the registry, the command line and a Hydra run, with no change to this
repository; a broken plugin is refused with one line that names it and says what is wrong."""

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from disguisednets.attacks.registry import Attack, Reconstruction, check_attack
from disguisednets.mechanisms.registry import check_mechanism
from disguisednets.plugins import ATTACK_GROUP, MECHANISM_GROUP, config_packages, load_plugins
from disguisednets.registry import Registry

from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "block_xor"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The example plugin pip-installed (no dependencies, no index) into a folder of its own, as a user's
    `pip install` would: its own package and its dist-info with the entry points."""
    src = tmp_path_factory.mktemp("src") / "block_xor"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(src)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def _python(site, *argv, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, *map(str, argv)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow  # a pip install, the command line and one tiny training, in subprocesses
def test_an_installed_plugin_is_found_by_the_registry_the_cli_and_a_hydra_run(site, tmp_path):
    out = _python(site, "-c", "from disguisednets.mechanisms import MECHANISMS; "
                  "from disguisednets.attacks.registry import ATTACKS; from disguisednets.audit import attacks_for; "
                  "print(MECHANISMS.names()[-1], ATTACKS.names()[-1], MECHANISMS.refused, ATTACKS.refused); "
                  "print(*(f'{a}:{m}' for a, m in attacks_for('block_xor', (1, 20))))", cwd=tmp_path)
    assert out.split("\n")[0].split() == ["block_xor", "xor_pairs", "{}", "{}"]
    # its attacks: the generic ones its traits meet, and its own (built for it by name), at every rung
    assert out.split("\n")[1].split() == ["direct:0", "value_frequency:0", "xor_pairs:1", "xor_pairs:20"]
    # the data owner's command line: keygen → disguise → restore, exact
    cli = ("-m", "disguisednets.cli")
    _python(site, *cli, "export", "--dataset", "mnist", "--count", "100", "-o", "digits", cwd=tmp_path)
    _python(site, *cli, "keygen", "--mechanism", "block_xor", "--image-size", "28", "--block-size", "7",
            "-o", "owner.key", cwd=tmp_path)
    _python(site, *cli, "disguise", "--key", "owner.key", "digits", "-o", "disguised.npz", cwd=tmp_path)
    _python(site, *cli, "restore", "--key", "owner.key", "disguised.npz", "-o", "restored", "--classes-from",
            "digits", cwd=tmp_path)
    before = sorted(p.relative_to(tmp_path / "digits") for p in (tmp_path / "digits").rglob("*.png"))
    after = sorted(p.relative_to(tmp_path / "restored") for p in (tmp_path / "restored").rglob("*.png"))
    assert before == after and len(before) == 100
    assert all((tmp_path / "digits" / p).read_bytes() == (tmp_path / "restored" / p).read_bytes() for p in before)
    disguised = np.load(tmp_path / "disguised.npz")["images"]
    from PIL import Image

    originals = np.stack([np.asarray(Image.open(tmp_path / "digits" / p)) for p in before])
    assert disguised.dtype == np.uint8 and disguised.shape == originals.shape == (100, 28, 28)
    assert np.mean(disguised != 0) > 0.9 > 0.5 > np.mean(originals != 0)     # the XOR masks cover the background
    # the experiment entry point composes mechanism=block_xor from the plugin's own config package
    _python(site, ROOT / "experiments" / "run.py", "mechanism=block_xor", *TINY, f"paths.output_dir={tmp_path / 'o'}",
            cwd=tmp_path)
    db = next((tmp_path / "o").rglob("mlflow.db"), None) or next(tmp_path.rglob("mlflow.db"))
    import sqlite3

    tags = dict(sqlite3.connect(db).execute("select key, value from tags where key in ('mechanism', 'kind')"))
    assert tags == {"mechanism": "block_xor", "kind": "train"}
    # the plugin's own attack supplies the undo stage alone: π̂ is the battery's (value frequencies, the scheme
    # being declared pixelwise), and so are the clean-up and the scores
    _python(site, ROOT / "experiments" / "run.py", "mechanism=block_xor", "attack=xor_pairs", "attack.known_pairs=1",
            *TINY, "dataset.train_size=5000", f"paths.output_dir={tmp_path / 'a'}", cwd=tmp_path)
    db = sqlite3.connect(tmp_path / "a" / "mlflow.db")
    tags = dict(db.execute("select key, value from tags where key in ('attack', 'permutation', 'cleanup')"))
    metrics = dict(db.execute("select key, value from metrics where key in ('permutation_recovered', "
                              "'linkage_rate_raw')"))
    assert tags["attack"] == "xor_pairs" and tags["permutation"].startswith("estimated from position statistics")
    assert tags["cleanup"] != "none (raw map)"
    assert metrics["permutation_recovered"] == 100 and metrics["linkage_rate_raw"] == 100
    # and the reports read its runs like any other (one row per attack run)
    report = _python(site, "-m", "disguisednets.reporting", "attacks", "--experiment", "disguisednets",
                     "--output-dir", tmp_path / "a", cwd=tmp_path)
    assert "| mnist block_xor-b7 | xor_pairs | 1 |" in report


def test_the_plugins_config_package_goes_on_hydras_search_path():
    found = [EntryPoint("block_xor", "disguisednets_block_xor.conf", "disguisednets.configs")]
    assert config_packages(found) == ["pkg://disguisednets_block_xor.conf"]
    plugin = ROOT / "hydra_plugins" / "disguisednets_plugins" / "searchpath.py"
    assert "SearchPathPlugin" in plugin.read_text() and not (ROOT / "hydra_plugins" / "__init__.py").exists()


BROKEN = textwrap.dedent('''
    import numpy as np
    from disguisednets.mechanisms import BlockMechanism
    from disguisednets_block_xor.scheme import BlockXOR

    class ShapeChanger(BlockXOR):
        name = "shape_changer"
        def disguise(self, images, rng=None):
            return super().disguise(images, rng)[:, :-1]

    class DtypeChanger(BlockXOR):
        name = "dtype_changer"
        def disguise(self, images, rng=None):
            return super().disguise(images, rng).astype(np.float64)

    class NoRoundTrip(BlockXOR):
        name = "no_round_trip"
        def _inverse(self, blocks, positions):
            return blocks

    class WrongKeyShape(BlockXOR):
        name = "wrong_key_shape"
        @classmethod
        def key_arrays(cls, spec):
            return super().key_arrays(spec) | {"mask": ((1, 2, 3), "u")}

    class Misnamed(BlockXOR):
        name = "something_else"

    not_a_class = 42
''')


def test_a_broken_plugin_is_refused_with_one_line_that_names_it_and_what_is_wrong(tmp_path, monkeypatch, caplog):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    (tmp_path / "broken_plugins.py").write_text(BROKEN)
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('no such device')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = lambda name, value: EntryPoint(name, value, MECHANISM_GROUP)  # noqa: E731
    found = [ep("block_xor", "disguisednets_block_xor.scheme:BlockXOR"),
             ep("shape_changer", "broken_plugins:ShapeChanger"), ep("dtype_changer", "broken_plugins:DtypeChanger"),
             ep("no_round_trip", "broken_plugins:NoRoundTrip"), ep("wrong_key_shape", "broken_plugins:WrongKeyShape"),
             ep("misnamed", "broken_plugins:Misnamed"), ep("not_a_class", "broken_plugins:not_a_class"),
             ep("crashes", "raises_on_import:Scheme"), ep("missing", "no_such_module:Scheme"),
             ep("rmt", "disguisednets_block_xor.scheme:BlockXOR")]
    registry = Registry("mechanism", [("rmt", object())])
    with caplog.at_level(logging.WARNING, logger="disguisednets.plugins"):
        added = load_plugins(registry, MECHANISM_GROUP, check_mechanism, found)
    assert added == ["block_xor"] and registry.names() == ("rmt", "block_xor")
    why = {"shape_changer": "changes the shape", "dtype_changer": "returns dtype float64",
           "no_round_trip": "does not round-trip: restore(disguise(x)) is not x",
           "wrong_key_shape": "does not round-trip through a key file", "misnamed": "'something_else'",
           "not_a_class": "not a subclass of disguisednets.mechanisms.BlockMechanism",
           "crashes": "does not import (RuntimeError: no such device)",
           "missing": "does not import (ModuleNotFoundError", "rmt": "is registered already"}
    assert set(registry.refused) == set(why)
    for name, reason in why.items():
        line = registry.refused[name]
        assert "\n" not in line and line.startswith(f"plugin {name!r} (") and reason in line, line
        if name == "rmt":
            continue      # the core scheme of that name stays
        with pytest.raises(ValueError) as err:
            registry[name]
        assert str(err.value) == line
    assert registry["rmt"] is not None and "rmt" not in registry.names()[1:]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == len(why) - 1 and all("\n" not in w for w in warned)   # the duplicate name: no import tried


def test_an_attack_plugin_is_checked_before_it_is_registered(monkeypatch, tmp_path):
    run = lambda knowledge, options: Reconstruction(knowledge.target, {})  # noqa: E731
    module = tmp_path / "attack_plugins.py"
    module.write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    import attack_plugins

    attack_plugins.GOOD = Attack("echo", "a", "the disguised images as they are", run)
    attack_plugins.BAD_LEVEL = Attack("bad_level", "c", "?", run)
    found = [EntryPoint(n, f"attack_plugins:{v}", ATTACK_GROUP) for n, v in
             (("echo", "GOOD"), ("bad_level", "BAD_LEVEL"), ("renamed", "GOOD"))]
    registry = Registry("attack")
    assert load_plugins(registry, ATTACK_GROUP, check_attack, found) == ["echo"]
    assert "threat level is 'c'" in registry.refused["bad_level"]
    assert "named 'echo', its entry point 'renamed'" in registry.refused["renamed"]


def test_the_attacks_a_scheme_gets_follow_from_what_it_declares(monkeypatch):
    """A scheme meets every attack whose required traits it declares (and the attacks built for it by name):
    the example plugin, declared pixelwise with a block permutation, gets the value-frequency attack and the
    direct one — not RMT's linear attacks or AES's unit attacks; declared linear too, it gets those as well."""
    from disguisednets.attacks.registry import ATTACKS
    from disguisednets.audit import attacks_for
    from disguisednets.mechanisms.registry import MECHANISMS

    monkeypatch.syspath_prepend(str(EXAMPLE))
    from disguisednets_block_xor.scheme import BlockXOR

    monkeypatch.setitem(MECHANISMS._parts, "block_xor", BlockXOR)
    assert attacks_for("block_xor", (20,)) == [("direct", 0), ("value_frequency", 0)]
    monkeypatch.setattr(BlockXOR, "traits", BlockXOR.traits | {"linear"})
    assert {"regression", "covariance", "higher_order", "row_leak"} <= {a for a, _ in attacks_for("block_xor", (20,))}
    # the core schemes: each attack's requirement met exactly where it was built to apply
    got = {m: {a for a, _ in attacks_for(m, (20,))} for m in ("rmt", "aes_ecb", "aes_cbc", "etc", "permutation")}
    assert got["rmt"] == {"direct", "regression", "covariance", "higher_order", "row_leak"}
    assert {"codebook", "frequency", "frequency_rank", "learned"} <= got["aes_ecb"] and "covariance" not in got["aes_ecb"]
    assert got["aes_cbc"] == {"direct", "learned"}
    assert {"jigsaw", "etc_statistics", "known_pair"} <= got["etc"] and "value_frequency" not in got["etc"]
    assert {"jigsaw", "value_frequency", "known_pair"} <= got["permutation"] and "covariance" not in got["permutation"]
    assert all(ATTACKS[a].requires <= MECHANISMS["permutation"].traits for a in got["permutation"]
               if not ATTACKS[a].targets)


def test_a_scheme_declaring_a_trait_no_attack_knows_is_refused(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from disguisednets_block_xor.scheme import BlockXOR

    class Vague(BlockXOR):
        name = "vague"
        traits = frozenset({"pixelwise", "mysterious"})

    with pytest.raises(ValueError, match=r"declares traits \['mysterious'\] that no attack knows"):
        check_mechanism("vague", Vague)


def test_the_example_plugins_attack_reads_every_mask_off_one_pair(monkeypatch):
    """Its undo stage, handed π: one known pair gives each position's mask, and every image back exactly."""
    from disguisednets.attacks.registry import Knowledge, attacker_view
    from disguisednets.keys import DisguiseKey, KeyRandom

    monkeypatch.syspath_prepend(str(EXAMPLE))
    from disguisednets_block_xor.attack import XOR_PAIRS
    from disguisednets_block_xor.scheme import BlockXOR

    spec = BlockXOR.make_spec(image_shape=(28, 28), block_size=7)
    key = DisguiseKey(spec, BlockXOR.draw_key_arrays(spec, KeyRandom(1)), experiment=True)
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    disguised = BlockXOR(key).disguise(images)
    view = attacker_view(key, None, True, (28, 28))
    k = Knowledge(view, disguised[1:], known_plain=images[:1], known_disguised=disguised[:1])
    recon = XOR_PAIRS.reconstruct(k, {}).images
    assert recon.dtype == np.float32 and np.array_equal(recon, images[1:])
    assert XOR_PAIRS.places_blocks and XOR_PAIRS.arrange is None and XOR_PAIRS.clean_up is None   # the undo alone
    check_attack("xor_pairs", XOR_PAIRS)


def test_the_value_frequency_attack_breaks_the_example_plugin_from_disguised_data_alone(monkeypatch):
    """Level (a): 20,000 disguised MNIST images and 13,000 public ones; π and every position's value map found
    from value frequencies alone (the XOR masks never read) — and 8-bit outputs required."""
    from disguisednets.attacks.metrics import linkage_rate
    from disguisednets.attacks.value_frequency import value_frequency_attack
    from disguisednets.data import load_dataset
    from disguisednets.mechanisms.base import BlockMechanism
    from disguisednets.keys import DisguiseKey, KeyRandom

    monkeypatch.syspath_prepend(str(EXAMPLE))
    from disguisednets_block_xor.scheme import BlockXOR

    mnist = load_dataset("mnist")
    spec = BlockXOR.make_spec(image_shape=(28, 28), block_size=7)
    key = DisguiseKey(spec, BlockXOR.draw_key_arrays(spec, KeyRandom(0)), experiment=True)
    scheme = BlockXOR(key)
    test = mnist.test_images[:1000]
    recon, source = value_frequency_attack(scheme.disguise(mnist.train_images[:20000]),
                                           mnist.train_images[45000:58000], scheme.disguise(test), 7)
    assert recon.shape == test.shape and recon.dtype == np.float32 and issubclass(BlockXOR, BlockMechanism)
    assert np.mean(source == key.array("permutation")) == 1.0
    assert linkage_rate(recon, test.astype(np.float32)) > 95 and np.mean(recon == test) > 0.85
    with pytest.raises(ValueError, match="8-bit values"):
        value_frequency_attack(mnist.train_images[:100] + 0.5, mnist.train_images[:100], test[:10], 7)
