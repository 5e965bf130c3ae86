"""What a scheme *is*, measured by probing it (docs/benchmark.md "What a scheme is"), never taken from its author.

Kerckhoffs: the attacker knows the algorithm and its public settings, not the key. The probe draws keys of its
own for the setting (never the owner's), and runs controlled experiments on ``disguise``:

- **the setting as given** (its noise and one-time draws included): determinism (the same images twice, with
  two draws of the generator), whether the randomness comes from the generator the caller passes (the same
  draw twice), batch independence (one image of the batch changed: do the others' outputs change? →
  ``mixes_images``), key dependence (two keys of the probe's own → ``keyless``), colour-channel mixing;
- **the transform** (the noise the setting adds before it left out, since it is part of the setting, not of
  the transform: linear-plus-noise is linear; the scheme's own draws stay in, the same draw on both sides of
  every comparison): the dependency map — which output pixels change when one input pixel changes — giving
  the block size, the block arrangement (moved by a key-dependent permutation → ``block_permutation``, or
  the same under every key), and what one output pixel depends on (one pixel, a unit or row of a block, the
  whole block); ``pixelwise`` (one input pixel each, by a one-to-one map of 0..255 that is the same for
  every image); ``linear`` (additive and homogeneous, one invertible map per block position: its geometry,
  one map shared by a block's rows or one on the whole flattened block, and whether it keeps lengths);
  ``equal_units`` (the smallest u for which equal u-pixel units give equal outputs anywhere in the block);
  ``pixel_blocks`` (each block its source block rotated, flipped or negated).

Every trait gets one line of evidence. The battery runs the attacks of every trait declared *or* measured: a
declaration can only add attacks, never take one away. A few hundred probe images; seconds for any scheme.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from disguisednets.keys import DisguiseKey, KeyRandom
from disguisednets.mechanisms.base import TRAITS

__all__ = ["Probe", "probe_scheme"]

PROBE_IMAGES = 64          # random images per comparison
TABLE_VALUES = 256         # the constant images of the pixelwise table (every 8-bit value)


@dataclass(frozen=True)
class Probe:
    """What the probe measured of a scheme at one setting: its traits with their evidence, and its geometry."""

    mechanism: str
    declared: frozenset[str]
    measured: frozenset[str]
    evidence: dict[str, str]            # every trait of TRAITS → what the probe saw
    block_size: int | None = None       # the block size the dependency map shows (None: not block-local)
    support: int | None = None          # an output pixel depends on one aligned run of this many pixels of its
    #                                     block in row-major order (1: one pixel; b: one row; b²: the whole block)
    mode: str | None = None             # a linear map: 'matrix' (one b×b map shared by a block's rows) | 'flat'
    kind: str | None = None             # a linear map: 'orthogonal' (keeps lengths) | 'general'
    unit: int | None = None             # equal_units: the smallest unit size
    fixed_arrangement: tuple[int, ...] | None = None   # blocks go the same way under every key: π̂[j] for each j
    deterministic: bool = True
    noise: str = "none"                 # the randomness it saw, in words
    mixes_channels: bool | None = None  # colour settings: whether one channel's pixel changes another channel
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def traits(self) -> frozenset[str]:
        """What the battery follows: declared or measured (a declaration only adds)."""
        return self.declared | self.measured

    @property
    def unconfirmed(self) -> frozenset[str]:
        """Declared, and not measured."""
        return self.declared - self.measured

    @property
    def undeclared(self) -> frozenset[str]:
        """Measured, and not declared."""
        return self.measured - self.declared

    def mismatches(self) -> list[str]:
        """One line per trait where the declaration and the measurement disagree."""
        return ([f"declares {t!r}, which the probe does not confirm: {self.evidence[t]}" for t in sorted(self.unconfirmed)]
                + [f"does not declare {t!r}, which the probe measures: {self.evidence[t]}" for t in sorted(self.undeclared)])

    def as_dict(self) -> dict[str, Any]:
        """The probe as a verdict records it (``scheme`` in verdict.json; no key material: the probe's keys are its
        own, and not kept)."""
        return {"traits": {t: {"declared": t in self.declared, "measured": t in self.measured,
                               "evidence": self.evidence[t]} for t in TRAITS},
                "block_size": self.block_size, "support": self.support, "mode": self.mode, "kind": self.kind,
                "unit": self.unit, "deterministic": self.deterministic, "noise": self.noise,
                "seconds": round(self.seconds, 2), "mismatches": self.mismatches()}


# --------------------------------------------------------------------------------------------- helpers
def _key(cls, spec: Mapping[str, Any], seed: int) -> DisguiseKey:
    return DisguiseKey(dict(spec), cls.draw_key_arrays(spec, KeyRandom(seed, context="the battery's probe")),
                       experiment=True)


def _out(scheme, images: np.ndarray, seed: int) -> np.ndarray:
    """The disguise of ``images`` under generator draw ``seed``, as float64 (N, H, W, C′)."""
    y = np.asarray(scheme.disguise(images, np.random.default_rng(seed)), np.float64)
    return y[..., None] if y.ndim == 3 else y


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _block_ids(h: int, w: int, b: int) -> np.ndarray:
    """(H·W,) the row-major block index of each pixel, for b×b blocks."""
    rows, cols = np.divmod(np.arange(h * w), w)
    return (rows // b) * (w // b) + cols // b


def _offsets(h: int, w: int, b: int) -> np.ndarray:
    """(H·W,) each pixel's row-major offset inside its b×b block."""
    rows, cols = np.divmod(np.arange(h * w), w)
    return (rows % b) * b + cols % b


