"""``disguisednets audit``: a disguise setting on a data owner's own images (docs/method.md §7).

A folder of class subfolders and a key file (or key settings) in; out, ``<out>/report.md`` with
``samples.png`` and ``attacks.png``: the accuracy of a network trained on the originals and on the disguised
images (the utility cost), every registered attack built for the scheme at level (a) (no pairs: the attacker
finds the block arrangement itself from the disguised data and public images) and with m known pairs
(``--pairs``), model theft, and a verdict in plain words per threat level. Each training and attack is a run
of the Hydra harness (``dataset=folder``), logged to MLflow (``<out>/runs/mlflow.db`` unless told otherwise);
an audit run again with the same folder, settings and code picks up its finished runs. MNIST and Fashion-MNIST
can be named instead of a folder (``mnist``, ``fashion``: the benchmark's protocol, :mod:`disguisednets.benchmark`).

The key never reaches the report, the runs or the logs: the runs read the key file where it lies and record
its fingerprint.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from disguisednets.attacks.registry import ATTACKS
from disguisednets.folderdata import load_folder
from disguisednets.gridpoint import _THEFT_MECHANISMS
from disguisednets.mechanisms import load_key
from disguisednets.progress import progress
from disguisednets.reporting.audit_report import AttackOutcome, AuditResult, attacks_figure, report_markdown, \
    samples_figure
from disguisednets.runinfo import machine

__all__ = ["AuditPlan", "BUILT_IN", "attacks_for", "collect_audit", "key_overrides", "run_audit", "write_audit"]

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPERIMENT = "audit"

# What a full and a quick audit train and examine with (on top of the CPU trainer's defaults).
FULL = ["model=alexnet_cpu", "trainer.max_epochs=12", "examiner.max_epochs=10"]
QUICK = ["model=alexnet_cpu", "model.width=0.125", "trainer.max_epochs=3", "examiner.max_epochs=2",
         "examiner.max_calibration_loss=100"]
QUICK_TEST_IMAGES = 500
QUICK_ATTACK = {"epochs": 4, "budget_s": 30}   # a quick audit's learned attacks: a first look, not their full training


@dataclass
class AuditPlan:
    folder: Path
    out: Path
    key_path: Path | None = None                         # the owner's key file, or
    settings: list[str] = field(default_factory=list)    # Hydra overrides of mechanism/noise (an experiment key)
    pairs: tuple[int, ...] = (1, 20)
    quick: bool = False
    public_share: float = 0.25                           # of the training images: the attacker's public images
    tracking_uri: str | None = None
    progress: bool = True
    command: str = "disguisednets audit"


def key_overrides(path: Path) -> list[str]:
    """The public settings of a key file as Hydra overrides (mechanism, its settings, noise): the runs then load
    the key itself from ``key.path``."""
    spec = load_key(path).spec
    out = [f"mechanism={spec['mechanism']}", f"mechanism.block_size={spec['block_size']}"]
    for name, value in spec.items():
        if name in ("mechanism", "image_shape", "block_size", "n_classes", "noise", "version") or value is None:
            continue
        out.append(f"++mechanism.{'aes_form' if name == 'form' else name}={value}")
    noise = dict(spec.get("noise") or {"kind": "none"})
    out.append(f"noise={noise.pop('kind')}")
    out += [f"noise.{k}={v}" for k, v in noise.items()]
    return out + [f"key.path={Path(path).resolve()}"]


def attacks_for(mechanism: str, pairs: tuple[int, ...], traits: frozenset[str] | None = None) -> list[tuple[str, int]]:
    """(attack, known pairs) for every registered attack that applies to ``mechanism`` — built for it by name, or
    requiring only ``traits`` (what the scheme is at the setting, declared or measured; None: what it declares):
    level (a) with none, level (b) with each m of ``pairs``."""
    out = []
    for name in ATTACKS.names():
        spec = ATTACKS[name]
        if not spec.applies_to(mechanism, traits):
            continue
        out += [(name, m) for m in pairs] if spec.needs_pairs else [(name, 0)]
    return out


def _compose(overrides: list[str]):
    """The harness's config with ``overrides``; a setting Hydra cannot compose (an unknown scheme or attack, a
    malformed override) is a ValueError in one line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if not CONF.is_dir():
        raise RuntimeError(f"disguisednets audit composes the harness's configs from {CONF}, which is missing: run it "
                           "from a clone of the project (pip install -e .).")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ValueError(" ".join(str(exc).split()).replace(" Available options in", ". Available options in")) from None


