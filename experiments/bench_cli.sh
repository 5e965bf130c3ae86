#!/usr/bin/env bash
# The data owner's command line on real files: 10,000 MNIST test digits exported as PNGs, then
# keygen → disguise → restore for AES-ECB (16-pixel units) and RMT, and the 60,000 training
# images as one .npy. Prints each command's own throughput line; results/cli.md records a run.
#   bash experiments/bench_cli.sh [workdir]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.venv/bin"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK" && cd "$WORK"
rm -rf digits ./*.key ./*.npz ./*.npy restored-*
TIMEFORMAT='  (%R s wall, including start-up)'
t() { time "$@"; }

t "$BIN/disguisednets" export --dataset mnist --split test --count 10000 -o digits -q
t "$BIN/disguisednets" keygen --mechanism aes_ecb --image-size 28 --block-size 4 -o aes.key
t "$BIN/disguisednets" keygen --mechanism rmt --image-size 28 --block-size 7 --noise uniform --noise-level 100 -o rmt.key
t "$BIN/disguisednets" disguise --key aes.key digits -o aes.npz -q
t "$BIN/disguisednets" disguise --key aes.key digits -o aes-png -q
t "$BIN/disguisednets" restore --key aes.key aes.npz -o restored-aes --classes-from digits -q
diff -r digits restored-aes && echo "  AES-ECB u=16: restored folder equals the original folder byte for byte"
t "$BIN/disguisednets" disguise --key rmt.key digits -o rmt.npz -q

"$BIN/python" -c "from disguisednets.data import load_dataset; import numpy as np; np.save('train.npy', load_dataset('mnist').train_images)"
t "$BIN/disguisednets" disguise --key aes.key train.npy -o train-aes.npy -q
t "$BIN/disguisednets" restore --key aes.key train-aes.npy -o train-restored.npy -q
"$BIN/python" -c "import numpy as np; assert np.array_equal(np.load('train.npy'), np.load('train-restored.npy')); print('  60,000 training images restored exactly')"
t "$BIN/disguisednets" disguise --key rmt.key train.npy -o train-rmt.npy -q
du -sh digits aes.npz aes-png rmt.npz train.npy train-aes.npy train-rmt.npy | sed 's/^/  /'
