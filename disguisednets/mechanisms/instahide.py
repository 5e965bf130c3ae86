"""InstaHide, inside-dataset version (docs/method.md §6 "Peers").

After Huang, Song, Li and Arora, "InstaHide: instance-hiding schemes for private distributed
learning", ICML 2020, and its reference code (``train_inside.py``). Pixels are normalized with the
domain's mean and standard deviation, x̃ = (x − mean)/std, as the reference code does (on MNIST a
[−1, 1] scale would make the sign flip erase black and white alike: |−1| = |1|). Each
private training image x_i is encoded as

    e_i = σ_i ⊙ (λ_i1 x_i + λ_i2 x_{p2(i)} + … + λ_ik x_{pk(i)}),

with k − 1 partners drawn from the same private set (one random permutation p_j per term), coefficients
λ_i = |g| / Σ|g| for g ~ N(0, I_k), redrawn until no coefficient exceeds the cap c1 (0.65 in the
paper), and σ_i a random ±1 mask per pixel (and channel). Its label is the mix Σ_j λ_ij onehot(y_{pj(i)}).
Test images are used in the clear, normalized alike, as in the reference code.

InstaHide's secrets are one-time: the partners, coefficients and masks of every encoding are drawn
fresh (from ``rng``) and never kept, so there is no ``restore``; the key holds the settings only (and an
identity label map: the scheme publishes none). The reference code draws new encodings every epoch, and
so does training here with ``mechanism.fresh_encodings`` (the default; the cloud then sees each private
image in about k encodings per epoch); the network takes the normalized encodings as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disguisednets.mechanisms.base import SettingsOnlyKey

__all__ = ["InstaHide", "mixing_coefficients"]


def mixing_coefficients(n: int, k: int, cap: float, rng: np.random.Generator, max_rounds: int = 10_000) -> np.ndarray:
    """(n, k) coefficients |g|/Σ|g|, g ~ N(0, I_k), each row redrawn while its largest exceeds ``cap``."""
    lam = np.abs(rng.standard_normal((n, k)))
    lam /= lam.sum(1, keepdims=True)
    for _ in range(max_rounds):  # rounds of redraws, all offending rows at once
        bad = np.flatnonzero(lam.max(1) > cap) if k > 1 else np.zeros(0, int)
        if bad.size == 0:
            return lam
        g = np.abs(rng.standard_normal((bad.size, k)))
        lam[bad] = g / g.sum(1, keepdims=True)
    raise RuntimeError(f"Could not draw coefficients under the cap {cap} in {max_rounds} rounds.")


class InstaHide(SettingsOnlyKey):
    """Inside-dataset InstaHide: k-image mixup of the private set, then a random sign per pixel.

    Example
    -------
    >>> key = generate_key("instahide", (28, 28), block_size=1)
    >>> encoded, soft_labels = InstaHide(key).encode(images, labels, rng)
    """

    name = "instahide"
    traits = frozenset({"keyless", "mixes_images"})
    mixes_labels = True   # the grid point encodes the training split with its labels (``encode``)
    normalizes = True     # its images come normalized: the network takes them as they are, as the reference's does

    @classmethod
    def _settings(cls, spec, k: int = 4, cap: float = 0.65, mean: float = 127.5, std: float = 127.5) -> dict[str, Any]:
        if spec["block_size"] != 1:
            raise ValueError(f"InstaHide works per pixel: block_size must be 1; got {spec['block_size']}.")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"The 'k' parameter of InstaHide must be a positive integer. Got {k!r} instead.")
        if not 1.0 / k <= float(cap) <= 1.0:
            raise ValueError(f"The 'cap' parameter of InstaHide must lie in [1/k, 1] = [{1 / k:.3g}, 1]; got {cap!r}.")
        if not float(std) > 0:
            raise ValueError(f"The 'std' parameter of InstaHide must be positive; got {std!r}.")
        return {"k": int(k), "cap": float(cap), "mean": float(mean), "std": float(std)}

    def normalize(self, images: np.ndarray) -> np.ndarray:
        """0..255 pixels → (x − mean)/std, float32."""
        s = self.key.spec
        return (np.asarray(images, np.float32) - np.float32(s["mean"])) / np.float32(s["std"])

    def encode(self, images: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        """Encode a private set: (encodings float32, soft labels (N, classes) float32 or None, and the
        one-time secrets — ``partners`` (N, k) with column 0 the image itself, ``coefficients`` (N, k) —
        which the data owner discards; the harness keeps them for scoring only)."""
        x = self.normalize(self._check_images(images))
        rng = rng if rng is not None else np.random.default_rng()
        n, k = len(x), self.key.spec["k"]
        lam = mixing_coefficients(n, k, self.key.spec["cap"], rng).astype(np.float32)
        partners = np.stack([np.arange(n)] + [rng.permutation(n) for _ in range(k - 1)], axis=1)
        shape = (n,) + (1,) * (x.ndim - 1)
        mixed = lam[:, 0].reshape(shape) * x
        for j in range(1, k):  # k terms, each over all images at once
            mixed += lam[:, j].reshape(shape) * x[partners[:, j]]
        mixed *= rng.integers(0, 2, size=mixed.shape, dtype=np.int8) * np.int8(2) - np.int8(1)
        soft = None
        if labels is not None:
            y = self.disguise_labels(labels)
            soft = np.zeros((n, self.key.spec["n_classes"]), np.float32)
            for j in range(k):
                np.add.at(soft, (np.arange(n), y[partners[:, j]]), lam[:, j])
        return mixed, soft, {"partners": partners, "coefficients": lam}

    def disguise(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """The encodings of ``images`` taken as the private set (what the cloud holds)."""
        return self.encode(images, None, rng)[0]

    def inference_form(self, images: np.ndarray) -> np.ndarray:
        """Test images as InstaHide's model sees them: in the clear, normalized."""
        return self.normalize(self._check_images(images))

    def restore(self, disguised: np.ndarray) -> np.ndarray:
        raise NotImplementedError("InstaHide keeps none of its one-time secrets (partners, coefficients, signs): "
                                  "an encoding cannot be restored.")