def _dependency(scheme, shape: tuple[int, int], rng: np.random.Generator, seed: int, bases: int = 2):
    """dep (H·W in, H·W out) bool: output pixel p (any channel) changes when input pixel q changes, on ``bases``
    random images; and the Jacobian columns (H·W, H·W·C′) of the last base (change / step)."""
    h, w = shape
    n = h * w
    dep = np.zeros((n, n), bool)
    jac = None
    for k in range(bases):
        base = rng.integers(0, 256, (h, w), dtype=np.uint8)
        batch = np.repeat(base[None], n, axis=0)
        flat = batch.reshape(n, n)
        step = rng.integers(64, 192, n)                      # a change of 64..191 grey levels, wrapped
        flat[np.arange(n), np.arange(n)] = (base.reshape(-1).astype(np.int64) + step) % 256
        y0 = _out(scheme, np.repeat(base[None], n, axis=0), seed + k)
        y1 = _out(scheme, batch, seed + k)
        diff = (y1 - y0).reshape(n, n, -1)
        tol = 1e-5 * max(1.0, float(np.abs(y0).max()))
        dep |= (np.abs(diff) > tol).any(-1)
        delta = ((base.reshape(-1).astype(np.int64) + step) % 256 - base.reshape(-1)).astype(np.float64)
        jac = diff.reshape(n, -1) / delta[:, None]
    return dep, jac


def _block_map(dep: np.ndarray, shape: tuple[int, int], b: int) -> np.ndarray | None:
    """Input block i → output block A[i] when every input block's pixels reach one output block only, one-to-one
    (and every block reaches one); else None."""
    h, w = shape
    ids = _block_ids(h, w, b)
    t = ids.max() + 1
    reach = np.zeros((t, t), bool)                          # reach[i, j]: input block i changes output block j
    q, p = np.nonzero(dep)
    reach[ids[q], ids[p]] = True
    if not (reach.sum(1) == 1).all():
        return None
    target = reach.argmax(1)
    return target if len(np.unique(target)) == t else None


def _support(dep: np.ndarray, shape: tuple[int, int], b: int) -> int:
    """The smallest d | b² such that every output pixel depends only on pixels of one aligned run of d offsets
    (row-major) of its source block: 1, one pixel; b, one row; b², the whole block."""
    h, w = shape
    offsets = _offsets(h, w, b)
    q, p = np.nonzero(dep)
    for d in _divisors(b * b):
        unit = offsets[q] // d
        low, high = np.full(h * w, b * b), np.full(h * w, -1)
        np.minimum.at(low, p, unit)
        np.maximum.at(high, p, unit)
        if np.all((high < 0) | (low == high)):
            return d
    return b * b