def preflight(ds, base: list[str], disguise: list[str], pairs: tuple[int, ...]):
    """Every setting checked before anything trains or is written: the scheme known, its key spec valid for the
    images (block size, each setting), every attack's config composed; and what the scheme is, measured by the
    probe with keys of its own (never the owner's: the key file, if any, gives its public settings alone).
    Returns (the probe, the attacks with their known pairs); raises ValueError in one line."""
    from disguisednets.gridpoint import build_key, check_settings
    from disguisednets.mechanisms.registry import probe_setting

    cfg = _compose([*base, *disguise])
    check_settings(cfg)
    shape = tuple(int(s) for s in ds.train_images.shape[1:])
    if cfg.dataset.get("pad_to"):
        shape = (int(cfg.dataset.pad_to), int(cfg.dataset.pad_to), *shape[2:])
    train = ds.train_images
    key = build_key(cfg, shape, ds.n_classes, (float(train.mean()), float(train.std())))
    probe = probe_setting(key.spec)
    attacks = attacks_for(cfg.mechanism.name, pairs, probe.traits)
    for name, m in attacks:
        _compose([*base, *disguise, f"attack={name}", f"attack.known_pairs={m}"])
    return probe, attacks


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=CONF.parent, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _samples(client, run_id: str) -> dict | None:
    import tempfile

    import numpy as np

    from disguisednets.experiment import SAMPLES

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, SAMPLES, tmp)
        except Exception:   # a run made before the samples were logged
            return None
        with np.load(path) as z:
            return {k: z[k] for k in z.files}


BUILT_IN = ("mnist", "fashion")   # datasets named rather than given as a folder (the benchmark's)


def _data(source: Path):
    """The dataset and the harness overrides that select it: a built-in one by name, else a folder."""
    if str(source) in BUILT_IN and not Path(source).exists():
        import dataclasses
        import hashlib

        from disguisednets.data import load_dataset

        ds = load_dataset(str(source))
        h = hashlib.sha256()
        for a in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
            h.update(np.ascontiguousarray(a).tobytes())
        classes = tuple(str(c) for c in range(ds.n_classes))
        return dataclasses.replace(ds, digest=h.hexdigest(), classes=classes), [f"dataset={source}"]
    return load_folder(source), ["dataset=folder", f"dataset.path={Path(source).resolve()}"]


def run_audit(plan: AuditPlan) -> Path:
    """Run the audit; returns the path of its report."""
    result = collect_audit(plan)
    return write_audit(result, Path(plan.out))


def write_audit(result: AuditResult, out: Path) -> Path:
    """``out``/report.md, samples.png, attacks.png; returns the report's path."""
    report = out / "report.md"
    report.write_text(report_markdown(result))
    for name, fig in (("samples.png", samples_figure(result)), ("attacks.png", attacks_figure(result))):
        fig.savefig(out / name, dpi=120)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return report


