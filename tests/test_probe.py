"""The structure probe (mechanisms/probe.py): what a scheme is, measured with keys of the battery's own — and the
battery following it, so that no declaration (or its absence) takes an attack away."""

import logging

import numpy as np
import pytest

from disguisednets.attacks.registry import ATTACKS
from disguisednets.audit import attacks_for
from disguisednets.gridpoint import GridPoint
from disguisednets.mechanisms import get_mechanism
from disguisednets.mechanisms.probe import probe_scheme
from disguisednets.mechanisms.registry import MECHANISMS, check_mechanism
from disguisednets.tasks.attack import attack

from tests.conftest import compose_config
from tests.undeclared_schemes import BothSides, PixelBijection, UnitCodebook

# Every core scheme at its Table II or published setting: measured traits = declared ones, plus these (each is
# also what docs/plugins.md says: the permutation is the identity on pixels, hence linear and ECB on 1-pixel
# units; EtC's rotation, flip and negation are one-to-one on each pixel's value and affine).
SETTINGS = [
    ("permutation", (28, 28), 7, {}, None, {"linear", "equal_units"}),
    ("rmt", (28, 28), 7, {}, {"kind": "uniform", "level": 100}, set()),
    ("rmt", (28, 28), 7, {"kind": "gaussian", "mode": "flat"}, None, set()),
    ("aes_ecb", (32, 32), 8, {"unit": 2}, {"kind": "salt_and_pepper", "rate": 0.02}, set()),
    ("aes_ecb", (32, 32), 8, {"unit": 16}, None, set()),
    ("aes_cbc", (32, 32), 8, {"unit": 16}, None, set()),
    ("etc", (28, 28), 4, {}, None, {"linear", "pixelwise"}),
    ("etc", (32, 32, 3), 4, {}, None, {"linear", "pixelwise"}),
    ("learnable", (28, 28), 4, {}, None, set()),
    ("instahide", (28, 28), 1, {}, None, set()),
    ("dp_pixelization", (28, 28), 4, {}, None, set()),
    ("dp_pixelization", (28, 28), 7, {"epsilon": None}, None, set()),
]


def _probe(cls, shape, b, settings=None, noise=None):
    return probe_scheme(cls, cls.make_spec(image_shape=shape, block_size=b, noise=noise, **(settings or {})))


@pytest.mark.parametrize("name, shape, b, settings, noise, extra", SETTINGS,
                         ids=[f"{s[0]}-{'x'.join(map(str, s[1]))}-b{s[2]}-{s[3] or ''}{(s[4] or {}).get('kind', '')}"
                              for s in SETTINGS])
def test_every_core_scheme_is_what_it_declares_plus_the_listed_differences(name, shape, b, settings, noise, extra):
    cls = get_mechanism(name)
    probe = _probe(cls, shape, b, settings, noise)
    assert probe.measured == cls.traits | extra, probe.evidence
    assert probe.unconfirmed == set() and probe.undeclared == extra
    assert all(probe.evidence[t] for t in probe.evidence)


def test_the_probe_measures_geometry_not_names():
    rmt = _probe(get_mechanism("rmt"), (28, 28), 7, {"kind": "orthogonal"})
    assert (rmt.block_size, rmt.support, rmt.mode, rmt.kind) == (7, 7, "matrix", "orthogonal")
    flat = _probe(get_mechanism("rmt"), (28, 28), 7, {"kind": "gaussian", "mode": "flat"})
    assert (flat.support, flat.mode, flat.kind) == (49, "flat", "general")
    aes = _probe(get_mechanism("aes_ecb"), (32, 32), 8, {"unit": 2})
    assert (aes.block_size, aes.support, aes.unit) == (8, 2, 2)
    assert _probe(get_mechanism("aes_ecb"), (32, 32), 8, {"unit": 16}).unit == 16
    dp = _probe(get_mechanism("dp_pixelization"), (28, 28), 4)
    assert dp.fixed_arrangement == tuple(range(49)) and "rank 1 of 16" in dp.evidence["linear"]
    assert not dp.deterministic and "keyless" in dp.measured
    # RMT's uniform noise: linear-plus-noise is linear; equal rows stop giving equal outputs, and the probe says so
    noisy = _probe(get_mechanism("rmt"), (28, 28), 7, {}, {"kind": "uniform", "level": 100})
    assert "linear" in noisy.measured and "equal_units" not in noisy.measured
    assert "0% of units keep their output" in noisy.evidence["equal_units"] and "uniform noise" in noisy.noise
    assert _probe(get_mechanism("etc"), (32, 32, 3), 4).mixes_channels is True
    assert _probe(get_mechanism("permutation"), (28, 28, 3), 7).mixes_channels is False


@pytest.mark.parametrize("cls, b, traits", [
    (PixelBijection, 7, {"block_permutation", "pixelwise"}),
    (BothSides, 7, {"block_permutation", "linear"}),
    (UnitCodebook, 4, {"block_permutation", "equal_units"}),
])
def test_schemes_that_declare_nothing_are_measured_for_what_they_are(cls, b, traits):
    probe = _probe(cls, (28, 28), b)
    assert probe.declared == set() and probe.measured == traits
    if cls is BothSides:   # a linear map on whole blocks: dimension b², not b
        assert (probe.mode, probe.kind, probe.support) == ("flat", "orthogonal", 49)
    if cls is UnitCodebook:
        assert probe.unit == 2 and probe.evidence["equal_units"].startswith("equal 2-pixel units")
    assert {a for a, _ in attacks_for(cls.name, (), probe.traits)} > {"direct"}
    assert attacks_for(cls.name, ()) == [("direct", 0)]     # by declarations alone: the direct attack only


def test_a_random_scheme_is_measured_as_nothing():
    """A fresh random image for every input (no structure at all): nothing but the randomness."""
    class Noise(PixelBijection):
        name = "noise_scheme"

        def _disguise_chunk(self, images, rng):
            return rng.integers(0, 256, images.shape, dtype=np.uint8)

    probe = _probe(Noise, (28, 28), 7)
    assert probe.measured == {"keyless"} and not probe.deterministic
    assert "not block-local" in probe.evidence["block_permutation"]


def test_the_plugin_check_warns_in_one_line_of_a_mismatch(caplog):
    class Liar(PixelBijection):
        name = "liar"
        traits = frozenset({"pixelwise", "block_permutation", "linear"})

    with caplog.at_level(logging.WARNING, logger="disguisednets.plugins"):
        check_mechanism("liar", Liar)
    [line] = [r.getMessage() for r in caplog.records]
    assert "plugin 'liar': declares 'linear', which the probe does not confirm: not linear" in line
    assert "\n" not in line
    caplog.clear()

    class Modest(PixelBijection):
        name = "modest"

    with caplog.at_level(logging.WARNING, logger="disguisednets.plugins"):
        check_mechanism("modest", Modest)
    [line] = [r.getMessage() for r in caplog.records]
    assert "does not declare 'block_permutation', which the probe measures" in line and "'pixelwise'" in line


# ------------------------------------------------------------------ the battery on schemes that declare nothing
LEVEL_A = ["dataset.train_size=30000", "dataset.val_size=1000", "dataset.test_size=1000", "model.width=0.125",
           "trainer.max_epochs=1", "trainer.progress_bar=false"]


def _level_a(tmp_path, monkeypatch, cls, block, run, extra=()):
    """The level-(a) attacks the battery chooses for ``cls`` (declaring nothing), and the linkage (%) of those in
    ``run``, each run by the attack task on MNIST."""
    monkeypatch.setitem(MECHANISMS._parts, cls.name, cls)
    base = [*LEVEL_A, f"paths.output_dir={tmp_path}", "mechanism=permutation", f"mechanism.block_size={block}",
            f"mechanism.name={cls.name}", *extra]
    from disguisednets.mechanisms.registry import probe_setting
    chosen = {a for a, m in attacks_for(cls.name, (), probe_setting(GridPoint.build(compose_config(base)).key.spec).traits)}
    got = {}
    for name in sorted(chosen & set(run)):
        cfg = compose_config([*base, f"attack={name}"])
        got[name] = attack(GridPoint.build(cfg), cfg).metrics["linkage_rate"]
    print(cls.name, sorted(chosen), got)   # shown with pytest -rA
    return chosen, got


def _example_plugin_without_its_traits():
    """The example plugin's scheme (examples/block_xor) with its ``traits`` line removed."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples/block_xor/disguisednets_block_xor/scheme.py"
    spec = importlib.util.spec_from_file_location("block_xor_scheme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return type("BlockXORUndeclared", (module.BlockXOR,), {"name": "block_xor_undeclared", "traits": frozenset()})


@pytest.mark.slow  # level-(a) attacks on 30,000 disguised images, scored by the robust examiner
@pytest.mark.parametrize("make", [lambda: PixelBijection, _example_plugin_without_its_traits],
                         ids=["pixel_bijection", "block_xor_without_traits"])
def test_a_pixelwise_scheme_declaring_nothing_falls_at_level_a(tmp_path, monkeypatch, make):
    chosen, got = _level_a(tmp_path, monkeypatch, make(), 7, ["value_frequency"])
    assert got["value_frequency"] >= 95, got


@pytest.mark.slow
def test_a_linear_map_on_whole_blocks_declaring_nothing_meets_the_linear_attacks_at_b_squared(tmp_path, monkeypatch):
    chosen, got = _level_a(tmp_path, monkeypatch, BothSides, 7, ["higher_order"])
    assert {"higher_order", "covariance"} <= chosen and got["higher_order"] >= 25, got


@pytest.mark.slow
def test_a_unit_codebook_declaring_nothing_meets_the_frequency_attacks(tmp_path, monkeypatch):
    chosen, got = _level_a(tmp_path, monkeypatch, UnitCodebook, 4, ["frequency_rank"])
    aes = compose_config([*LEVEL_A, f"paths.output_dir={tmp_path}", "mechanism=aes_ecb", "mechanism.block_size=4",
                          "mechanism.unit=2", "attack=frequency_rank"])
    reference = attack(GridPoint.build(aes), aes).metrics["linkage_rate"]
    assert {"frequency_rank", "frequency"} <= chosen and got["frequency_rank"] >= reference, \
        (got, reference)
