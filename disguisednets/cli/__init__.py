"""The data owner's command line: ``disguisednets keygen | disguise | restore | inspect | labels | export | audit |
benchmark``.

    disguisednets keygen --mechanism rmt --image-size 28 --block-size 7 -o owner.key
    disguisednets keygen --mechanism etc --image-size 32 --channels 3 --block-size 4 -o photos.key
    disguisednets disguise --key owner.key digits/ -o digits-disguised.npz
    disguisednets restore --key owner.key digits-disguised.npz -o digits-restored/
    disguisednets inspect owner.key
    disguisednets labels --key owner.key --classes-from digits/ 3 7 1
    disguisednets audit digits/ --key owner.key -o digits-audit/

Keys come from the OS CSPRNG and are written 0600; only their fingerprint is ever printed. Every
check runs before anything is written, and outputs appear atomically (temporary name, then rename).
"""

from __future__ import annotations

import argparse
import sys

from disguisednets.cli.commands import cmd_audit, cmd_benchmark, cmd_disguise, cmd_export, cmd_inspect, cmd_keygen, cmd_labels, cmd_restore
from disguisednets.cli.commands import _image_size
from disguisednets.data import DATASETS, DataError
from disguisednets.imagefiles import InputError
from disguisednets.keys import KeyFileError
from disguisednets.mechanisms import MECHANISMS
from disguisednets.mechanisms.aes import FILTERS, FORMS, IV_MODES, UNIT_SIZES
from disguisednets.mechanisms.noise import NOISE_KINDS
from disguisednets.mechanisms.rmt import KINDS, MODES

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="disguisednets", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("keygen", help="draw a new secret key (written 0600, never overwritten)")
    p.add_argument("--mechanism", required=True, choices=MECHANISMS.names())
    p.add_argument("--image-size", required=True, type=_image_size, help="N or HxW, e.g. 28 or 32x32")
    p.add_argument("--channels", type=int, default=1, choices=(1, 3),
                   help="1: grayscale, 3: RGB (the key applies to every channel; EtC also shuffles them) (1)")
    p.add_argument("--block-size", required=True, type=int, help="b: b×b blocks; must divide the image size")
    p.add_argument("--classes", type=int, default=10, help="number of classes for the secret label map (10)")
    p.add_argument("--kind", choices=KINDS, help="rmt: matrix kind (orthogonal)")
    p.add_argument("--mode", choices=MODES, help="rmt: X_i R_i or vec(X_i) R_i (matrix)")
    p.add_argument("--unit", type=int, choices=UNIT_SIZES, help="aes: pixels per AES block (16)")
    p.add_argument("--aes-form", choices=FORMS, help="aes_ecb: unit form (exact)")
    p.add_argument("--filter", choices=FILTERS, help="aes_ecb literal form: Pillow resize filter (box)")
    p.add_argument("--iv", choices=IV_MODES, help="aes_cbc: IV (per_position)")
    p.add_argument("--epsilon", type=float, help="dp_pixelization: the privacy budget ε, or inf for none (1)")
    p.add_argument("--neighbour-pixels", type=int,
                   help="dp_pixelization: m, the pixels in which neighbouring images may differ (16)")
    p.add_argument("--noise", choices=NOISE_KINDS, default="none")
    p.add_argument("--noise-level", type=float, default=100.0, help="uniform noise level, pixel scale (100)")
    p.add_argument("--noise-rate", type=float, default=0.02, help="salt-and-pepper rate p (0.02)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting of the scheme the options above do not name (a plugin's own), e.g. --set "
                   "rounds=4; VALUE is read as JSON where it parses (numbers, true, null), else as text")
    p.add_argument("-o", "--output", required=True, help="the key file to write")
    p.set_defaults(fn=cmd_keygen)

    for name, fn, helptext in (("disguise", cmd_disguise, "disguise images with a key"),
                               ("restore", cmd_restore, "restore disguised images where the key allows")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--key", required=True, help="the key file")
        p.add_argument("input", help="a folder (class subfolders or flat), an .npz or an .npy")
        p.add_argument("-o", "--output", required=True,
                       help="an .npz, an .npy, or a new folder for PNG files (uint8 output only)")
        p.add_argument("--chunk", type=int, default=8192, help="images per chunk (8192)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        p.add_argument("--no-names", action="store_true",
                       help="number the output files instead of keeping the input's file names (names travel "
                            "with disguised data: use this if yours tell the class)")
        if name == "restore":
            p.add_argument("--classes-from", help="the original class folder: name PNG class folders after it")
        p.set_defaults(fn=fn)

    p = sub.add_parser("inspect", help="what a key is for (never its secrets)")
    p.add_argument("key")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("labels", help="map a model's predicted (disguised) classes back to the owner's classes")
    p.add_argument("--key", required=True)
    p.add_argument("--classes-from", help="the original folder of class subfolders, to print class names")
    p.add_argument("-o", "--output", help="write the classes here, one per line (default: print)")
    p.add_argument("predictions", nargs="+", help="predicted classes, or one .npy / text file of them")
    p.set_defaults(fn=cmd_labels)

    p = sub.add_parser("export", help="write MNIST / Fashion-MNIST images as PNG files, to try the tool")
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--flat", action="store_true", help="one flat folder, no labels (like new data for inference)")
    p.add_argument("-o", "--output", required=True, help="a new folder")
    p.add_argument("--chunk", type=int, default=8192)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("audit", help="what a disguise costs and hides on your own images: <out>/report.md, figures",
                       description="Train on your images in the clear and disguised (the utility cost), run every "
                       "attack built for the scheme at level (a) and with known pairs, and model theft; write "
                       "<out>/report.md with a verdict per threat level, samples.png and attacks.png. The report "
                       "holds no key material. Example: disguisednets audit photos/ --key photos.key -o audit/")
    p.add_argument("folder", help="a folder of class subfolders (or of train/ and test/, each of class subfolders)")
    _battery_options(p, "the report's folder (created)", [1, 20], "a smaller network, fewer epochs and test images: "
                     "minutes, not tens of minutes; the report says so")
    p.add_argument("--public-share", type=float, default=0.25,
                   help="share of the training images that stand in for the attacker's public images (0.25)")
    p.set_defaults(fn=cmd_audit)

    p = sub.add_parser("benchmark", help="a scheme at one setting through the whole attack battery: "
                       "<out>/verdict.json (a versioned schema), verdict.md, report.md",
                       description="The utility cost and every attack that applies to the scheme, at level (a) and "
                       "with 1, 5 and 20 known pairs, on MNIST, Fashion-MNIST or a folder; verdict.json holds no key "
                       "material. Example: disguisednets benchmark mnist mechanism=rmt mechanism.kind=gaussian "
                       "noise=uniform -o bench-rmt/ (docs/benchmark.md)")
    p.add_argument("dataset", help="mnist, fashion, or a folder of class subfolders")
    _battery_options(p, "the verdict's folder (created)", [1, 5, 20], "a first look: a smaller network, fewer "
                     "epochs and test images, the learned attacks trained briefly; the verdict says so")
    p.set_defaults(fn=cmd_benchmark)
    return parser


def _battery_options(p: argparse.ArgumentParser, output: str, pairs: list[int], quick: str) -> None:
    """What an audit and a benchmark both take: the disguise (settings or a key), where to write, the rungs
    with known pairs, quick or not, the MLflow store, quiet."""
    p.add_argument("settings", nargs="*", help="instead of --key: the scheme and its settings as harness overrides, "
                   "e.g. mechanism=rmt mechanism.block_size=4 noise=uniform (an experiment key is drawn)")
    p.add_argument("--key", help="your key file (its settings and the key itself are used; never written out)")
    p.add_argument("-o", "--output", required=True, help=output)
    p.add_argument("--pairs", type=int, nargs="+", default=pairs,
                   help=f"known pairs m of level (b) ({' '.join(map(str, pairs))})")
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--tracking-uri", help="MLflow store (default: sqlite in <out>/runs/mlflow.db)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = build_parser().parse_args(argv)
    args.argv = argv          # the command as given (an audit report names it)
    try:
        if getattr(args, "chunk", 1) < 1:
            raise InputError("--chunk must be at least 1.")
        return args.fn(args)
    except (InputError, KeyFileError, FileExistsError, ValueError, DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
