"""Carlini et al.'s attack on InstaHide, for the inside-dataset scheme (docs/method.md §6 "Peers"), level (a).

After Carlini, Deng, Garg, Jha, Mahloujifar, Mahmoody, Song, Thakurta and Tramèr, "Is Private Learning
Possible with Instance Encoding?", IEEE S&P 2021, and its public code (``step_1_create_graph.py`` …
``step_5_reconstruct.py``). The cloud holds every encoding it was sent over all training epochs; a
private image is mixed into about k encodings per epoch. The steps, as theirs:

1. **Magnitudes.** |e| drops the random signs; with Σλ = 1 the mixture m = Σ_j λ_j x_j is read off it
   (:func:`disguisednets.attacks.instahide.mixture_picture`).
2. **Which encodings share an image.** Theirs: a network trained on encodings of public images to say
   whether two encodings share one. Ours, without training: the correlation of the mixtures' high-pass
   parts (each mixture minus its 3×3 local mean). Two different digits of one class share their shape;
   two encodings of one image share its exact strokes, which the high-pass keeps and the shape loses
   (MNIST, 300 images × 10 epochs: pairs that share an image 0.16, the others 0.02 ± 0.08; the plain
   correlation of the mixtures gives 0.15 against −0.01 ± 0.17, and cliques half as pure).
3. **Grouping.** Theirs: colour the graph into dense cliques, one per private image. Ours: from every
   encoding as a seed, grow a clique greedily — add the encoding whose *least* similarity to the members
   so far is largest — to the expected size k·epochs; all seeds at once.
4. **Solving for the image.** Theirs: gradient descent on the private images and the mixing coefficients
   so that the encodings' magnitudes are explained. Ours, the linear core of it: the members' mixtures
   average to λ̄·x + (1 − λ̄)·(the domain's mean image), λ̄ = 1/k, so x̂ = k·(their mean − (1 − 1/k)·mean
   image), clipped to 0..255.

The reconstruction of encoding r is the image of the clique seeded at r: one of the k images r mixes,
not necessarily its own — scored by linkage to any of them, and by how many distinct private images
some reconstruction links to.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.instahide import mixture_picture

__all__ = ["carlini_attack", "high_pass_similarity"]


def high_pass_similarity(mixtures: np.ndarray, size: int = 3) -> np.ndarray:
    """(R, H, W) mixtures → (R, R) float32 correlations of their high-pass parts (diagonal −inf)."""
    from scipy.ndimage import uniform_filter

    x = np.asarray(mixtures, np.float32)
    hp = (x - uniform_filter(x, size=(1, size, size))).reshape(len(x), -1)
    hp -= hp.mean(1, keepdims=True)
    hp /= np.linalg.norm(hp, axis=1, keepdims=True) + 1e-9
    sim = hp @ hp.T
    np.fill_diagonal(sim, -np.inf)
    return sim


def grow_cliques(sim: np.ndarray, seeds: np.ndarray, size: int) -> np.ndarray:
    """(S, size) members of the greedy clique grown from each seed: each step adds the encoding whose least
    similarity to the members so far is largest. All seeds advance together."""
    members = np.empty((len(seeds), size), np.int64)
    members[:, 0] = seeds
    score = sim[seeds].copy()
    rows = np.arange(len(seeds))
    score[rows, seeds] = -np.inf
    for j in range(1, size):
        pick = np.argmax(score, axis=1)
        members[:, j] = pick
        np.minimum(score, sim[pick], out=score)
        score[rows, pick] = -np.inf
    return members


def carlini_attack(target: np.ndarray, observed: np.ndarray, *, k: int, epochs: int, mean: float, std: float,
                   mean_image: np.ndarray) -> np.ndarray:
    """InstaHide encodings ``target`` (N, H, W) and the cloud's other encodings of the same private set
    ``observed`` (R, H, W; the other epochs) → (N, H, W) float32 reconstructions, one per target (docs
    above). ``epochs``: how many epochs of encodings target and observed hold together; ``mean_image``:
    the public images' mean."""
    target = np.asarray(target, np.float32)
    observed = np.asarray(observed, np.float32)
    n, h, w = target.shape
    pool = np.concatenate([target, observed])            # the targets first: seed i is target i
    mixtures = mixture_picture(pool, mean, std)
    sim = high_pass_similarity(mixtures)
    size = max(2, min(k * epochs, len(pool) - 1))
    members = grow_cliques(sim, np.arange(n), size)
    flat = mixtures.reshape(len(pool), -1).astype(np.float64)
    est = k * (flat[members].mean(axis=1) - (1 - 1 / k) * np.asarray(mean_image, np.float64).reshape(-1))
    return np.clip(est, 0, 255).astype(np.float32).reshape(n, h, w)
