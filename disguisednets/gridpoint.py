"""One grid point (docs/method.md §3): a fold's splits of the data, its key and its mechanism.

The layer between the mechanisms and the two tasks on a point: training a model on its disguised
data (:mod:`disguisednets.tasks.train`) and attacking its disguise
(:mod:`disguisednets.tasks.attack`). Built once from a composed config by :meth:`GridPoint.build`;
pure numpy, no tracking.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from disguisednets.attacks.registry import ATTACKS
from disguisednets.data import pad_to
from disguisednets.folderdata import load_configured
from disguisednets.keys import DisguiseKey
from disguisednets.mechanisms import NoDisguise, generate_key, get_mechanism, load_key, make_mechanism

__all__ = ["DataInput", "GridPoint", "Splits", "build_key", "check_settings", "key_settings", "load_splits"]

# Config keys of a mechanism that are not key settings, and config names of key settings.
_NOT_KEY_SETTINGS = ("name", "block_size", "pad_to", "fresh_encodings")  # fresh_encodings: how InstaHide trains
_KEY_SETTING_NAMES = {"aes_form": "form"}   # mechanism.aes_form in the config is the AES key's "form"

# Mechanisms whose disguise the model-theft task can estimate (disguisednets/attacks/disguise_estimate.py).
_THEFT_MECHANISMS = ("none", "permutation", "rmt", "aes_ecb", "aes_cbc")

# Random streams of a fold (seeded by [seed, stream]): one per use, so that one never shifts another.
STREAM_SPLITS, STREAM_NOISE, STREAM_ATTACK, STREAM_PERMUTATION = 0, 1, 2, 4  # 3: the theft task's (tasks.theft)
STREAM_EPOCHS = 5  # InstaHide's fresh encodings, epoch after epoch


@dataclass(frozen=True)
class Splits:
    """Original (not yet disguised) images and labels of one fold."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    n_classes: int
    public: np.ndarray | None = None  # training images outside the owner's sample (attacks' public data)
    source: str | None = None         # where the images came from: a folder's name and content digest

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(H, W), or (H, W, C) for colour."""
        return tuple(self.train[0].shape[1:])  # type: ignore[return-value]

    @property
    def image_hw(self) -> tuple[int, int]:
        return tuple(self.train[0].shape[1:3])  # type: ignore[return-value]


def _sample(n: int, size: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    if size is None:
        return rng.permutation(n)
    if not 0 < size <= n:
        raise ValueError(f"dataset.{what} must be between 1 and {n}; got {size}.")
    return rng.permutation(n)[:size]


def load_splits(cfg: DictConfig) -> Splits:
    """Load the dataset and draw this fold's train/val/test samples (seeded by ``cfg.seed``)."""
    d = cfg.dataset
    ds = load_configured(d)
    rng = np.random.default_rng([int(cfg.seed), STREAM_SPLITS])
    train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
    if d.pad_to:
        train_x, test_x = pad_to(train_x, d.pad_to), pad_to(test_x, d.pad_to)
    val_size = d.val_size or 0
    val_size = int(round(val_size * len(train_x))) if 0 < val_size < 1 else int(val_size)  # a share, or a count
    if val_size >= len(train_x):
        raise ValueError(f"dataset.val_size ({val_size}) must be smaller than the training set ({len(train_x)}).")
    order = rng.permutation(len(train_x))
    val_idx, rest = order[:val_size], order[val_size:]
    train_idx = rest[_sample(len(rest), d.train_size, rng, "train_size")]
    test_idx = np.sort(_sample(len(test_x), d.test_size, rng, "test_size"))
    public_idx = np.setdiff1d(rest, train_idx, assume_unique=True)
    return Splits(
        train=(train_x[train_idx], train_y[train_idx]),
        val=(train_x[val_idx], train_y[val_idx]) if val_size else None,
        test=(test_x[test_idx], test_y[test_idx]),
        n_classes=ds.n_classes,
        public=train_x[np.sort(public_idx)],
        source=None if ds.digest is None else f"{ds.name} (SHA-256 {ds.digest})",
    )