def collect_audit(plan: AuditPlan) -> AuditResult:
    """Run the audit's trainings and attacks (MLflow runs in ``plan.out``/runs); returns what they found."""
    from mlflow.tracking import MlflowClient

    from disguisednets.experiment import run
    from disguisednets.tracking import default_uri

    t0 = time.perf_counter()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")   # the audit's own bar is enough
    ds, data = _data(plan.folder)                    # the folder's refusals come before anything runs
    if plan.key_path is not None and plan.settings:
        raise ValueError("Give a key file (--key) or key settings (mechanism=… noise=…), not both.")
    if plan.key_path is None and not any(s.startswith("mechanism=") for s in plan.settings):
        raise ValueError("disguisednets audit needs the disguise to audit: --key owner.key, or settings such as "
                         "mechanism=rmt mechanism.block_size=4 noise=uniform.")
    if not 0 < plan.public_share < 1:
        raise ValueError(f"--public-share must be between 0 and 1; got {plan.public_share}.")
    disguise = key_overrides(plan.key_path) if plan.key_path is not None else list(plan.settings)
    if plan.key_path is not None:          # a key for larger images than the folder's: zero-padded to its size
        side = load_key(plan.key_path).image_shape[0]
        if side != ds.train_images.shape[1]:
            if side < ds.train_images.shape[1]:
                raise ValueError(f"The key file is for {side}×{side} images; {plan.folder} holds "
                                 f"{ds.train_images.shape[1]}×{ds.train_images.shape[2]} images. Make a key for them.")
            disguise.append(f"dataset.pad_to={side}")
    mechanism = next(s.split("=", 1)[1] for s in disguise if s.startswith("mechanism="))
    if mechanism == "none":
        raise ValueError("mechanism=none disguises nothing: give the disguise to audit (e.g. mechanism=rmt).")
    if ds.train_images.shape[1] != ds.train_images.shape[2]:
        raise ValueError(f"{plan.folder}: images of {ds.train_images.shape[1]}×{ds.train_images.shape[2]} pixels; the "
                         "disguises work on square images. Crop or pad them to a square first.")
    n_train = len(ds.train_images)
    val = max(1, round(0.1 * n_train))
    owner = int(round((n_train - val) * (1 - plan.public_share)))
    test = min(len(ds.test_images), QUICK_TEST_IMAGES) if plan.quick else len(ds.test_images)
    sizes = {"owner": owner, "public": n_train - val - owner, "validation": val, "test": test}
    if owner < 10 or sizes["public"] < 1:
        raise ValueError(f"{plan.folder}: {n_train} training images are too few to audit (the owner's sample "
                         f"{owner}, public images {sizes['public']}); add images.")
    out = Path(plan.out)
    store = out / "runs"
    uri = plan.tracking_uri or default_uri(store)
    base = [*data, f"dataset.val_size={val}",
            f"dataset.train_size={owner}", f"dataset.test_size={test}", f"paths.output_dir={store}",
            f"tracking.uri={uri}", f"tracking.experiment={EXPERIMENT}", "tracking.log_model=false",
            "trainer.progress_bar=false", *(QUICK if plan.quick else FULL),
            # small folders: batches small enough for the epochs to take enough steps
            f"trainer.batch_size={_batch(owner)}", f"examiner.batch_size={_batch(n_train - val)}"]
    probe, battery = preflight(ds, base, disguise, tuple(plan.pairs))   # before anything trains or is written
    out.mkdir(parents=True, exist_ok=True)
    steps = [("train", "none", 0), ("train", mechanism, 0)] + [("attack", a, m) for a, m in battery]
    theft = mechanism in _THEFT_MECHANISMS and ds.train_images.ndim == 3   # theft estimates grayscale disguises
    results: dict = {}
    outcomes: list[AttackOutcome] = []
    client = MlflowClient(uri)
    for kind, name, m in progress(steps, "audit", unit="run", enabled=plan.progress,
                                  describe=lambda step: f"{step[0]} {step[1]}" + (f" m={step[2]}" if step[2] else "")):
        if kind == "train" and name == "none":
            results["baseline"] = run(_compose([*base, "mechanism=none", "noise=none"]))
        elif kind == "train":
            extra = ["theft.enabled=true", f"theft.known_pairs=[{','.join(map(str, plan.pairs))}]",
                     "theft.inversion=false"] if theft else []
            results["disguised"] = run(_compose([*base, *disguise, *extra]))
        else:
            spec = ATTACKS[name]
            outcome = AttackOutcome(name, spec.threat, m, spec.summary)
            try:
                cfg = _compose([*base, *disguise, f"attack={name}", f"attack.known_pairs={m}"])
                if "public_size" in cfg.attack:      # every public image the audit set aside
                    cfg.attack.public_size = None
                if plan.quick and "budget_s" in cfg.attack:
                    cfg.attack.update(QUICK_ATTACK)
                metrics = run(cfg)
            except ValueError as e:          # the attack's own reason it does not apply here
                outcome.refused = str(e).split("\n")[0]
            except Exception as e:           # an attack that meets a scheme it was not written for may fail: it got nothing
                outcome.refused = f"failed ({type(e).__name__}): {str(e).splitlines()[0] if str(e) else ''}"
            else:
                outcome.metrics, outcome.run_id = metrics, metrics.get("run_id")
                outcome.samples = _samples(client, outcome.run_id) if outcome.run_id else None
            outcomes.append(outcome)
    outcomes.sort(key=lambda o: o.pairs)      # level (a) first, then by the pairs the attacker knows

    first = client.get_run(results["disguised"]["run_id"]) if results["disguised"].get("run_id") else None
    fingerprint = first.data.tags.get("key_fingerprint", "?") if first else "?"
    setting = first.data.tags.get("setting", "").split(" · ")[-1].removeprefix(f"{ds.name} ") if first else mechanism
    cfg = _compose([*base, *disguise])
    result = AuditResult(
        folder=Path(plan.folder).name, dataset=ds.name, digest=ds.digest, shape=tuple(ds.train_images.shape[1:]),
        classes=ds.classes, sizes=sizes, setting=setting, fingerprint=fingerprint,
        key_source=(f"the key file {Path(plan.key_path).name}" if plan.key_path is not None else
                    "an experiment key drawn from these settings (seed 0): the same settings with your own key "
                    "behave alike"),
        baseline_acc=results["baseline"]["test_acc"], disguised_acc=results["disguised"]["test_acc"],
        pairs=tuple(plan.pairs), attacks=outcomes,
        theft={k: v for k, v in results["disguised"].items() if k.startswith("theft_")},
        theft_note=("" if theft else "Model theft was not measured: it is measured for the block permutation, RMT and "
                    "AES (their disguise is estimated from pairs), on grayscale images."),
        quick=plan.quick,
        scale=(f"AlexNet at width {cfg.model.width}, {cfg.trainer.max_epochs} epochs (the robust examiner "
               f"{cfg.examiner.max_epochs} epochs on the training images)"),
        tracking=f"MLflow experiment `{EXPERIMENT}` in `{uri}` (browse: `mlflow ui --backend-store-uri {uri}`)",
        minutes=(time.perf_counter() - t0) / 60, command=plan.command,
        made=f"disguisednets {_commit()} · {machine()} · {date.today().isoformat()}", mechanism=mechanism,
        probe=probe)
    return result


def _batch(images: int) -> int:
    """256 (the trainer's) from 5,120 images up; fewer below, so that an epoch takes at least 20 steps."""
    return int(min(256, max(16, 2 ** math.floor(math.log2(max(images // 20, 1))))))

