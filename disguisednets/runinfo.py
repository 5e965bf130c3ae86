"""What identifies and describes a run, without MLflow: the code version, the machine, the digest of
the settings that determine its result, its params, and its names (docs/method.md §3)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

__all__ = ["CODE_PATHS", "code_version", "config_digest", "disguise_name", "flat_params", "git_commit", "machine", "run_name",
           "setting_name", "task_name"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Settings that do not change a run's result: where it is written, how it is shown, the sweep's fold list.
_NOT_RESULT = ("hydra", "paths", "tracking", "resume")
_NOT_RESULT_TRAINER = ("progress_bar", "num_threads")


# What counts as the code of a run: an edit elsewhere (results/, README) is not a new code version,
# so that the report writing results/ — or committing it — does not stop the next sweep from resuming.
CODE_PATHS = ("disguisednets", "conf", "experiments", "pyproject.toml")


@functools.cache
def git_commit() -> str:
    """The code version: the commit, plus ``-dirty-<hash of the diff>`` for uncommitted changes to
    the code and configs (``CODE_PATHS``), tracked or new and not ignored (so two different dirty
    trees never count as the same code). Read once per
    process: the code a process runs is what it imported, even if the tree changes mid-sweep."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", *CODE_PATHS], cwd=PROJECT_ROOT, capture_output=True,
                              timeout=30, check=True).stdout
        untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z", "--", *CODE_PATHS],
                                   cwd=PROJECT_ROOT, capture_output=True, timeout=30, check=True).stdout
        for name in sorted(n for n in untracked.decode().split("\0") if n):  # new code files count too
            diff += name.encode() + (PROJECT_ROOT / name).read_bytes()
        return sha + (f"-dirty-{hashlib.sha256(diff).hexdigest()[:8]}" if diff.strip() else "")
    except (OSError, subprocess.SubprocessError):
        from disguisednets import __version__

        return f"unknown-{__version__}"


@functools.cache
def code_version(commit: str) -> str:
    """What a run's ``git_commit`` says about its code: the git tree ids of ``CODE_PATHS`` at that
    commit, plus its ``-dirty-…`` part. Two commits that differ only outside the code (a results or
    README commit) give the same version, so a run made before such a commit still counts as a run
    of the current code. A commit this repository lacks (or no git) is its own version."""
    sha, sep, dirty = commit.partition("-dirty-")
    if not sha:
        return commit
    try:
        trees = subprocess.run(["git", "rev-parse", *(f"{sha}:{p}" for p in CODE_PATHS)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return commit
    ids = trees.stdout.split()
    if trees.returncode != 0 or len(ids) != len(CODE_PATHS):
        return commit
    return "code-" + hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16] + sep + dirty


@functools.cache
def machine() -> str:
    """A short description of the machine a run used: CPU model and cores, and the GPU if any."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores"
    import torch

    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def config_digest(cfg: DictConfig) -> str:
    """A short SHA-256 of the settings that determine a run's result: the resolved config without
    output paths, tracking, display settings and the sweep's fold list (``scale.folds``)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for k in _NOT_RESULT:
        container.pop(k, None)
    if (container.get("attack") or {}).get("name", "none") == "none":
        container.pop("examiner", None)  # a training run uses no examiner
    for k in _NOT_RESULT_TRAINER:
        container.get("trainer", {}).pop(k, None)
    if isinstance(container.get("scale"), dict):
        container["scale"].pop("folds", None)
    return hashlib.sha256(json.dumps(container, sort_keys=True, default=str).encode()).hexdigest()[:16]


# Config groups that a run of each kind does not use: not logged as its params.
_UNUSED_BY = {"train": ("attack", "examiner"), "attack": ()}


def flat_params(cfg: DictConfig, kind: str = "train") -> dict[str, str]:
    """The resolved config as dotted params, without what does not describe the run's setting (Hydra,
    output paths, tracking, resume), groups the run's kind does not use, and unset (null) values."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for k in (*_NOT_RESULT, *_UNUSED_BY[kind]):
        container.pop(k, None)
    for k in _NOT_RESULT_TRAINER:   # display settings
        container.get("trainer", {}).pop(k, None)
    if isinstance(container.get("scale"), dict):
        container["scale"].pop("folds", None)  # the sweep's fold list; the run's fold is `fold`
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif node is not None:
            out[prefix] = str(node)[:6000]

    walk("", container)
    return out


def _noise_name(noise) -> str:
    if noise.kind == "none":
        return ""
    return f"{noise.kind}-level{noise.level:g}" if noise.kind == "uniform" else f"{noise.kind}-rate{noise.rate:g}"


def disguise_name(cfg: DictConfig) -> str:
    """The dataset and disguise of a run: 'mnist rmt-b7-orthogonal-matrix uniform-level100'."""
    mech = cfg.mechanism
    parts = [mech.name]
    if mech.name != "none":
        parts.append(f"b{mech.block_size}")
        parts += [str(mech[k]) for k in ("kind", "mode") if k in mech]
        if "unit" in mech:
            parts.append(f"unit{mech.unit}")
        if mech.get("aes_form") == "literal":
            parts.append(f"literal-{mech.filter}")
        if mech.get("iv") == "random":
            parts.append("random-iv")
        if mech.name == "dp_pixelization":
            parts.append(f"eps{mech.epsilon:g}" if mech.epsilon is not None else "eps-inf")
        if mech.get("fresh_encodings") is False:
            parts.append("one-set")
    return " ".join(p for p in (dataset_label(cfg), "-".join(parts), _noise_name(cfg.noise)) if p)


def dataset_label(cfg: DictConfig) -> str:
    """The dataset's name in run names and tags: 'mnist', or a folder's '<name>-<content digest[:8]>'."""
    if cfg.dataset.name != "folder":
        return str(cfg.dataset.name)
    from disguisednets.folderdata import dataset_id

    return dataset_id(cfg.dataset)


def task_name(cfg: DictConfig) -> str:
    """What the run does: 'train', or the attack with its variant and known pairs ('regression-forward m=20',
    'covariance-pi-given m=0')."""
    attack = cfg.get("attack")
    if attack is None or attack.name == "none":
        model = cfg.get("model")
        return "train" if model is None or model.name == "alexnet" else f"train-{model.name}-w{model.width:g}"
    parts = [attack.name]
    if attack.get("regression_form", "inverse") != "inverse":
        parts.append(attack.regression_form)
    if attack.get("miss_fill", "mode") != "mode":
        parts.append(f"fill-{attack.miss_fill}")
    if attack.get("cleanup", True) is False:
        parts.append("raw")
    if attack.get("knows_permutation", False):   # handed the true π: the upper bound, not the attack as the cloud runs it
        parts.append("pi-given")
    m = attack.get("known_pairs")
    return "-".join(parts) + f" m={'all' if m is None else m}"


def setting_name(cfg: DictConfig) -> str:
    """A run's grid point without its fold (the ``setting`` tag): task first, then data and disguise."""
    return f"{task_name(cfg)} · {disguise_name(cfg)}"


def run_name(cfg: DictConfig) -> str:
    """The part that differs between runs of one experiment first: task and fold, then the rest."""
    return f"{task_name(cfg)} · fold{cfg.fold} · {disguise_name(cfg)}"
