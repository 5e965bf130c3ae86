"""Learned inverses of what the attacker can compute from both sides, level (a) — and with known pairs
(docs/method.md §4 "Learned attacks", beyond the paper).

Where the attacker can produce, from public images, the same kind of thing it sees on the cloud, it can
train a network from that thing back to the image:

* **DP pixelization** has no secret: the attacker releases public images exactly as the owner does (cells,
  Laplace noise of the public scale, fresh every epoch) and learns release → image.
* **InstaHide** keeps no secret beyond each encoding's one-time draws: the attacker encodes public images as
  the owner does (partners from the same set) and learns the encoding's sign-free mixture → the image with
  the largest coefficient in it (which of the k images is "its own" no statistic tells).
* **AES-ECB** leaks equality: per block position (and unit offset) the most frequent ciphertext unit is the
  background, so the cloud knows which u-pixel units of each image are background — a silhouette that public
  plaintext images give too (their own background units, after the public noise setting). **AES-CBC** with
  the per-position IV leaks the same for every *prefix* of a block (a unit's ciphertext is the background's
  only if every unit before it is background too). The silhouettes' blocks are put in place by π̂, found by
  pairing each disguised position's mean silhouette with the public images' (Hungarian), and the network
  learns silhouette → image.

The network (a small U-Net: two scales, skip connection, 16/32 channels — or an MLP) is trained on public
images alone, then applied to the targets. With m known pairs (level (b)), the pairs join the training set.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.attacks._units import as_units, from_units, most_frequent, position_keys
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks

__all__ = ["ARCHITECTURES", "train_inverse", "silhouettes", "silhouette_permutation"]

ARCHITECTURES = ("unet", "mlp")


def _network(architecture: str, h: int, w: int):
    import torch
    from torch import nn

    if architecture == "mlp":
        d = h * w
        return nn.Sequential(nn.Flatten(), nn.Linear(d, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                             nn.Linear(1024, d), nn.Unflatten(1, (1, h, w)))
    if architecture != "unet":
        raise ValueError(f"attack.architecture must be one of {ARCHITECTURES}; got {architecture!r}.")

    class SmallUNet(nn.Module):
        """Two scales: 16 channels at full size, 32 at half, a skip connection; pads odd sizes."""

        def __init__(self):
            super().__init__()
            act = nn.ReLU()
            self.enc = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), act, nn.Conv2d(16, 16, 3, padding=1), act)
            self.mid = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), act,
                                     nn.Conv2d(32, 32, 3, padding=1), act,
                                     nn.ConvTranspose2d(32, 16, 2, stride=2), act)
            self.dec = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), act, nn.Conv2d(16, 1, 3, padding=1))
            self.glob = nn.Sequential(nn.Flatten(), nn.Linear(h * w, 256), act, nn.Linear(256, h * w),
                                      nn.Unflatten(1, (1, h, w)))   # image-wide context a 28-px field lacks

        def forward(self, x):
            e = self.enc(x)
            m = self.mid(e)[..., :x.shape[-2], :x.shape[-1]]
            return self.dec(torch.cat([e, m], 1)) + self.glob(x)

    return SmallUNet()


def train_inverse(simulate: Callable[[np.ndarray, np.random.Generator], np.ndarray | tuple[np.ndarray, np.ndarray]],
                  public: np.ndarray,
                  targets: np.ndarray, *, pairs: tuple[np.ndarray, np.ndarray] | None = None, epochs: int = 30,
                  architecture: str = "mlp", batch: int = 128, lr: float = 2e-3, seed: int = 0,
                  budget_s: float | None = None, log: Callable[[str], None] | None = None
                  ) -> tuple[np.ndarray, dict[str, float]]:
    """Train a network from ``simulate(public, rng)`` (N, H, W) — drawn afresh every epoch — to the public images
    (N, H, W) (or, where ``simulate`` returns a pair (inputs, outputs), to its outputs), plus the fixed ``pairs`` (inputs, originals) where given; apply it to ``targets`` (inputs, (n, H, W)).
    Inputs and outputs on the 0..255 scale. Returns the reconstructions (float32) and {epochs, seconds}.
    ``budget_s``: stop after the epoch that passes this many seconds."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    h, w = public.shape[1:3]
    net = _network(architecture, h, w)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * -(-len(public) // batch) +
                                                epochs * (-(-len(pairs[0]) // batch) if pairs else 0) + 10)
    y_pub = torch.as_tensor(np.asarray(public, np.float32)[:, None] / 255.0)
    start, done = time.perf_counter(), 0
    for epoch in range(epochs):
        simulated = simulate(public, rng)
        x_sim, y = simulated if isinstance(simulated, tuple) else (simulated, None)
        x = torch.as_tensor(np.asarray(x_sim, np.float32)[:, None] / 255.0)
        if y is not None:
            y_pub = torch.as_tensor(np.asarray(y, np.float32)[:, None] / 255.0)
        xs, ys = (x, y_pub) if pairs is None else (
            torch.cat([x, torch.as_tensor(np.asarray(pairs[0], np.float32)[:, None] / 255.0)]),
            torch.cat([y_pub, torch.as_tensor(np.asarray(pairs[1], np.float32)[:, None] / 255.0)]))
        order = torch.randperm(len(xs))
        net.train()
        for i in range(0, len(xs), batch):
            idx = order[i:i + batch]
            loss = torch.nn.functional.mse_loss(net(xs[idx]), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        done = epoch + 1
        if log:
            log(f"learned inverse: epoch {done}/{epochs}, loss {float(loss):.4f} ({time.perf_counter() - start:.0f} s)")
        if budget_s is not None and time.perf_counter() - start > budget_s:
            break
    net.eval()
    with torch.no_grad():
        xt = torch.as_tensor(np.asarray(targets, np.float32)[:, None] / 255.0)
        out = torch.cat([net(xt[i:i + 1024]) for i in range(0, len(xt), 1024)])[:, 0].numpy() * 255.0
    return out.astype(np.float32), {"learned_epochs": float(done), "learned_train_s": time.perf_counter() - start}


def silhouettes(blocks: np.ndarray, unit: int, background: np.ndarray | None = None, *,
                chained: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Blocks (t, N, b, b) → (silhouettes (t, N, b, b) of 0 / 255 per unit, the background unit of each position
    and unit offset (t, U)). A unit is background where it equals its position and offset's most frequent unit
    (``background`` if given); ``chained`` (plaintext seen as CBC would chain it): a unit counts as foreground
    once any unit before it in the block does."""
    keys = position_keys(as_units(blocks, unit))                  # (t, N, U) one key per unit
    if background is None:
        t, _, m = keys.shape                                      # per position and unit offset
        background = most_frequent(keys.transpose(0, 2, 1).reshape(t * m, -1)).reshape(t, m)
    fore = keys != background[:, None, :]
    if chained:
        fore = np.logical_or.accumulate(fore, axis=-1)
    sil = np.broadcast_to(np.where(fore, np.float32(255), np.float32(0))[..., None], (*fore.shape, unit))
    return from_units(np.ascontiguousarray(sil), blocks.shape[-1]), background


def silhouette_permutation(disguised_sil: np.ndarray, public_sil: np.ndarray) -> np.ndarray:
    """π̂ from silhouettes (t, N, b, b) of the disguised positions and (t, P, b, b) of the public images' original
    positions: each disguised position paired with the original whose mean silhouette it matches (Hungarian)."""
    a = disguised_sil.mean(axis=1).reshape(len(disguised_sil), -1)
    b = public_sil.mean(axis=1).reshape(len(public_sil), -1)
    rows, cols = linear_sum_assignment(((a[:, None] - b[None]) ** 2).sum(-1))
    perm = np.empty(len(a), int)
    perm[rows] = cols
    return perm


def silhouette_images(observed: np.ndarray, target: np.ndarray, public: np.ndarray, block_size: int, unit: int,
                      *, chained: bool) -> tuple[np.ndarray, Callable, np.ndarray]:
    """The cloud's silhouettes of the targets, placed by π̂ (n, H, W); a function that makes the same from public
    plaintext images (already noised as the public setting says); and π̂."""
    shape = target.shape[1:3]
    observed_sil, background = silhouettes(gather_blocks(observed, block_size), unit)
    target_sil, _ = silhouettes(gather_blocks(target, block_size), unit, background)
    public_sil = silhouettes(gather_blocks(public, block_size), unit, chained=chained)[0]
    perm = silhouette_permutation(observed_sil, public_sil)

    def plain(images: np.ndarray) -> np.ndarray:
        sil = silhouettes(gather_blocks(images, block_size), unit, chained=chained)[0]
        return scatter_blocks(sil, shape)

    return scatter_blocks(target_sil, shape, perm), plain, perm
