"""Pictures of disguises: the gallery of every mechanism on a few test images (paper Figs 3–5), and
an attack run's originals | disguised | reconstructed panel."""

from __future__ import annotations

import numpy as np

from disguisednets.data import pad_to
from disguisednets.mechanisms import generate_key, make_mechanism
from disguisednets.mechanisms.learnable import join_nibbles

__all__ = ["COLOUR_GALLERY", "GALLERY", "attack_gallery", "colour_gallery_figure", "gallery_figure", "sample_photo"]

# Mechanisms shown in the gallery (paper Figs 3–5): (label, mechanism, settings, noise, pad).
GALLERY = [
    ("block permutation, b=7", "permutation", {"block_size": 7}, None, None),
    ("RMT orthogonal, b=7", "rmt", {"block_size": 7, "kind": "orthogonal"}, None, None),
    ("RMT orthogonal, b=7, noise level 100", "rmt", {"block_size": 7, "kind": "orthogonal"},
     {"kind": "uniform", "level": 100}, None),
    ("RMT gaussian, b=14", "rmt", {"block_size": 14, "kind": "gaussian"}, None, None),
    ("AES-ECB, 1 block, unit 16", "aes_ecb", {"block_size": 32, "unit": 16}, None, 32),
    ("AES-ECB, 16 blocks, unit 16", "aes_ecb", {"block_size": 8, "unit": 16}, None, 32),
    ("AES-ECB, 16 blocks, unit 2", "aes_ecb", {"block_size": 8, "unit": 2}, None, 32),
    ("AES-ECB, 16 blocks, unit 2, s&p 2%", "aes_ecb", {"block_size": 8, "unit": 2},
     {"kind": "salt_and_pepper", "rate": 0.02}, 32),
    ("AES-CBC, 16 blocks, unit 16", "aes_cbc", {"block_size": 8, "unit": 16}, None, 32),
    ("peer: EtC, b=7", "etc", {"block_size": 7}, None, None),
    ("peer: EtC, b=4", "etc", {"block_size": 4}, None, None),
    ("peer: learnable enc., M=4", "learnable", {"block_size": 4}, None, None),
    ("peer: InstaHide, k=4 (mixed within the row)", "instahide", {"block_size": 1, "k": 4}, None, None),
    ("peer: DP pixelization, b=4, ε=∞", "dp_pixelization", {"block_size": 4, "epsilon": None}, None, None),
    ("peer: DP pixelization, b=4, ε=5, m=16", "dp_pixelization", {"block_size": 4, "epsilon": 5.0, "m": 16}, None, None),
    ("peer: DP pixelization, b=4, ε=1, m=16", "dp_pixelization", {"block_size": 4, "epsilon": 1.0, "m": 16}, None, None),
]

# The colour photo's rows (paper Figs 3 and 5 show CIFAR-10): (label, mechanism, settings, noise).
COLOUR_GALLERY = [
    ("block permutation, b=16", "permutation", {"block_size": 16}, None),
    ("RMT orthogonal, b=16", "rmt", {"block_size": 16}, None),
    ("RMT orthogonal, b=16, noise level 100", "rmt", {"block_size": 16}, {"kind": "uniform", "level": 100}),
    ("AES-ECB, b=16, unit 16", "aes_ecb", {"block_size": 16, "unit": 16}, None),
    ("AES-ECB, b=16, unit 2", "aes_ecb", {"block_size": 16, "unit": 2}, None),
    ("peer: EtC, b=16", "etc", {"block_size": 16}, None),
    ("peer: EtC, b=4", "etc", {"block_size": 4}, None),
    ("peer: learnable enc., M=4", "learnable", {"block_size": 4}, None),
    ("peer: DP pixelization, b=8, ε=∞", "dp_pixelization", {"block_size": 8, "epsilon": None}, None),
]


def _picture(disguised: np.ndarray) -> np.ndarray:
    """Disguised images to show: the learnable encryption's 2C nibble channels joined back into C byte
    channels in their shuffled places (16·upper + lower); anything else as it is."""
    x = np.asarray(disguised, np.float64)
    if x.ndim == 4 and x.shape[-1] in (2, 6):
        x = join_nibbles(x)
        return x[..., 0] if x.shape[-1] == 1 else x
    return x


def _scaled(d: np.ndarray) -> np.ndarray:
    """Min–max scaled to 0..1 (per channel for colour)."""
    d = np.asarray(d, np.float64)
    axes = (0, 1) if d.ndim == 3 else None
    lo, hi = d.min(axis=axes), d.max(axis=axes)
    return (d - lo) / np.where(hi > lo, hi - lo, 1.0)


def sample_photo(size: int = 96) -> np.ndarray:
    """Matplotlib's bundled colour photo (Grace Hopper, mpl-data/sample_data), centre-cropped square and
    resized to size×size: a (1, size, size, 3) uint8 array."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f, Image.open(f) as im:
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.convert("RGB").crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
        return np.asarray(im, np.uint8)[None]


def colour_gallery_figure(photo: np.ndarray, seed: int = 0):
    """A colour photo (1, H, W, 3) and its disguises under each mechanism of ``COLOUR_GALLERY`` (colour keys:
    one key for every channel; EtC also shuffles the channels of each block)."""
    from matplotlib.figure import Figure

    panels = [("original", photo[0].astype(np.float64))]
    rng = np.random.default_rng(seed)
    for label, name, settings, noise in COLOUR_GALLERY:
        key = generate_key(name, photo.shape[1:], n_classes=10, noise=noise, seed=seed, **settings)
        panels.append((label, _picture(make_mechanism(key).disguise(photo, rng=rng))[0]))
    cols = 3
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(2.3 * cols, 2.5 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (label, img) in zip(axes.ravel(), panels):
        ax.imshow(_scaled(img) if label != "original" else img / 255.0)
        ax.set_title(label, fontsize=8)
    fig.suptitle(f"A colour photo ({photo.shape[1]}×{photo.shape[2]} RGB, matplotlib's sample data) and its disguises\n"
                 f"(colour keys drawn from seed {seed}; each panel min–max scaled per channel)", fontsize=8)
    return fig


def gallery_figure(samples: dict[str, tuple[np.ndarray, np.ndarray]], per_dataset: int = 5, seed: int = 0):
    """Originals and their disguised images under each mechanism of ``GALLERY`` (paper Figs 3–5):
    ``per_dataset`` test images of distinct classes from each dataset in ``samples`` (name → images,
    labels), one row per mechanism; experiment keys drawn from ``seed``."""
    from matplotlib.figure import Figure

    originals = np.concatenate([images[[np.flatnonzero(labels == c)[0] for c in np.unique(labels)[:per_dataset]]]
                                for images, labels in samples.values()])
    rows = [("original", originals)]
    rng = np.random.default_rng(seed)
    for label, name, settings, noise, pad in GALLERY:
        x = pad_to(originals, pad) if pad else originals
        key = generate_key(name, x.shape[1:], n_classes=10, noise=noise, seed=seed, **settings)
        rows.append((label, _picture(make_mechanism(key).disguise(x, rng=rng))))
    n = len(originals)
    fig = Figure(figsize=(0.9 * n + 2.0, 0.9 * len(rows) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, x) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(_scaled(x[j]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"{' and '.join(samples)} test images and their disguises (one key per row, drawn from seed "
                 f"{seed}; each image shown min–max scaled)", fontsize=9)
    return fig


def attack_gallery(original: np.ndarray, disguised: np.ndarray, reconstructed: np.ndarray, labels: np.ndarray,
                   per_class: int = 2, title: str = ""):
    """A figure of original | disguised | reconstructed, ``per_class`` test images of each class.
    Disguised images are shown min–max scaled per image (they may be float, outside 0..255)."""
    from matplotlib.figure import Figure  # no pyplot: no global figure registry to fill up in a multirun

    labels = np.asarray(labels)
    classes = np.unique(labels)
    fig = Figure(figsize=(1.1 * 3 * per_class, 1.1 * len(classes) + 0.5), layout="constrained")
    axes = fig.subplots(len(classes), 3 * per_class, squeeze=False)
    for row, c in enumerate(classes):
        picks = np.flatnonzero(labels == c)[:per_class]
        for k in range(per_class):
            for col, name in enumerate(("original", "disguised", "reconstructed")):
                ax = axes[row, 3 * k + col]
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(name, fontsize=7)
                if k >= len(picks):
                    continue
                i = picks[k]
                if name == "disguised":
                    d = np.asarray(disguised[i], np.float64)
                    ax.imshow((d - d.min()) / (np.ptp(d) or 1.0), cmap="gray", vmin=0, vmax=1)
                else:
                    shown = np.asarray((original if name == "original" else reconstructed)[i], np.float64)
                    ax.imshow(np.clip(shown, 0, 255) / 255.0, cmap="gray", vmin=0, vmax=1)   # colour: RGB in 0..1
        axes[row, 0].set_ylabel(str(c), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig
