"""Pictures of disguises: the gallery of every mechanism on a few test images (paper Figs 3–5), and
an attack run's originals | disguised | reconstructed panel."""

from __future__ import annotations

import numpy as np

from disguisednets.data import pad_to
from disguisednets.mechanisms import generate_key, make_mechanism

__all__ = ["GALLERY", "attack_gallery", "gallery_figure"]

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
]


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
        rows.append((label, make_mechanism(key).disguise(x, rng=rng)))
    n = len(originals)
    fig = Figure(figsize=(0.9 * n + 2.0, 0.9 * len(rows) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, x) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            d = np.asarray(x[j], np.float64)
            ax.imshow((d - d.min()) / (np.ptp(d) or 1.0), cmap="gray", vmin=0, vmax=1)
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
                    ax.imshow((original if name == "original" else reconstructed)[i], cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_ylabel(str(c), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig
