"""Model inversion (issue: model confidentiality): class representatives synthesized from the
cloud's model M by input optimization, in the space M works in (disguised images), then mapped back
to plain images through the attacker's inverse estimate. If a person (the robust examiner) can
recognise them, the model gives away what the owner's classes look like."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from disguisednets.attacks.codebook import codebook_attack
from disguisednets.attacks.regression import regression_attack
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks

__all__ = ["class_representatives", "inverse_estimate"]


def class_representatives(model: torch.nn.Module, mean: np.ndarray, std: np.ndarray, n_classes: int,
                          steps: int = 300, lr: float = 0.05, l2: float = 0.05, seed: int = 0) -> np.ndarray:
    """(n_classes, H, W) inputs, on the model's input scale, that maximize each class's logit under
    an L2 penalty (standardized units), from the training mean; all classes optimized at once."""
    torch.manual_seed(seed)
    model = model.cpu().eval()
    mean_t = torch.as_tensor(np.asarray(mean, np.float32))
    z = torch.zeros((n_classes, 1, *mean_t.shape), requires_grad=True)
    opt = torch.optim.Adam([z], lr=lr)
    target = torch.arange(n_classes)
    for _ in range(steps):  # the batch holds one input per class; no loop over images
        opt.zero_grad()
        logits = model(z)
        loss = -logits[target, target].sum() + l2 * (z ** 2).sum()
        loss.backward()
        opt.step()
    return (z.detach()[:, 0] * float(np.asarray(std)) + mean_t).numpy()


def inverse_estimate(mechanism: str, block_size: int, permutation: np.ndarray, known_plain: np.ndarray,
                     known_disguised: np.ndarray, *, unit: int = 1, mode: str = "matrix"
                     ) -> Callable[[np.ndarray], np.ndarray]:
    """The attacker's map from disguised-space images back to plain ones, fitted on m known pairs
    (RMT: the regression attack's inverse fit; AES: the codebook, misses → the position's most
    frequent plaintext unit; permutation and none: π⁻¹)."""
    b, perm = block_size, permutation
    shape = known_plain.shape[1:]

    def back(images: np.ndarray) -> np.ndarray:
        target = gather_blocks(np.asarray(images, np.float32), b)
        if mechanism in ("none", "permutation"):
            blocks = target
        elif mechanism == "rmt":
            blocks = regression_attack(gather_blocks(known_plain, b, perm), gather_blocks(known_disguised, b), target,
                                       mode=mode, form="inverse")
        elif mechanism in ("aes_ecb", "aes_cbc"):
            disguised = gather_blocks(known_disguised, b)
            blocks = codebook_attack(gather_blocks(known_plain, b, perm), disguised, target.astype(disguised.dtype),
                                     unit=unit, miss_fill="mode")[0]
        else:
            raise ValueError(f"No inverse estimate for mechanism {mechanism!r}.")
        return np.clip(scatter_blocks(np.asarray(blocks, np.float32), shape, perm), 0, 255)
    return back
