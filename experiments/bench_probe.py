"""What the battery's probe measures in every core scheme and the example plugin, and how long it takes.

    .venv/bin/python experiments/bench_probe.py            # writes results/bench_probe.md

Each scheme at its Table II or published setting (the leaderboard's), probed with keys of the probe's own
(disguisednets/mechanisms/probe.py): the traits it declares, those the probe measures, the geometry measured,
and the probe's time (median of 3 runs, one process, after one warm-up).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_io import ROOT, write_result  # noqa: E402
from disguisednets.mechanisms import get_mechanism  # noqa: E402
from disguisednets.mechanisms.probe import probe_scheme  # noqa: E402
from disguisednets.tracking import machine  # noqa: E402

SP = {"kind": "salt_and_pepper", "rate": 0.02}
U100 = {"kind": "uniform", "level": 100}
# (label, scheme, image shape, block size, settings, noise)
CASES = [
    ("permutation b7", "permutation", (28, 28), 7, {}, None),
    ("RMT orthogonal b7 + U100", "rmt", (28, 28), 7, {}, U100),
    ("RMT Gaussian b7 + U100", "rmt", (28, 28), 7, {"kind": "gaussian"}, U100),
    ("RMT Gaussian flat b7 + U100", "rmt", (28, 28), 7, {"kind": "gaussian", "mode": "flat"}, U100),
    ("AES-ECB b8 u2 + s&p 2% (32 px)", "aes_ecb", (32, 32), 8, {"unit": 2}, SP),
    ("AES-ECB b8 u16 (32 px)", "aes_ecb", (32, 32), 8, {"unit": 16}, None),
    ("AES-CBC b8 u16 (32 px)", "aes_cbc", (32, 32), 8, {"unit": 16}, None),
    ("EtC b4", "etc", (28, 28), 4, {}, None),
    ("EtC b4, colour (32 px)", "etc", (32, 32, 3), 4, {}, None),
    ("learnable 4×4", "learnable", (28, 28), 4, {}, None),
    ("InstaHide k = 4", "instahide", (28, 28), 1, {}, None),
    ("DP pixelization 4×4 ε = 1", "dp_pixelization", (28, 28), 4, {}, None),
    ("DP pixelization 7×7 ε = ∞", "dp_pixelization", (28, 28), 7, {"epsilon": None}, None),
]


def _example_plugin():
    path = ROOT / "examples/block_xor/disguisednets_block_xor/scheme.py"
    spec = importlib.util.spec_from_file_location("block_xor_scheme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BlockXOR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "results" / "bench_probe.md"))
    args = parser.parse_args()
    plugin = _example_plugin()
    cases = [(label, get_mechanism(name), shape, b, settings, noise) for label, name, shape, b, settings, noise in CASES]
    cases += [("block_xor b7 (the example plugin)", plugin, (28, 28), 7, {}, None),
              ("block_xor b7, its traits line removed", type("BlockXORUndeclared", (plugin,), {"traits": frozenset()}),
               (28, 28), 7, {}, None)]
    rows = ["| scheme | declared | measured | measured beyond declared | declared, not confirmed | geometry | "
            "probe (s) |", "|---|---|---|---|---|---|---|"]
    for label, cls, shape, b, settings, noise in cases:
        spec = cls.make_spec(image_shape=shape, block_size=b, noise=noise, **settings)
        probe_scheme(cls, spec)                                       # warm-up
        seconds, probe = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            probe = probe_scheme(cls, spec)
            seconds.append(time.perf_counter() - t0)
        names = lambda traits: ", ".join(sorted(traits)) or "—"  # noqa: E731
        geometry = "; ".join(g for g in (
            f"block {probe.block_size}" if probe.block_size else "no blocks",
            f"support {probe.support} px" if probe.support else None,
            f"{probe.mode}, {probe.kind}" if probe.mode else None,
            f"unit {probe.unit}" if probe.unit else None,
            "fixed arrangement" if probe.fixed_arrangement is not None else None,
            "deterministic" if probe.deterministic else "random") if g)
        rows.append(f"| {label} | {names(probe.declared)} | {names(probe.measured)} | {names(probe.undeclared)} | "
                    f"{names(probe.unconfirmed)} | {geometry} | {np.median(seconds):.2f} |")
        print(rows[-1], flush=True)
    lines = ["", f"Machine: {machine()}. Each probe: keys of its own, 64 random images per comparison, the dependency "
             "map of one-pixel changes (two bases), 256 constant and 256 random images for the pixelwise table. "
             "*Support*: an output pixel depends on one aligned run of this many pixels of its block (1: one "
             "pixel; b: one row; b²: the whole block). Where the setting adds noise before the transform, the "
             "transform's traits are measured without it, and a trait the noise undoes (equal units under uniform "
             "noise) is not measured.", "", *rows]
    write_result(args.out, "What the probe measures in each scheme", lines, "python experiments/bench_probe.py")
    print(f"Written {args.out}")


if __name__ == "__main__":
    main()
