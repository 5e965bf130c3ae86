"""The report of ``disguisednets audit`` (docs/method.md §7): what a disguise setting costs a data owner in
accuracy on her own images and what each kind of attacker gets back — a verdict in plain words per threat
level, the numbers behind it, and two figures. Pure: results in, text and figures out (no runs, no files).

The report names the key only by its fingerprint; it holds no key material and is safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AttackOutcome", "AuditResult", "LINKAGE_EXPOSED", "LINKAGE_HIDDEN", "attacks_figure", "examiner_acc",
           "examiner_reliable", "linkage", "report_markdown", "samples_figure", "verdicts"]

LINKAGE_EXPOSED = 50.0   # % of test images re-identified: the setting does not hide them
LINKAGE_HIDDEN = 10.0    # below this (and reconstructions not telling the class) the setting hides them
CLASS_SHOWN = 50.0       # robust success: the reconstructions show their class to a person this often


@dataclass
class AttackOutcome:
    """One attack run of an audit: its metrics, or why it could not run on these images."""

    attack: str
    threat: str                      # 'a' | 'b'
    pairs: int
    summary: str = ""
    metrics: dict | None = None
    refused: str | None = None       # the attack's own message when it does not apply
    run_id: str | None = None
    samples: dict | None = None      # originals, disguised, reconstructed (uint8), labels: the first test images

    @property
    def label(self) -> str:
        return self.attack + (f", m = {self.pairs}" if self.pairs else "")


@dataclass
class AuditResult:
    folder: str
    dataset: str                     # <folder>-<digest[:8]>
    digest: str
    shape: tuple[int, ...]
    classes: tuple[str, ...]
    sizes: dict[str, int]            # owner, public, validation, test
    setting: str                     # the public settings, in words
    fingerprint: str
    key_source: str                  # "key file <name>" | "an experiment key drawn from the settings"
    baseline_acc: float
    disguised_acc: float
    pairs: tuple[int, ...]
    attacks: list[AttackOutcome] = field(default_factory=list)
    theft: dict[str, float] = field(default_factory=dict)
    theft_note: str = ""             # why theft was not measured, where it was not
    quick: bool = False
    scale: str = ""                  # what the trainings were (network, epochs)
    tracking: str = ""               # where the runs are (store and experiment)
    minutes: float = 0.0
    command: str = ""
    made: str = ""                   # code version, machine, date
    mechanism: str = ""              # the scheme's registered name
    probe: Any = None                # what the scheme is, measured (mechanisms.probe.Probe)


def linkage(metrics: dict[str, float]) -> float | None:
    """An attack run's linkage (%): to any image mixed into the encoding where the scheme mixes images
    (``linkage_rate_any``), else to the image's own original."""
    return metrics.get("linkage_rate_any", metrics.get("linkage_rate"))


def _best(outcomes: list[AttackOutcome]) -> AttackOutcome | None:
    ran = [o for o in outcomes if o.metrics is not None]
    return max(ran, key=lambda o: (linkage(o.metrics), o.metrics["success_rate"])) if ran else None


def examiner_acc(result: AuditResult) -> float | None:
    """The robust examiner's accuracy (%) on the original test images (the ruler of every success rate)."""
    return next((o.metrics["examiner_acc_original"] for o in result.attacks if o.metrics is not None), None)


def examiner_reliable(result: AuditResult) -> bool:
    """The examiner tells the classes apart well enough for success to mean what a person would see: at least
    50% and twice chance on the originals."""
    acc = examiner_acc(result)
    return acc is not None and acc >= max(50.0, 200.0 / max(len(result.classes), 1))


def verdicts(result: AuditResult) -> list[tuple[str, AttackOutcome | None, str]]:
    """(threat level, its best attack, the verdict in words) for level (a) and each number of known pairs.
    A cloud with pairs still holds its public images: its best is over the level-(a) attacks as well."""
    level_a = [o for o in result.attacks if o.pairs == 0]
    rows = [("level (a): no known pairs", _best(level_a), "A cloud with public images like yours and no pairs")]
    for m in result.pairs:
        pairs = "pair" if m == 1 else "pairs"
        rows.append((f"level (b): m = {m} known {pairs}", _best(level_a + [o for o in result.attacks if o.pairs == m]),
                     f"A cloud that also knows {m} of your images and their disguised forms"))
    out = []
    for level, best, who in rows:
        if best is None:
            out.append((level, None, f"{who}: no attack applies to this setting on these images (see the refusals "
                                     "below), so nothing was measured; this is not a verdict that it hides them."))
            continue
        link, success = linkage(best.metrics), best.metrics["success_rate"]
        if not examiner_reliable(result):      # success would mean nothing: judge by linkage alone
            success = 0.0
        what = f"{best.attack} attack" + (f" with {best.pairs} pair{'s' * (best.pairs != 1)}" if best.pairs else "")
        if link >= LINKAGE_EXPOSED:
            seen = (f"; a person would name the class of {min(success, 100):.0f}% of the reconstructions relative to the "
                    "originals" if examiner_reliable(result) else "")
            words = f"{who} re-identifies {link:.0f}% of your test images ({what}{seen}): this setting does not hide them."
        elif link >= LINKAGE_HIDDEN:
            words = (f"{who} re-identifies {link:.0f}% of your test images ({what}): this setting hides most of them, "
                     "not all.")
        elif success >= CLASS_SHOWN:
            words = (f"{who} re-identifies only {link:.1f}% of your test images, but its reconstructions show their "
                     f"class ({success:.0f}% success, {what}): it hides who, not what.")
        else:
            words = (f"{who} re-identifies {link:.1f}% of your test images at best ({what}): this setting hides them "
                     "from every attack run here (a stronger attack may do better).")
        out.append((level, best, words))
    return out


