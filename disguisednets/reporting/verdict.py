"""The verdict in a few sentences, for the first screen of the README, read back from results/resistance.md.

``resistance`` writes the table (one row per dataset and setting); this module reads that table back and says
what it finds: whether the paper's two Table II settings hide the images from a cloud with no known pair, which
cheap settings fall, which resist and at what utility cost. The README carries the summary between two markers;
``python -m disguisednets.reporting resistance`` rewrites it with the table, and a test checks that the two agree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from disguisednets.reporting.resistance import LINKAGE_BAR, short_label

__all__ = ["BEGIN", "END", "ResistanceRow", "read_resistance", "readme_with_verdict", "verdict_markdown"]

BEGIN, END = "<!-- verdict: begin -->", "<!-- verdict: end -->"
# The paper's two Table II settings, as resistance.md names them.
PAPER_SETTINGS = {"rmt-b7-orthogonal-matrix uniform-level100": "RMT (7×7 blocks, orthogonal, uniform noise of level 100)",
                  "aes_ecb-b8-unit2 salt_and_pepper-rate0.02": "AES-ECB (8×8 blocks of 2-pixel units, 2% salt-and-pepper)"}
DATASETS = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
CHEAP, AFFORDABLE = 5.0, 10.0   # points of accuracy: "cheap", and the most a "resists" here may cost


@dataclass(frozen=True)
class ResistanceRow:
    """One row of results/resistance.md."""

    dataset: str
    setting: str
    cost: float | None              # utility cost, points
    linkage_verdict: str            # least knowledge at which linkage ≥ 50%, e.g. "level (a) (covariance, 97.9%)"
    success_verdict: str
    best_level_a: float | None      # best level-(a) linkage, %
    best_m20: float | None          # best linkage with up to 20 pairs, %
    tried: str = ""                 # every attack run against it, with its linkage, best first

    @property
    def falls_at_level_a(self) -> bool:
        return self.linkage_verdict.startswith("level (a) (")

    @property
    def resists_m20(self) -> bool:
        """No attack up to 20 pairs links half, and some attack was run with 20 pairs."""
        return self.linkage_verdict == "not within m = 20" and self.best_m20 is not None


def _number(cell: str) -> float | None:
    return None if cell.strip() in ("—", "") else float(cell)


def read_resistance(text: str) -> list[ResistanceRow]:
    """The rows of resistance.md's table (``resistance_markdown``'s output)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or cells[0] in ("dataset", "---"):
            continue
        rows.append(ResistanceRow(cells[0], cells[1], _number(cells[2]), cells[3], cells[4], _number(cells[5]),
                                  _number(cells[6]), cells[7]))
    if not rows:
        raise ValueError("no verdict rows found: is this results/resistance.md as `python -m disguisednets.reporting "
                         "resistance` writes it?")
    return rows


def _count(n: int) -> str:
    return f"{n} is" if n == 1 else f"{n} are"


def _pct(x: float) -> str:
    return f"{x:.1f}%"


def _by_setting(rows: list[ResistanceRow]) -> dict[str, dict[str, ResistanceRow]]:
    out: dict[str, dict[str, ResistanceRow]] = defaultdict(dict)
    for r in rows:
        out[r.setting][r.dataset] = r
    return out


def _per_dataset(by_dataset: dict[str, ResistanceRow], say) -> str:
    return ", ".join(f"{DATASETS.get(d, d)} {say(r)}" for d, r in sorted(by_dataset.items(), key=lambda kv: kv[0] != "mnist"))


def _cost(r: ResistanceRow) -> str:
    return f"{r.cost:.1f} points" if r.cost is not None else "cost not measured"


def _after(r: ResistanceRow) -> str:
    """What breaks a setting that resists level (a): its linkage verdict in words."""
    if r.linkage_verdict == "not within m = 20":
        return "no attack links half up to 20 known pairs" if r.best_m20 is not None else "no attack with pairs was run"
    m = re.match(r"(m = \d+|level \(a\), π given) \((.+), ([\d.]+)%\)", r.linkage_verdict)
    if m is None:
        return r.linkage_verdict
    if not m[1].startswith("m"):
        return f"falls when handed π ({m[2]}, {m[3]}%)"
    pairs = m[1].replace("m = ", "")
    return f"falls with {pairs} known pair{'' if pairs == '1' else 's'} ({m[2]}, {m[3]}%)"


def _level_a_tried(r: ResistanceRow) -> str:
    """The level-(a) attacks of a row's *attacks tried* cell (those with no rung named), as it lists them."""
    return ", ".join(part for part in r.tried.split(", ") if "(" not in part) or "none"