def key_settings(mechanism_cfg) -> dict:
    """The mechanism's own key settings from its config (``aes_form`` → the key's ``form``)."""
    return {_KEY_SETTING_NAMES.get(k, k): v for k, v in mechanism_cfg.items() if k not in _NOT_KEY_SETTINGS}


def check_settings(cfg: DictConfig) -> None:
    """Refuse settings that the run would silently ignore."""
    mech, noise = cfg.mechanism, cfg.noise
    if mech.name == "none" and noise.kind != "none":
        raise ValueError(f"noise={noise.kind} with mechanism=none: the baseline adds no noise (noise is part of a "
                         "disguise). Use noise=none, or choose a mechanism.")
    if mech.name != "none":
        get_mechanism(mech.name)  # a clear error for an unknown name
    attack = cfg.get("attack")
    if attack is not None and attack.get("name", "none") != "none":
        ATTACKS[attack.name]      # likewise for an attack
    theft = cfg.get("theft")
    if theft is not None and theft.get("enabled") and mech.name not in _THEFT_MECHANISMS:
        raise ValueError(f"theft.enabled=true with mechanism={mech.name}: model theft is measured for "
                         f"{', '.join(_THEFT_MECHANISMS)} (it estimates their disguise from pairs). Set "
                         "theft.enabled=false.")
    attack = cfg.get("attack")
    if attack is not None and attack.get("unit") is not None and "unit" in mech:
        raise ValueError(f"attack.unit={attack.unit} with mechanism={mech.name}: the {mech.name} key fixes the unit "
                         f"(mechanism.unit={mech.unit}) and the attacker knows it. Drop attack.unit (it is for "
                         "mechanisms without units).")


def build_key(cfg: DictConfig, image_shape: tuple[int, ...], n_classes: int,
              statistics: tuple[float, float] | None = None) -> DisguiseKey | None:
    """The run's key: loaded from ``key.path`` or drawn from ``seed`` as an experiment key. ``statistics``:
    the training images' pixel mean and std, for a scheme that normalizes with them where the dataset's
    config leaves them to be computed (``dataset=folder``)."""
    mech = cfg.mechanism
    if mech.name == "none":
        return None
    if cfg.key.get("path"):
        key = load_key(cfg.key.path, mechanism=mech.name)
        if key.image_shape != tuple(image_shape):
            raise ValueError(f"The key file is for images {key.image_shape}; the data are {tuple(image_shape)}.")
        if int(key.spec.get("n_classes", n_classes)) < n_classes:
            raise ValueError(f"The key file maps {key.spec['n_classes']} classes; the data have {n_classes}. Make a key "
                             f"for them: disguisednets keygen … --classes {n_classes}.")
        return key
    settings = key_settings(mech)
    if "mean" in settings and settings["mean"] is None:   # InstaHide on a folder: its pixels' public statistics
        if statistics is None:
            raise ValueError(f"mechanism={mech.name} normalizes with the dataset's pixel mean and std; set "
                             "dataset.pixel_mean and dataset.pixel_std.")
        settings["mean"], settings["std"] = statistics
    return generate_key(mech.name, image_shape, mech.block_size, n_classes=n_classes, noise=dict(cfg.noise),
                        seed=int(cfg.seed), context=f"dataset={cfg.dataset.name}", **settings)


@dataclass(frozen=True)
class DataInput:
    """What a run's split is, for its record (MLflow's dataset inputs): never key material.

    ``digest``: SHA-256 (16 hex digits) of the split's original images and labels and of the key's
    fingerprint (public) — the same digest, the same disguised data (the noise is drawn from the fold's
    seed)."""

    context: str          # training | validation | testing | public
    images: int
    shape: tuple[int, ...]
    digest: str


