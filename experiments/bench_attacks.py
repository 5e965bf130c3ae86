"""Time the known-pair attacks with every training pair (60,000) against the 10,000 MNIST test images.

    .venv/bin/python experiments/bench_attacks.py        # writes results/bench_attacks.md
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_io import ROOT, write_result  # noqa: E402
from disguisednets.attacks import codebook_attack, regression_attack  # noqa: E402
from disguisednets.data import load_dataset, pad_to  # noqa: E402
from disguisednets.mechanisms import generate_key, make_mechanism  # noqa: E402
from disguisednets.mechanisms.blocks import gather_blocks  # noqa: E402


def main() -> None:
    ds = load_dataset("mnist")
    rows = []
    cases = [
        ("codebook, AES-ECB u=16 b=8 (32 px)", "aes_ecb", 32, 8, {"unit": 16}),
        ("codebook, AES-ECB u=2 b=8 (32 px)", "aes_ecb", 32, 8, {"unit": 2}),
        ("regression, RMT b=7 + uniform 100", "rmt", 28, 7, {"noise": {"kind": "uniform", "level": 100}}),
        ("regression, RMT flat b=7 + uniform 100", "rmt", 28, 7, {"mode": "flat", "noise": {"kind": "uniform", "level": 100}}),
    ]
    for label, mechanism, side, b, settings in cases:
        train = pad_to(ds.train_images, side)
        test = pad_to(ds.test_images, side)
        mech = make_mechanism(generate_key(mechanism, (side, side), b, seed=0, **settings))
        rng = np.random.default_rng(0)
        perm = mech.key.array("permutation")
        known_plain, known = gather_blocks(train, b, perm), gather_blocks(mech.disguise(train, rng=rng), b)
        target = gather_blocks(mech.disguise(test, rng=rng), b)
        t0 = time.perf_counter()
        if mechanism == "aes_ecb":
            codebook_attack(known_plain, known, target, unit=settings["unit"])
        else:
            regression_attack(known_plain, known, target, mode=settings.get("mode", "matrix"))
        rows.append((label, time.perf_counter() - t0))
        print(f"{label}: {rows[-1][1]:.2f} s", flush=True)
    lines = [f"numpy {np.__version__}, Python {platform.python_version()}. One run each, timing the attack alone "
             "(building the codebook or fitting, and reconstructing).", "",
             "| attack | seconds |", "|---|---|"] + [f"| {label} | {s:.2f} |" for label, s in rows]
    out = write_result(ROOT / "results" / "bench_attacks.md",
                       "Known-pair attacks with all 60,000 training pairs, 10,000 attacked test images", lines,
                       ".venv/bin/python experiments/bench_attacks.py")
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