def verdict_markdown(rows: list[ResistanceRow]) -> str:
    """The README's verdict: a few sentences and bullets, every number from ``rows``."""
    settings = _by_setting(rows)
    lines = ["**What the project finds.** *Level (a)* is a cloud that holds the owner's disguised training images "
             "and public images of the same kind, with no known original/disguised pair, and finds the secret block "
             "arrangement itself; *linkage* is the share of test images whose own original is the best match "
             "among all test originals (chance: 0.01%); *utility cost* is the accuracy a disguise costs the "
             "owner's model (points). From [`results/resistance.md`](results/resistance.md):", ""]
    for setting, name in PAPER_SETTINGS.items():
        if setting in settings:
            by = settings[setting]
            fall = all(r.falls_at_level_a for r in by.values())
            lines.append(f"- **The paper's {name.split(' (')[0]}** {name[name.index('('):]} "
                         f"{'does not hide the images from a cloud with no pairs' if fall else 'resists a cloud with no pairs on some dataset'}: "
                         + _per_dataset(by, lambda r: f"{_pct(r.best_level_a)} re-identified at level (a) for {_cost(r)}"
                                        if r.best_level_a is not None else "not attacked at level (a)") + ".")
    cheap = [r for r in rows if r.cost is not None and r.cost < CHEAP and r.setting not in PAPER_SETTINGS]
    fell = _by_setting([r for r in cheap if r.falls_at_level_a])
    if fell:
        lines.append(f"- **Cheap disguises fall with no pairs.** Of the {len(cheap)} other settings that cost under "
                     f"{CHEAP:g} points (per dataset), {_count(sum(len(v) for v in fell.values()))} re-identified "
                     f"≥ {LINKAGE_BAR:g}% at level (a): "
                     + "; ".join(f"{short_label(s)} ({_per_dataset(by, lambda r: _pct(r.best_level_a))})"
                                 for s, by in sorted(fell.items(), key=lambda kv: -max(r.best_level_a for r in kv[1].values())))
                     + ".")
    held = sorted((r for r in rows if r.cost is not None and r.cost < AFFORDABLE and not r.falls_at_level_a
                   and r.best_level_a is not None), key=lambda r: r.cost)
    if held:
        lines.append(f"- **What resists a cloud with no pairs for under {AFFORDABLE:g} points**: "
                     + "; ".join(f"{short_label(r.setting)} on {DATASETS.get(r.dataset, r.dataset)} ({_cost(r)}, "
                                 f"level-(a) linkage {_pct(r.best_level_a)}"
                                 + (f", though the examiner recognises the class of its reconstructions "
                                    f"({r.success_verdict.rsplit(', ', 1)[1].rstrip(')')} success)"
                                    if r.success_verdict.startswith("level (a) (") else "")
                                 + f"; {_after(r)}; level-(a) attacks tried: {_level_a_tried(r)})" for r in held) + ".")
    dear = [r for r in rows if r.cost is not None and r.cost >= AFFORDABLE and not r.falls_at_level_a]
    if dear:
        schemes = sorted({short_label(r.setting.split("-")[0]) for r in dear})
        lines.append(f"- **Everything else that resists a cloud with no pairs costs {min(r.cost for r in dear):.1f} "
                     f"to {max(r.cost for r in dear):.1f} points** ({len(dear)} settings: {', '.join(schemes)}).")
    strong = sorted((r for r in rows if r.resists_m20), key=lambda r: (r.cost is None, r.cost or 0))
    if strong:
        lines.append("- **What resists up to 20 known pairs** costs the most: "
                     + "; ".join(f"{short_label(r.setting)} on {DATASETS.get(r.dataset, r.dataset)} ({_cost(r)}, "
                                 f"best linkage {_pct(r.best_m20)})" for r in strong) + ".")
    lines += ["", "A verdict is only as strong as the attacks run against it: `resistance.md` lists, per setting, every "
              "attack run against it with its linkage and the experiments they come from, and [`results/README.md`](results/README.md) says what each "
              "result shows and how to re-make it.", "",
              "![Privacy–utility frontier: linkage at level (a) against utility cost, every setting]"
              "(results/frontier.png)"]
    return "\n".join(lines)


def readme_with_verdict(readme: str, verdict: str) -> str:
    """``readme`` with the text between the verdict markers replaced by ``verdict``."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"README.md lacks the verdict markers {BEGIN} … {END}")
    head, rest = readme.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{verdict}\n{END}{rest.split(END, 1)[1]}"
