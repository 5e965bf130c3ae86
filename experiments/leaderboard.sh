#!/usr/bin/env bash
# The leaderboard (results/leaderboard.md, .png): every built-in scheme at its Table II or published setting, and
# the example plugin (examples/block_xor), each through `disguisednets benchmark` on MNIST; each verdict is kept
# in results/verdicts/<name>.json and the report is made from those files (docs/benchmark.md).
#   QUICK=--quick bash experiments/leaderboard.sh    a first look (minutes per scheme); the rows say "quick"
# Run again after an interruption, it picks up every finished run (the audit's runs are kept per commit in $OUT).
# The full battery takes 3½–7 minutes per scheme on 2 cores, about an hour for all 11 (results/README.md).
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-outputs/benchmarks}
QUICK=${QUICK:-}
export DISGUISEDNETS_EXAMINERS=${DISGUISEDNETS_EXAMINERS:-$OUT/examiners}   # one robust examiner for every benchmark
mkdir -p results/verdicts "$OUT"
bench() {
  local name=$1; shift
  "$PY" -m disguisednets.cli benchmark mnist "$@" -o "$OUT/$name" $QUICK -q
  cp "$OUT/$name/verdict.json" "results/verdicts/$name.json"
}
# the example plugin, installed the way a user would (into a folder of its own, real entry-point metadata)
rm -rf "$OUT/plugin-src" "$OUT/plugin-site" && cp -r examples/block_xor "$OUT/plugin-src"   # afresh: pip --target keeps an old copy
"$PY" -m pip install -q --no-deps --no-build-isolation --no-index --target "$OUT/plugin-site" "$OUT/plugin-src"
PYTHONPATH="$OUT/plugin-site" bench block_xor-b7 mechanism=block_xor mechanism.block_size=7
# the built-in schemes
bench permutation-b7 mechanism=permutation mechanism.block_size=7
bench rmt-b7-orthogonal-noise100 mechanism=rmt mechanism.block_size=7 mechanism.kind=orthogonal noise=uniform noise.level=100
bench rmt-b7-gaussian-noise100 mechanism=rmt mechanism.block_size=7 mechanism.kind=gaussian noise=uniform noise.level=100
bench aes_ecb-b8-unit2-sp mechanism=aes_ecb mechanism.block_size=8 mechanism.unit=2 noise=salt_and_pepper noise.rate=0.02
bench aes_ecb-b8-unit16 mechanism=aes_ecb mechanism.block_size=8 mechanism.unit=16
bench aes_cbc-b8-unit16 mechanism=aes_cbc mechanism.block_size=8 mechanism.unit=16
bench etc-b4 mechanism=etc mechanism.block_size=4
bench learnable-b4 mechanism=learnable mechanism.block_size=4
bench instahide-k4 mechanism=instahide
bench dp_pixelization-b4 mechanism=dp_pixelization mechanism.block_size=4
"$PY" -m disguisednets.reporting leaderboard --made-by "make results-leaderboard${QUICK:+ QUICK=$QUICK}"