# ------------------------------------------------------------------------------------------- the probe
def probe_scheme(cls, spec: Mapping[str, Any], *, images: int = PROBE_IMAGES, seed: int = 0) -> Probe:
    """Probe the scheme ``cls`` at the setting ``spec`` (a canonical key spec: public settings only) with keys of
    the probe's own. Returns what it measured (a comparison the scheme refuses, e.g. the linearity test's, counts
    as a trait not measured, with the scheme's reason as its evidence)."""
    t0 = time.perf_counter()
    spec = dict(spec)
    declared = frozenset(getattr(cls, "traits", ()) or ())
    evidence: dict[str, str] = {t: "" for t in TRAITS}
    measured: set[str] = set()
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    shape = tuple(spec["image_shape"])
    hw = shape[:2]
    n = images

    # ---- the setting as given: randomness, batch independence, key dependence
    a, b_ = cls(_key(cls, spec, seed)), cls(_key(cls, spec, seed + 1))
    x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    y = _out(a, x, 11)
    reproducible = np.array_equal(y, _out(a, x, 11))
    other = _out(a, x, 12)
    deterministic = np.array_equal(y, other)
    noise_kind = dict(spec.get("noise") or {"kind": "none"}).get("kind", "none")
    if deterministic:
        noise = "none: the same images give the same outputs on two draws"
    else:
        changed = 100 * float(np.mean(np.abs(y - other) > 1e-9))
        noise = (f"{changed:.0f}% of output values differ between two draws of the generator (RMS difference "
                 f"{_rms(y - other):.3g} on outputs of RMS {_rms(y):.3g})"
                 + ("" if noise_kind == "none" else f"; the setting adds {noise_kind.replace('_', '-')} noise")
                 + ("" if reproducible else "; the randomness does not all come from the generator passed in"))
    x2 = x.copy()
    x2[0] = rng.integers(0, 256, shape, dtype=np.uint8)
    if reproducible:
        others = int(np.sum(np.any((_out(a, x2, 11) != y)[1:].reshape(n - 1, -1), axis=1)))
        if others:
            measured.add("mixes_images")
        evidence["mixes_images"] = f"changing one image of a batch of {n} changed {others} of the other outputs"
        same = np.array_equal(_out(b_, x, 11), y)
        if same:
            measured.add("keyless")
        evidence["keyless"] = ("two keys of the probe's own give the same outputs: the attacker can make the release "
                               "itself" if same else "two keys of the probe's own give different outputs")
    else:
        for t in ("mixes_images", "keyless"):
            evidence[t] = "not measured: the scheme's randomness does not all come from the generator passed in"

    mixes_channels = None
    if len(shape) == 3 and reproducible:
        xc = x[:8].copy()
        xc[:, :, :, 0] ^= 0x5A                                   # channel 0 changed, every pixel
        diff = (_out(a, xc, 11) != y[:8])
        mixes_channels = bool(diff[..., 1:].any()) if diff.shape[-1] == shape[2] else True
        notes.append("changing colour channel 0 " + ("changes" if mixes_channels else "leaves") +
                     " the other channels' outputs")

    # ---- the transform (the setting's noise left out), on grayscale: every trait below is the per-channel map's
    structure = {**spec, "image_shape": list(hw), "noise": {"kind": "none"}}
    result = dict(block_size=None, support=None, mode=None, kind=None, unit=None, fixed_arrangement=None)
    if "mixes_images" in measured or not reproducible:
        why = "not measured: outputs mix images of the batch" if "mixes_images" in measured else \
            "not measured: the scheme's randomness does not all come from the generator passed in"
        for t in ("block_permutation", "pixelwise", "linear", "equal_units", "pixel_blocks"):
            evidence[t] = why
        return _finish(cls, declared, measured, evidence, result, deterministic, noise, mixes_channels, notes, t0)
    sa, sb = cls(_key(cls, structure, seed)), cls(_key(cls, structure, seed + 1))
    noisy = None           # the transform with the setting's noise, where it adds any (the same key as ``sa``)
    if noise_kind != "none":
        noisy = cls(_key(cls, {**structure, "noise": spec["noise"]}, seed))
    dep_a, jac = _dependency(sa, hw, rng, 21)
    dep_b, _ = _dependency(sb, hw, rng, 31, bases=1)
    h, w = hw
    spec_b = int(spec["block_size"])
    candidates = [spec_b] + [d for d in _divisors(h) if w % d == 0 and 1 < d < min(h, w) and d != spec_b]
    block = arrangement = None
    for b in candidates:
        m = _block_map(dep_a, hw, b)
        if m is not None:
            block, arrangement = b, m
            break
    if block is None:
        reach = dep_a.sum(1)
        blocked = (f"not block-local: one input pixel reaches {int(np.median(reach))} output pixels (median), "
                   f"not within one {spec_b}×{spec_b} block")
        for t in ("block_permutation", "pixelwise", "linear", "equal_units", "pixel_blocks"):
            evidence[t] = blocked
        return _finish(cls, declared, measured, evidence, result, deterministic, noise, mixes_channels, notes, t0)
    t = len(arrangement)
    other_map = _block_map(dep_b, hw, block)
    keyed = other_map is None or not np.array_equal(other_map, arrangement)
    support = _support(dep_a, hw, block)
    result.update(block_size=block, support=support)
    what = {block: f"one row of its block ({block} pixels)", block * block: f"its whole block ({block * block} pixels)",
            1: "one input pixel"}.get(support, f"one {support}-pixel unit of its block")
    if keyed:
        measured.add("block_permutation")
        evidence["block_permutation"] = (f"{t} blocks of {block}×{block} move as wholes, by an arrangement that "
                                         "differs between two keys of the probe's own")
    else:
        pihat = np.argsort(arrangement)          # π̂[j]: the input block that lands at output block j
        result["fixed_arrangement"] = tuple(int(i) for i in pihat)
        moved = "stay in place" if np.array_equal(arrangement, np.arange(t)) else "move the same way"
        evidence["block_permutation"] = f"{t} blocks of {block}×{block} {moved} under every key (no secret arrangement)"

    # pixelwise: one source pixel per output pixel, by a one-to-one table of 0..255, the same for every image
    sources = dep_a.argmax(0)                     # input pixel of each output pixel (support 1)
    one_each = support == 1 and (dep_a.sum(0) == 1).all()
    if one_each:
        ramp = np.repeat(np.arange(TABLE_VALUES, dtype=np.uint8)[:, None, None], h, 1).repeat(w, 2)
        table = _out(sa, ramp, 41).reshape(TABLE_VALUES, h * w, -1)          # (v, p, C′)
        probe_x = rng.integers(0, 256, (TABLE_VALUES, h, w), dtype=np.uint8)
        got = _out(sa, probe_x, 41).reshape(TABLE_VALUES, h * w, -1)
        want = table[probe_x.reshape(TABLE_VALUES, -1)[:, sources], np.arange(h * w)]    # (N, p, C′)
        agree = np.all(np.isclose(got, want, atol=1e-6), axis=-1).mean(0)              # per output pixel
        flat = table.transpose(1, 0, 2).reshape(h * w, TABLE_VALUES, -1)
        distinct = np.array([len(np.unique(flat[p], axis=0)) for p in range(h * w)])   # ≤ 1,024 places
        ok = int(np.sum((agree == 1) & (distinct == TABLE_VALUES)))
        evidence["pixelwise"] = (f"each output pixel depends on one input pixel; a one-to-one map of 0..255 that is the "
                                 f"same for every image at {ok} of {h * w} places ({TABLE_VALUES} random images)")
        kept = 1.0
        if ok == h * w and noisy is not None:    # does the setting's noise leave the map in place?
            kept = float(np.mean(np.all(np.isclose(_out(noisy, probe_x, 41).reshape(got.shape), want, atol=1e-6), -1)))
            evidence["pixelwise"] += f"; with the setting's noise {100 * kept:.0f}% of output pixels keep it"
        if ok == h * w and kept >= 0.5:
            measured.add("pixelwise")
    else:
        evidence["pixelwise"] = f"each output pixel depends on {what}"

    # linear: additive and homogeneous, an invertible map per block position
    evidence["linear"] = _linear(sa, hw, rng, block, arrangement, jac, measured, result)
    # equal units: the smallest u whose equal units give equal outputs anywhere in the block
    evidence["equal_units"] = _equal_units(sa, hw, rng, block, arrangement, support, measured, result, noisy)
    evidence["pixel_blocks"] = _pixel_blocks(sa, hw, rng, block, arrangement, support, measured)
    return _finish(cls, declared, measured, evidence, result, deterministic, noise, mixes_channels, notes, t0)