def _theft_lines(result: AuditResult) -> list[str]:
    t = result.theft
    if not t:
        return [result.theft_note or "Model theft was not measured."]
    lines = []
    if "theft_direct" in t:
        lines.append(f"- A thief of the trained model who feeds it plain images gets {t['theft_direct']:.0f}% of its "
                     "accuracy (its classes relabelled as well as they can be).")
    if "theft_level_a" in t:
        lines.append(f"- Disguising plain images with the disguise estimated from public images alone: "
                     f"{t['theft_level_a']:.0f}%.")
    for m in result.pairs:
        if f"theft_m{m}" in t:
            lines.append(f"- With the disguise estimated from {m} known pair{'s' * (m != 1)}: {t[f'theft_m{m}']:.0f}%.")
    if "theft_true_disguise" in t:
        lines.append(f"- With the true disguise (the key itself: the upper bound): {t['theft_true_disguise']:.0f}%.")
    return lines + ["", "(Theft success: the stolen use's accuracy on the test images relative to the owner's, in %.)"]


def _probe_lines(probe) -> list[str]:
    """What the scheme is, measured: the traits the battery followed, declared and measured, and every mismatch."""
    if probe is None:
        return []
    lines = ["## What the scheme is (measured)", "",
             f"The battery measured the scheme with keys of its own (never yours) in {probe.seconds:.1f} s, and ran the "
             "attacks of every trait it declares or was measured to have — a declaration only adds attacks.", "",
             "| trait | declared | measured | evidence |", "|---|---|---|---|"]
    yes = lambda b: "yes" if b else "—"  # noqa: E731
    lines += [f"| {t} | {yes(t in probe.declared)} | {yes(t in probe.measured)} | {e} |" for t, e in probe.evidence.items()]
    geometry = [f"block size {probe.block_size}" if probe.block_size else "no block structure",
                f"an output pixel depends on {probe.support} input pixel(s) of its block" if probe.support else None,
                f"linear map: {probe.mode}, {probe.kind}" if probe.mode else None,
                f"equal units of {probe.unit} pixel(s)" if probe.unit else None, f"randomness: {probe.noise}"]
    lines += ["", "Measured geometry: " + "; ".join(g for g in geometry if g) + "."]
    mismatches = probe.mismatches()
    lines += ["", "**Declared and measured differ**:" if mismatches else "Declared and measured traits agree.", ""]
    lines += [f"- The scheme {m}." for m in mismatches] + ([""] if mismatches else [])
    return lines


