"""What an attacker knows and what an attack returns (docs/method.md §4): the attacker's view of a key,
the knowledge an attack is handed, its reconstruction, and disguised images as a person would see them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from disguisednets.mechanisms.learnable import join_nibbles
from disguisednets.mechanisms.registry import probe_setting, setting_traits, traits_of

__all__ = ["AttackerView", "Knowledge", "Reconstruction", "as_picture", "attacker_view"]


@dataclass(frozen=True)
class AttackerView:
    """What the attacker knows of the disguise: geometry, unit, mode, the noise setting (public), and π —
    the true one if handed it (an upper bound), else its own estimate once the attack task has made one."""

    image_shape: tuple[int, int]
    block_size: int
    unit: int
    mode: str
    permutation: np.ndarray      # what the attacker uses: the true π, or its estimate (identity until made)
    true_permutation: np.ndarray  # for scoring only
    kind: str = "orthogonal"      # RMT's matrix kind (a public setting)
    true_matrices: np.ndarray | None = None  # RMT's secret matrices, for scoring only
    mechanism: str = "none"       # the scheme (public: Kerckhoffs)
    key: object = None            # the secret key, for scoring only
    noise: dict | None = None     # the noise setting (public: Kerckhoffs), e.g. {'kind': 'uniform', 'level': 100}
    knows_permutation: bool = True
    traits: frozenset = frozenset()   # what the scheme is at this setting: declared or measured (mechanisms.probe)
    fixed_permutation: np.ndarray | None = None   # blocks go the same way under every key (measured): π̂ is known

    @property
    def grid(self) -> tuple[int, int]:
        return self.image_shape[0] // self.block_size, self.image_shape[1] // self.block_size


def attacker_view(key, unit: int | None, knows_permutation: bool, image_shape: tuple[int, int]) -> AttackerView:
    """The attacker's view of ``key`` (None: no disguise). ``unit``: the unit size for a mechanism
    without one; a key with a unit (AES) gives its own; else the unit the probe measured (equal units), else 1.
    The geometry an attack assumes — the linear map's mode and kind, the unit — is the key's public setting
    where it has one, else what the probe measured (:func:`~disguisednets.mechanisms.registry.probe_setting`,
    with keys of the probe's own); the traits are those declared or measured."""
    if key is None:  # no disguise: the largest block of at most 8 px that divides the image, identity π
        side = math.gcd(*image_shape)
        b = max(d for d in range(1, min(side, 8) + 1) if side % d == 0)
        n_blocks = (image_shape[0] // b) * (image_shape[1] // b)
        return AttackerView(image_shape, b, int(unit or 1), "matrix", np.arange(n_blocks), np.arange(n_blocks),
                            traits=setting_traits(None))
    spec = key.spec
    try:
        probe = probe_setting(spec)
    except ValueError:   # a scheme that is not registered (a class used directly): its declarations alone
        probe = None
    t = (image_shape[0] // key.block_size) * (image_shape[1] // key.block_size)
    true = key.array("permutation") if key.has_array("permutation") else np.arange(t)  # blocks that stay put
    perm = true if knows_permutation else np.arange(len(true))
    matrices = key.array("matrices") if spec["mechanism"] == "rmt" else None
    fixed = (np.asarray(probe.fixed_arrangement, np.int64) if probe is not None and probe.fixed_arrangement
             is not None and len(probe.fixed_arrangement) == t else None)
    measured = lambda field, default: getattr(probe, field, None) or default  # noqa: E731
    return AttackerView(image_shape, key.block_size, int(spec.get("unit", unit or measured("unit", 1))),
                        spec.get("mode", measured("mode", "matrix")), perm, true,
                        spec.get("kind", measured("kind", "orthogonal")), matrices, spec["mechanism"], key,
                        dict(spec.get("noise") or {"kind": "none"}), knows_permutation,
                        probe.traits if probe is not None else traits_of(spec["mechanism"]), fixed)


@dataclass(frozen=True)
class Knowledge:
    """What an attack is handed: the view, the disguised images to reconstruct, and only what it
    declared — known pairs (plain, disguised), the observed disguised training data, public images."""

    view: AttackerView
    target: np.ndarray
    known_plain: np.ndarray | None = None
    known_disguised: np.ndarray | None = None
    observed: np.ndarray | None = None
    public: np.ndarray | None = None


@dataclass
class Reconstruction:
    images: np.ndarray                     # (N, H, W) float32
    extras: dict[str, float]               # attack-specific metrics
    hits: np.ndarray | None = None         # per-unit lookups found (codebook)


def as_picture(view: AttackerView, disguised: np.ndarray) -> np.ndarray:
    """Disguised images as a person would look at them, on the 0..255 scale: the learnable encryption's
    nibble channels joined back into bytes (16·first + second, in their shuffled places), InstaHide's
    normalized encodings back on the pixel scale; the rest as they are."""
    x = np.asarray(disguised, np.float32)
    if view.mechanism == "learnable":
        return join_nibbles(x)[..., 0]
    if view.mechanism == "instahide":
        return x * view.key.spec["std"] + view.key.spec["mean"]
    return x