def _finish(cls, declared, measured, evidence, result, deterministic, noise, mixes_channels, notes, t0) -> Probe:
    return Probe(getattr(cls, "name", cls.__name__), declared, frozenset(measured), evidence, **result,
                 deterministic=deterministic, noise=noise, mixes_channels=mixes_channels,
                 seconds=time.perf_counter() - t0, notes=tuple(notes))


def _linear(scheme, hw, rng, b, arrangement, jac, measured, result) -> str:
    h, w = hw
    n = PROBE_IMAGES
    try:
        x, y = (rng.integers(0, 128, (n, h, w), dtype=np.uint8) for _ in range(2))
        zero = _out(scheme, np.zeros_like(x), 51)
        fx, fy, fxy = (_out(scheme, v, 51) - zero for v in (x, y, x + y))
        half = rng.integers(0, 128, (n, h, w), dtype=np.uint8)
        f1, f2 = _out(scheme, half, 51) - zero, _out(scheme, 2 * half, 51) - zero
    except (TypeError, ValueError) as exc:
        return f"not measured: the scheme refused the probe's inputs ({str(exc).splitlines()[0]})"
    if fx.shape[-1] != 1:
        return f"outputs have {fx.shape[-1]} values per pixel: not one linear map of the pixels"
    additive = _rms(fx + fy - fxy) / max(_rms(fxy), 1e-12)
    homogeneous = _rms(2 * f1 - f2) / max(_rms(f2), 1e-12)
    if additive > 0.01 or homogeneous > 0.01:
        return (f"not linear: f(x) + f(y) − f(x + y) is {additive:.2g} of the signal, 2 f(x) − f(2x) "
                f"{homogeneous:.2g} (both ≤ 0.01 for a linear map, offsets allowed)")
    t = len(arrangement)
    ids = _block_ids(h, w, b)
    offsets = _offsets(h, w, b)
    jac = jac.reshape(h * w, h * w)
    ranks, orthogonal, shared = [], True, True
    for i in range(t):                            # ≤ 64 blocks, a b²×b² Jacobian each
        q = np.flatnonzero(ids == i)[np.argsort(offsets[ids == i])]
        p = np.flatnonzero(ids == arrangement[i])[np.argsort(offsets[ids == arrangement[i]])]
        m = jac[np.ix_(q, p)]                     # rows: input offsets, columns: output offsets
        s = np.linalg.svd(m, compute_uv=False)
        ranks.append(int(np.sum(s > 1e-6 * max(s.max(), 1e-300))))
        orthogonal &= bool(s.min() > 0 and s.max() / s.min() < 1 + 1e-3)
        rows = [m[r * b:(r + 1) * b, r * b:(r + 1) * b] for r in range(b)]
        off = m.copy()
        for r in range(b):
            off[r * b:(r + 1) * b, r * b:(r + 1) * b] = 0
        scale = max(np.abs(m).max(), 1e-300)
        shared &= bool(np.abs(off).max() <= 1e-6 * scale and all(np.allclose(rows[0], r_, atol=1e-6 * scale) for r_ in rows))
    if min(ranks) < b * b:
        return (f"additive and homogeneous (residual {max(additive, homogeneous):.1g}), but not invertible: rank "
                f"{min(ranks)} of {b * b} per {b}×{b} block")
    measured.add("linear")
    mode = "matrix" if shared else "flat"
    kind = "orthogonal" if orthogonal else "general"
    result.update(mode=mode, kind=kind)
    geometry = (f"one {b}×{b} map shared by the rows of each block" if shared else
                f"one {b * b}×{b * b} map on each whole flattened block")
    return (f"additive and homogeneous (residual {max(additive, homogeneous):.1g}, offsets allowed); {geometry}, "
            f"invertible at every one of {t} positions" + ("; it keeps lengths (orthogonal)" if orthogonal else ""))