def _digest(split: tuple[np.ndarray, np.ndarray | None], fingerprint: str) -> str:
    h = hashlib.sha256(fingerprint.encode())
    for a in split:
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(f"|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.data)
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class GridPoint:
    """A fold's original splits, its key (None for the baseline) and the mechanism of that key."""

    splits: Splits
    key: DisguiseKey | None
    mechanism: object
    seed: int
    fresh_encodings: bool = False  # InstaHide: a new set of encodings every epoch, as its reference trains

    @classmethod
    def build(cls, cfg: DictConfig) -> "GridPoint":
        """The grid point of ``cfg``: its settings checked (the scheme, its key spec for the images, the attack's
        name), its data split, its key — before anything trains or is recorded."""
        check_settings(cfg)
        splits = load_splits(cfg)
        train = splits.train[0]
        theft = cfg.get("theft")
        if theft is not None and theft.get("enabled") and train.ndim == 4:   # before anything trains
            raise ValueError("theft.enabled=true on colour images: model theft estimates grayscale disguises only "
                             "(docs/method.md §4 \"Colour\"). Set theft.enabled=false.")
        key = build_key(cfg, splits.image_shape, splits.n_classes,
                        (float(train.mean()), float(train.std())) if len(train) else None)
        return cls(splits, key, NoDisguise() if key is None else make_mechanism(key), int(cfg.seed),
                   bool(cfg.mechanism.get("fresh_encodings", False)))

    @property
    def n_outputs(self) -> int:
        """The classes a model of the disguised data tells apart: the key's secret label map's (at least the
        data's; a data owner's key may map more classes than her folder has)."""
        if self.key is None:
            return self.splits.n_classes
        return max(self.splits.n_classes, int(self.key.spec.get("n_classes", 0)))

    def data_inputs(self, public: bool = False) -> list[DataInput]:
        """The point's splits as :class:`DataInput` records (``public``: the public images too)."""
        s, fingerprint = self.splits, self.key.fingerprint if self.key is not None else "none"
        splits = [("training", s.train), ("validation", s.val), ("testing", s.test)]
        if public and s.public is not None:
            splits.append(("public", (s.public, None)))
        return [DataInput(context, len(split[0]), tuple(split[0].shape[1:]), _digest(split, fingerprint))
                for context, split in splits if split is not None and len(split[0])]

    def rng(self, stream: int) -> np.random.Generator:
        """The fold's random stream ``stream`` (``STREAM_NOISE``, ``STREAM_ATTACK``, ``STREAM_PERMUTATION``)."""
        return np.random.default_rng([self.seed, stream])

    def disguise(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.mechanism.disguise(images, rng=rng)

    def disguised_splits(self) -> tuple[tuple, tuple | None, tuple]:
        """(train, val, test) as (images, labels), disguised with fresh noise per image from the
        fold's noise stream (in that order: reproducible per fold)."""
        rng = self.rng(STREAM_NOISE)
        mech = self.mechanism

        def one(split):
            images, labels = split
            return self.disguise(images, rng), mech.disguise_labels(labels)

        s = self.splits
        if getattr(mech, "mixes_labels", False):  # InstaHide: the training split is encoded with mixed labels;
            encoded, soft, _ = mech.encode(*s.train, rng)  # validation and test images are used in the clear
            clear = lambda split: (mech.inference_form(split[0]), mech.disguise_labels(split[1]))  # noqa: E731
            return (encoded, soft), clear(s.val) if s.val is not None else None, clear(s.test)
        train = one(s.train)
        val = one(s.val) if s.val is not None else None
        return train, val, one(s.test)

    def train_encodings(self):
        """For a mechanism that mixes labels and trains on ``fresh_encodings`` (InstaHide as its reference
        code trains: new partners, coefficients and signs every epoch): a callable epoch → (encodings,
        mixed labels) of the training split, drawn from the fold's epoch stream (epoch 0 is
        :meth:`disguised_splits`' set); else None."""
        mech = self.mechanism
        if not (self.fresh_encodings and getattr(mech, "mixes_labels", False)):
            return None
        train = self.splits.train

        def encode(epoch: int):
            if epoch == 0:
                return self.disguised_splits()[0]
            encoded, soft, _ = mech.encode(*train, np.random.default_rng([self.seed, STREAM_EPOCHS, epoch]))
            return encoded, soft
        return encode
