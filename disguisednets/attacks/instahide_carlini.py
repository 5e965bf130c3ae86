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
   so far is largest — and stop when that least similarity falls below a threshold τ, at most k·epochs
   members; all seeds at once. τ is calibrated on the attacker's own encodings of public images (it knows
   the scheme, so it encodes them itself and knows which of them share an image): the 99.9th percentile
   of the similarity of pairs that share none. (A fixed size k·epochs lets wrong members in: MNIST, 300
   images × 10 epochs, linkage to a mixed image 89% against 99.7% calibrated; Fashion-MNIST 32% against 78%.)
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

__all__ = ["carlini_attack", "grow_cliques", "high_pass_similarity", "share_threshold"]


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


def grow_cliques(sim: np.ndarray, seeds: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(S, size) members of the greedy clique grown from each seed — each step adds the encoding whose least
    similarity to the members so far is largest — and (S, size) that least similarity at each step (the
    seed's own: +inf). All seeds advance together."""
    members = np.empty((len(seeds), size), np.int64)
    scores = np.empty((len(seeds), size), np.float32)
    members[:, 0], scores[:, 0] = seeds, np.inf
    score = sim[seeds].copy()
    rows = np.arange(len(seeds))
    score[rows, seeds] = -np.inf
    for j in range(1, size):
        pick = np.argmax(score, axis=1)
        members[:, j], scores[:, j] = pick, score[rows, pick]
        np.minimum(score, sim[pick], out=score)
        score[rows, pick] = -np.inf
    return members, scores


def share_threshold(sim: np.ndarray, partners: np.ndarray, percentile: float = 99.9) -> float:
    """τ from encodings whose mixed images are known (the attacker's own, of public images): the given
    percentile of the similarities of pairs of encodings that share no image. ``sim`` (R, R) as
    :func:`high_pass_similarity` gives it; ``partners`` (R, k) the image indices each encoding mixes."""
    partners = np.asarray(partners)
    onehot = np.zeros((len(partners), int(partners.max()) + 1), np.float32)
    onehot[np.arange(len(partners))[:, None], partners] = 1
    apart = (onehot @ onehot.T) == 0          # share no image (the diagonal shares its own)
    return float(np.percentile(sim[apart], percentile))


def carlini_attack(target: np.ndarray, observed: np.ndarray, *, k: int, epochs: int, mean: float, std: float,
                   mean_image: np.ndarray, calibration: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """InstaHide encodings ``target`` (N, H, W) and the cloud's other encodings of the same private set
    ``observed`` (R, H, W; the other epochs) → (N, H, W) float32 reconstructions, one per target (docs
    above). ``epochs``: how many epochs of encodings target and observed hold together; ``mean_image``:
    the public images' mean; ``calibration``: the attacker's own encodings of public images over as many
    epochs, and the (·, k) indices of the images each mixes — τ is read off them (None: no threshold,
    every clique k·epochs members)."""
    target = np.asarray(target, np.float32)
    observed = np.asarray(observed, np.float32)
    n, h, w = target.shape
    pool = np.concatenate([target, observed])            # the targets first: seed i is target i
    mixtures = mixture_picture(pool, mean, std)
    sim = high_pass_similarity(mixtures)
    size = max(2, min(k * epochs, len(pool) - 1))
    members, scores = grow_cliques(sim, np.arange(n), size)
    tau = -np.inf
    if calibration is not None:
        own, partners = calibration
        tau = share_threshold(high_pass_similarity(mixture_picture(own, mean, std)), partners)
    keep = np.cumprod(scores >= tau, axis=1).astype(np.float64)   # the members before the first one below τ
    flat = mixtures.reshape(len(pool), -1).astype(np.float64)
    mean_member = np.einsum("nm,nmp->np", keep, flat[members]) / keep.sum(1, keepdims=True)
    est = k * (mean_member - (1 - 1 / k) * np.asarray(mean_image, np.float64).reshape(-1))
    return np.clip(est, 0, 255).astype(np.float32).reshape(n, h, w)