def _units(images: np.ndarray, hw, b: int, u: int, arrangement: np.ndarray | None = None) -> np.ndarray:
    """(N, H, W[, C]) → (t, N, b²/u, u·C) units of each block in row-major order; blocks in input order when
    ``arrangement`` is given (output block arrangement[i] for input block i)."""
    n = images.shape[0]
    h, w = hw
    c = images.shape[3] if images.ndim == 4 else 1
    blocks = images.reshape(n, h // b, b, w // b, b, c).transpose(1, 3, 0, 2, 4, 5).reshape(-1, n, b * b, c)
    if arrangement is not None:
        blocks = blocks[arrangement]
    return blocks.reshape(blocks.shape[0], n, b * b // u, u * c)


def _equal_units(scheme, hw, rng, b, arrangement, support, measured, result, noisy=None) -> str:
    h, w = hw
    n = PROBE_IMAGES
    t = len(arrangement)
    for u in [d for d in _divisors(b * b) if d < b * b and d >= support]:
        choice = rng.integers(0, 2, (t, n, b * b // u))
        patterns = rng.integers(0, 256, (2, u), dtype=np.uint8)
        blocks = patterns[choice].reshape(h // b, w // b, n, b, b)
        x = np.ascontiguousarray(blocks.transpose(2, 0, 3, 1, 4).reshape(n, h, w))
        out = _units(_out(scheme, x, 61), hw, b, u, arrangement)           # (t, N, M, u·C′), by input block
        ok = True
        for c in (0, 1):
            sel = choice == c                                               # (t, N, M)
            first = np.argmax(sel.reshape(t, -1), axis=1)
            ref = out.reshape(t, -1, out.shape[-1])[np.arange(t), first]     # a unit with this input, per position
            ok &= bool(np.all(~sel[..., None] | np.isclose(out, ref[:, None, None, :], atol=1e-9)))
        if ok:
            smaller = f" (units of {', '.join(str(d) for d in _divisors(u) if d < u and d >= support)} pixels do " \
                      "not)" if any(d < u and d >= support for d in _divisors(u)) else ""
            line = f"equal {u}-pixel units give equal outputs anywhere in the block{smaller}"
            if noisy is not None:                 # the share of units the setting's noise leaves as they were
                kept = float(np.mean(np.all(np.isclose(_units(_out(noisy, x, 61), hw, b, u, arrangement), out,
                                                       atol=1e-9), -1)))
                line += f"; with the setting's noise {100 * kept:.0f}% of units keep their output"
                if kept < 0.5:
                    return line
            measured.add("equal_units")
            result["unit"] = u
            return line
    return f"no unit smaller than the block gives equal outputs for equal inputs (an output pixel depends on {support} pixel(s))"


_SYMMETRIES = [(k, flip) for flip in (False, True) for k in range(4)]


def _pixel_blocks(scheme, hw, rng, b, arrangement, support, measured) -> str:
    if support != 1:
        return "an output pixel depends on more than one input pixel"
    h, w = hw
    n = PROBE_IMAGES
    x = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    out = _units(_out(scheme, x, 71), hw, b, b * b, arrangement)[..., :b * b]          # (t, N, 1, b²)
    inp = _units(x.astype(np.float64), hw, b, b * b)[..., 0, :].reshape(-1, n, b, b)
    out = out[:, :, 0, :].reshape(-1, n, b, b)
    found = np.zeros(len(arrangement), bool)
    for k, flip in _SYMMETRIES:                   # 8 symmetries × 2 signs, every block at once
        g = np.rot90(np.flip(inp, -1) if flip else inp, k, axes=(-2, -1))
        for cand in (g, 255 - g):
            found |= np.all(cand == out, axis=(1, 2, 3))
    if found.all():
        measured.add("pixel_blocks")
    return (f"{int(found.sum())} of {len(found)} blocks are their source block rotated, flipped or negated "
            f"(the same for {n} random images)")
