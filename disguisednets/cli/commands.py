"""The data owner's commands (``disguisednets keygen | disguise | restore | inspect | labels | export``):
each takes the parsed arguments and returns the exit status; :mod:`disguisednets.cli` parses."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from pathlib import Path

import numpy as np

from disguisednets.imagefiles import InputError, class_names, open_output, open_source
from disguisednets.keys import COMMON_SPEC_FIELDS, DisguiseKey
from disguisednets.mechanisms import generate_key, load_key

__all__ = ["cmd_disguise", "cmd_export", "cmd_inspect", "cmd_keygen", "cmd_labels", "cmd_restore"]

# keygen option → the key setting it gives (--aes-form is the AES key's "form")
_SETTINGS = {"kind": "kind", "mode": "mode", "unit": "unit", "aes_form": "form", "filter": "filter", "iv": "iv",
             "neighbour_pixels": "m"}


def _image_size(text: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.lower().replace("×", "x").split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must be N or HxW (e.g. 28 or 28x28); got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"image size must be N or HxW with positive sides; got {text!r}")
    return parts[0], parts[1]


def _progress(total: int, what: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="img", disable=quiet or None, file=sys.stderr, dynamic_ncols=True)


def _load_key(path: str) -> DisguiseKey:
    key = load_key(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        print(f"warning: key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}",
              file=sys.stderr)
    return key


def _describe(shape) -> str:
    """(H, W) → 'H×W grayscale'; (H, W, 3) → 'H×W RGB'; (H, W, C) → 'H×W C-channel'."""
    kind = "grayscale" if len(shape) == 2 else "RGB" if shape[2] == 3 else f"{shape[2]}-channel"
    return f"{shape[0]}×{shape[1]} {kind}"


def _check_shape(source, key: DisguiseKey, what: str, expected=None) -> None:
    expected = tuple(expected or key.image_shape)
    if tuple(source.shape) != expected:
        s = source.shape
        channels = f" --channels {s[2]}" if len(s) == 3 else ""
        raise InputError(f"The {what} are {_describe(s)}, but the key (fingerprint {key.fingerprint}) is for "
                         f"{_describe(expected)} {what}. Use the key made for these images, or make one with: "
                         f"disguisednets keygen --image-size {s[0]}x{s[1]}{channels} …")


def _check_labels(labels, key: DisguiseKey) -> None:
    n = int(key.spec["n_classes"])
    if labels is not None and len(labels) and int(labels.max()) >= n:
        raise InputError(f"The input has {int(labels.max()) + 1} classes, but the key's label map has {n}. "
                         f"Make a key with --classes {int(labels.max()) + 1}.")


def _stream(source, out_path, fn, dtype, shape, labels, class_folders, chunk: int, what: str, quiet: bool,
            fingerprint: str | None = None, names: list[str] | None = None) -> float:
    """Run ``fn`` over ``source`` in chunks into an atomic output of images of ``shape``; return the images
    per second."""
    writer = open_output(out_path, source.n, tuple(shape), dtype, labels, class_folders, fingerprint, names)
    t0 = time.perf_counter()
    try:
        with _progress(source.n, what, quiet) as bar:
            for start, images in source.chunks(chunk):
                writer.write(start, fn(images))
                bar.update(len(images))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return source.n / max(time.perf_counter() - t0, 1e-9)


def cmd_keygen(args) -> int:
    settings = {}
    for option, name in _SETTINGS.items():
        value = getattr(args, option)
        if value is not None:
            settings[name] = value
    if args.epsilon is not None:  # dp_pixelization: 'inf' is ε = ∞ (pixelization alone), None in the key
        settings["epsilon"] = None if args.epsilon == float("inf") else args.epsilon
    for item in args.set:         # a scheme's own settings (a plugin's): NAME=VALUE, VALUE as JSON where it parses
        name, eq, value = item.partition("=")
        if not eq or not name.isidentifier():
            raise InputError(f"--set takes NAME=VALUE (e.g. --set rounds=4); got {item!r}.")
        if name in settings:
            raise InputError(f"--set {name}=… repeats a setting given already; give it once.")
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError:
            settings[name] = value
    noise = {"kind": args.noise}
    if args.noise == "uniform":
        noise["level"] = args.noise_level
    elif args.noise == "salt_and_pepper":
        noise["rate"] = args.noise_rate
    out = Path(args.output)
    if out.exists():
        raise InputError(f"{out} already exists; a key is never overwritten. Choose another path.")
    shape = tuple(args.image_size) + ((args.channels,) if args.channels > 1 else ())
    key = generate_key(args.mechanism, shape, args.block_size, n_classes=args.classes, noise=noise, **settings)
    key.save(out)
    if key.mechanism == "rmt" and key.spec["noise"]["kind"] == "none":
        print("warning: RMT without noise leaks rows of its secret matrices. A block row with a single non-zero "
              "pixel c is disguised as c times a row of R_i, in the clear (natural images have many: stroke "
              "edges), and the ciphertext-only row_leak attack reads them off the disguised data alone and "
              "inverts the disguise. Add noise: --noise uniform --noise-level 100.", file=sys.stderr)
    print(f"Wrote {out} (mode 600): {key.mechanism}, {_describe(key.image_shape)} images, "
          f"{key.block_size}×{key.block_size} blocks. "
          f"Fingerprint {key.fingerprint}. Keep the file secret and backed up: without it nothing disguised "
          "with it can be restored or matched.")
    return 0


def _refuse_one_time(mechanism) -> None:
    if getattr(mechanism, "mixes_labels", False):
        raise InputError("InstaHide encodes a whole private training set at once, with mixed labels and one-time "
                         "secrets; the command line disguises image by image with a kept key. Use the Python API: "
                         "InstaHide(key).encode(images, labels).")


def cmd_disguise(args) -> int:
    from disguisednets.mechanisms import make_mechanism

    key = _load_key(args.key)
    mechanism = make_mechanism(key)
    _refuse_one_time(mechanism)
    source = open_source(args.input)
    _check_shape(source, key, "images")
    if source.dtype != np.uint8:
        raise InputError(f"{args.input}: images must be uint8 (pixel values 0..255); got {source.dtype}. "
                         "Convert them first, e.g. np.clip(np.rint(x), 0, 255).astype(np.uint8).")
    _check_labels(source.labels, key)
    rng = np.random.default_rng()  # noise is fresh per image; the OS seeds it
    probe = mechanism.disguise(source.read(0, 1), rng=np.random.default_rng())
    labels = None if source.labels is None else mechanism.disguise_labels(source.labels)
    rate = _stream(source, args.output, lambda x: mechanism.disguise(x, rng=rng), probe.dtype, probe.shape[1:],
                   labels, None, args.chunk, "disguise", args.quiet, fingerprint=key.fingerprint,
                   names=None if args.no_names else source.names)
    said = ("labels remapped by the key" if mechanism.relabels else "labels kept") if labels is not None else "no labels"
    print(f"Disguised {source.description} → {args.output} ({probe.dtype}, {said}; key fingerprint "
          f"{key.fingerprint}); {rate:,.0f} images/s.")
    return 0


def cmd_restore(args) -> int:
    from disguisednets.mechanisms import make_mechanism

    key = _load_key(args.key)
    mechanism = make_mechanism(key)
    source = open_source(args.input)
    if source.fingerprint and source.fingerprint != key.fingerprint:
        raise InputError(f"{args.input} was disguised with the key of fingerprint {source.fingerprint}; this key is "
                         f"{key.fingerprint}. Use the key that disguised it.")
    _check_shape(source, key, "disguised images", mechanism.disguised_shape)
    try:
        mechanism.restore(source.read(0, 1))
    except NotImplementedError as exc:
        raise InputError(f"This key cannot restore images: {exc}") from None
    _check_labels(source.labels, key)
    labels = None if source.labels is None else mechanism.restore_labels(source.labels)
    folders = class_names(args.classes_from) if args.classes_from else None
    if folders is not None and labels is not None and not set(np.unique(labels).tolist()) <= set(folders):
        raise InputError(f"{args.classes_from} has {len(folders)} class folders, but the restored labels go up to "
                         f"{int(labels.max())}; give the class folder the data came from.")

    def restore(x):
        y = mechanism.restore(x)
        return y if y.dtype == np.uint8 else np.clip(np.rint(y), 0, 255).astype(np.uint8)

    rate = _stream(source, args.output, restore, np.dtype(np.uint8), key.image_shape, labels, folders, args.chunk,
                   "restore",
                   args.quiet, names=None if args.no_names else source.names)
    noisy = key.spec["noise"]["kind"] != "none"
    print(f"Restored {source.description} → {args.output}{' (the noise added before disguising stays in)' if noisy else ''}"
          f"; {rate:,.0f} images/s.")
    return 0


def cmd_inspect(args) -> int:
    from disguisednets.mechanisms import get_mechanism

    key = _load_key(args.key)
    remapped = "secretly remapped" if get_mechanism(key.mechanism).relabels else "kept: the scheme has no label map"
    spec = key.spec
    h, w = key.image_shape[:2]
    b = key.block_size
    lines = [f"key file     {args.key}",
             f"fingerprint  {key.fingerprint}",
             f"mechanism    {key.mechanism}",
             f"images       {_describe(key.image_shape)}, {b}×{b} blocks ({(h // b) * (w // b)} blocks)",
             f"classes      {spec['n_classes']} ({remapped})"]
    extra = {k: v for k, v in spec.items()
             if k not in COMMON_SPEC_FIELDS}
    if extra:
        lines.append("settings     " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())))
    noise = spec["noise"]
    lines.append("noise        " + ", ".join(f"{k}={v}" for k, v in noise.items()))
    if key.experiment:
        lines.append("WARNING      an experiment key drawn from a seed: anyone with the seed can rebuild it")
    mode = stat.S_IMODE(os.stat(args.key).st_mode)
    lines.append(f"file mode    {mode:o}" + ("" if not mode & 0o077 else f"  (too open: chmod 600 {args.key})"))
    print("\n".join(lines))
    return 0


def _read_predictions(items: list[str]) -> np.ndarray:
    if len(items) == 1 and Path(items[0]).is_file():
        path = Path(items[0])
        values = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, dtype=np.int64, ndmin=1)
    else:
        try:
            values = np.array([int(v) for v in items])
        except ValueError:
            raise InputError("Give predicted classes as integers, or one .npy / text file of them.") from None
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind not in "iu":
        raise InputError(f"Predicted classes must be integers; got {values.dtype}.")
    return values.astype(np.int64)


def cmd_labels(args) -> int:
    from disguisednets.mechanisms import make_mechanism

    key = _load_key(args.key)
    predictions = _read_predictions(args.predictions)
    n = int(key.spec["n_classes"])
    if len(predictions) and (predictions.min() < 0 or predictions.max() >= n):
        raise InputError(f"Predicted classes must lie in 0..{n - 1} for this key; got {predictions.min()}.."
                         f"{predictions.max()}.")
    original = make_mechanism(key).restore_labels(predictions)
    names = class_names(args.classes_from) if args.classes_from else {}
    missing = sorted(set(original.tolist()) - set(names)) if names else []
    if missing:
        raise InputError(f"{args.classes_from} has no class folder for class {missing[0]}; give the class folder "
                         "the data came from.")
    text = "\n".join(names.get(int(c), str(c)) for c in original)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


def cmd_export(args) -> int:
    from disguisednets.data import load_dataset

    ds = load_dataset(args.dataset)
    images, labels = (ds.test_images, ds.test_labels) if args.split == "test" else (ds.train_images, ds.train_labels)
    if not 0 < args.count <= len(images):
        raise InputError(f"--count must be between 1 and {len(images)}.")
    images, labels = images[:args.count], labels[:args.count]
    if not args.flat:  # numbered in class-folder order, the order in which a folder is read back
        order = np.argsort(labels, kind="stable")
        images, labels = images[order], labels[order]
    names = {c: str(c) for c in range(ds.n_classes)} if not args.flat else None
    source_labels = None if args.flat else labels
    from disguisednets.imagefiles import ImageSource

    source = ImageSource(len(images), images.shape[1:], images.dtype, source_labels, None, "",
                         lambda a, b: images[a:b])
    _stream(source, args.output, lambda x: x, np.dtype(np.uint8), source.shape, source_labels, names, args.chunk,
            "export", args.quiet)
    print(f"Wrote {len(images)} {args.dataset} {args.split} images as PNG files to {args.output}"
          f"{'' if args.flat else ' (one folder per class)'}.")
    return 0


def _audit_plan(args, source: str, public_share: float):
    """The :class:`~disguisednets.audit.AuditPlan` of an audit or benchmark command line."""
    import shlex

    from disguisednets.audit import AuditPlan

    if any(m < 1 for m in args.pairs):
        raise ValueError(f"--pairs are numbers of known pairs, each at least 1; got {args.pairs}.")
    return AuditPlan(Path(source), Path(args.output), Path(args.key) if args.key else None, list(args.settings),
                     tuple(sorted(set(args.pairs))), args.quick, public_share, args.tracking_uri, not args.quiet,
                     "disguisednets " + shlex.join(args.argv))


def cmd_audit(args) -> int:
    """What a disguise setting costs and hides on the owner's folder (:mod:`disguisednets.audit`)."""
    from disguisednets.audit import run_audit

    report = run_audit(_audit_plan(args, args.folder, args.public_share))
    print(report.read_text().split("\n## What was audited")[0])
    print(f"Written {report} with {report.parent / 'samples.png'} and {report.parent / 'attacks.png'}.")
    return 0


def cmd_benchmark(args) -> int:
    """One scheme at one setting through the attack battery (:mod:`disguisednets.benchmark`)."""
    from disguisednets.benchmark import run_benchmark

    verdict = run_benchmark(_audit_plan(args, args.dataset, 0.25))
    print((verdict.parent / "verdict.md").read_text())
    print(f"Written {verdict}, {verdict.parent / 'verdict.md'} and {verdict.parent / 'report.md'}.")
    return 0