def report_markdown(result: AuditResult) -> str:
    cost = result.baseline_acc - result.disguised_acc
    h, w = result.shape[:2]
    kind = "RGB" if len(result.shape) == 3 else "grayscale"
    lines = [f"# Disguise audit: {result.folder}", "",
             f"> Made by `{result.command}` · {result.made} · {result.minutes:.1f} min", ""]
    if result.quick:
        lines += ["> **Quick audit** (`--quick`): a smaller network, fewer epochs, a smaller examiner and fewer test "
                  "images, for a first look in minutes. Its accuracies are lower than a full audit's and its rates "
                  "noisier; run without `--quick` before you rely on them.", ""]
    lines += ["## Verdict", ""]
    for level, _, words in verdicts(result):
        lines.append(f"- **{level}.** {words}")
    lines += [f"- **Utility.** Training on the disguised images costs {cost:.1f} points of test accuracy "
              f"({result.baseline_acc:.1f}% on the originals → {result.disguised_acc:.1f}% disguised).", "",
              *([f"- **Too little to learn from.** The network on the originals is near chance ({result.baseline_acc:.0f}%, "
                 f"chance {100 / max(len(result.classes), 1):.0f}%): the utility cost means nothing here. Give it more "
                 "images or epochs (a full audit trains longer than --quick)."]
                if result.baseline_acc < 1.5 * 100 / max(len(result.classes), 1) else []), "",
              "### Model theft", "", *_theft_lines(result), "",
              "## What was audited", "",
              f"- **Images**: `{result.folder}` — {sum(result.sizes.values())} images, {h}×{w} {kind}, "
              f"{len(result.classes)} classes ({', '.join(result.classes[:12])}{', …' if len(result.classes) > 12 else ''}); "
              f"content digest SHA-256 `{result.digest[:16]}…` (dataset `{result.dataset}`).",
              f"- **Split**: {result.sizes['owner']} training images are the owner's (disguised and sent to the cloud), "
              f"{result.sizes['public']} more stand in for the attacker's public images like yours (level (a)), "
              f"{result.sizes['validation']} validate, {result.sizes['test']} test images are attacked and scored.",
              f"- **Setting**: {result.setting}; key: {result.key_source}, fingerprint `{result.fingerprint}` "
              "(the key itself is in no file of this report).",
              f"- **Training**: {result.scale}.", f"- **Runs**: {result.tracking}.", "",
              *_probe_lines(result.probe),
              "## Attacks", "",
              "| attack | threat level | known pairs | success (%) | linkage (%) | SSIM | what it does |",
              "|---|---|---|---|---|---|---|"]
    for o in result.attacks:
        if o.metrics is None:
            continue
        m = o.metrics
        link = f"{m['linkage_rate']:.1f}" + (f" (any mixed image: {m['linkage_rate_any']:.1f})"
                                             if "linkage_rate_any" in m else "")
        lines.append(f"| {o.attack} | ({o.threat}) | {o.pairs} | {m['success_rate']:.1f} | {link} | {m['ssim']:.2f} | "
                     f"{o.summary} |")
    acc = examiner_acc(result)
    if acc is not None:
        lines += ["", f"The robust examiner (success's ruler) names the class of {acc:.1f}% of the original test images "
                  f"(chance: {100 / max(len(result.classes), 1):.0f}%)."
                  + ("" if examiner_reliable(result) else " That is too weak for success to say what a person would "
                     "see: the verdicts above read linkage alone. A full audit (no --quick) or more images train a "
                     "better one.")]
    refused = [o for o in result.attacks if o.metrics is None]
    if refused:
        lines += ["", "Attacks that do not apply here:", ""]
        lines += [f"- {o.label}: {o.refused}" for o in refused]
    lines += ["", "![What the cloud sees and what each threat level gets back](samples.png)", "",
              "![Success and linkage per attack](attacks.png)", "",
              "## How to read this", "",
              "*Linkage*: the share of test images whose reconstruction is closer (by correlation) to its own original "
              "than to every other test original — the attacker can tell which of your images it is. *Success*: how "
              "often a robust classifier of your original images (trained on the folder's own training images) names "
              "the right class of a reconstruction, relative to how often it does on the originals — what a person "
              "looking at it would recognise. *SSIM*: structural similarity to the original (1 is identical). "
              f"A level is judged by its best attack: linkage ≥ {LINKAGE_EXPOSED:.0f}% does not hide the images, "
              f"below {LINKAGE_HIDDEN:.0f}% hides them from the attacks run (a verdict is only as strong as the attacks "
              "that were run). Level (a) attackers find the block arrangement themselves; none is handed a secret. "
              "Every number is one run on one split (the test images are a sample): expect a few points of spread.", ""]
    return "\n".join(lines)


def _show(ax, image: np.ndarray) -> None:
    ax.imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def samples_figure(result: AuditResult, per_row: int = 8):
    """Rows: originals, what the cloud sees, the best reconstruction at each threat level (one image per class
    first, then the next ones)."""
    import matplotlib.pyplot as plt

    rows = [(level, best) for level, best, _ in verdicts(result) if best is not None and best.samples is not None]
    base = next((o.samples for o in result.attacks if o.samples is not None), None)
    if base is None:
        fig, ax = plt.subplots(figsize=(6, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no attack ran: nothing to show", ha="center", va="center")
        return fig
    labels = base["labels"]
    first = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:per_row]
    picks = (first + [i for i in range(len(labels)) if i not in first])[:per_row]
    grid = [("original", base["originals"]), ("disguised (what the cloud holds)", base["disguised"])]
    grid += [(f"{level.split(': ')[-1] if level.startswith('level (b)') else 'level (a)'}: best is {best.label}",
              best.samples["reconstructed"]) for level, best in rows]
    fig, axes = plt.subplots(len(grid), len(picks), figsize=(1.1 * len(picks) + 1.6, 1.2 * len(grid) + 0.4),
                             squeeze=False)
    for r, (name, images) in enumerate(grid):
        for c, i in enumerate(picks):
            _show(axes[r, c], images[i])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"{result.folder}: {result.setting}", fontsize=9)
    fig.tight_layout()
    return fig


def attacks_figure(result: AuditResult):
    """Success and linkage per attack run (horizontal bars), the verdict bar at 50% linkage."""
    import matplotlib.pyplot as plt

    ran = [o for o in result.attacks if o.metrics is not None]
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(ran), 1) + 1.2))
    y = np.arange(len(ran))
    ax.barh(y - 0.2, [linkage(o.metrics) for o in ran], 0.4, label="linkage", color="tab:red")
    ax.barh(y + 0.2, [o.metrics["success_rate"] for o in ran], 0.4, label="success", color="tab:blue")
    ax.set_yticks(y, [f"{o.label} ({o.threat})" for o in ran], fontsize=8)
    ax.axvline(LINKAGE_EXPOSED, color="k", lw=0.8, ls="--")
    ax.set_xlim(0, 105)
    ax.set_xlabel("% of test images")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"What each attack gets back — {result.setting}", fontsize=9)
    fig.tight_layout()
    return fig
