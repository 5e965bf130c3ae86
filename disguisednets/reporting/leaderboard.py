"""The leaderboard: one row per benchmark verdict (``results/verdicts/*.json``, docs/benchmark.md), every scheme
at its published or Table II setting, sorted by the best level-(a) linkage within bands of equal utility cost."""

from __future__ import annotations

import json
from pathlib import Path

from disguisednets.mechanisms.registry import traits_of
from disguisednets.reporting.verdict_schema import validate_verdict

__all__ = ["COST_BANDS", "leaderboard_figure", "leaderboard_markdown", "read_verdicts"]

COST_BANDS = ((0.0, 5.0), (5.0, 15.0), (15.0, float("inf")))   # utility cost, points: schemes compared within a band


def read_verdicts(directory: str | Path) -> list[dict]:
    """Every ``*.json`` verdict in ``directory``, each checked against the schema (a ValueError names the file
    and what does not match)."""
    out = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        problems = validate_verdict(document)
        if problems:
            raise ValueError(f"{path} does not match the verdict schema: {'; '.join(problems)}")
        out.append({**document, "_file": path.name})
    return out


def _level_a(verdict: dict) -> float:
    rung = next((r for r in verdict["rungs"] if r["pairs"] == 0), None)
    return float("inf") if rung is None or rung["linkage"] is None else rung["linkage"]


def _band(cost: float) -> int:
    return next(i for i, (lo, hi) in enumerate(COST_BANDS) if lo <= max(cost, 0.0) < hi)


def _order(verdicts: list[dict]) -> list[dict]:
    return sorted(verdicts, key=lambda v: (_band(v["utility"]["cost"]), _level_a(v), v["utility"]["cost"]))


def _traits(v: dict) -> frozenset[str]:
    """What the verdict's scheme is: declared or measured (schema 2), else what its registered class declares."""
    scheme = v.get("scheme")
    if scheme is None:
        return traits_of(v["setting"]["mechanism"])
    return frozenset(t for t, x in scheme["traits"].items() if x["declared"] or x["measured"])


def _beyond(v: dict) -> str:
    scheme = v.get("scheme")
    if scheme is None:
        return "not probed"
    return ", ".join(t for t, x in scheme["traits"].items() if x["measured"] and not x["declared"]) or "—"


def leaderboard_markdown(verdicts: list[dict], command: str) -> str:
    fmt = lambda x: "—" if x is None else f"{x:.1f}"  # noqa: E731
    lines = ["# Leaderboard: image disguising schemes under the standard battery", "",
             f"Made by `{command}` from {len(verdicts)} benchmark verdicts (`results/verdicts/*.json`, "
             "docs/benchmark.md). Each row is one scheme at one setting, run through every attack that applies to it "
             "at level (a) (no pairs, the arrangement found by the attacker) and with 1, 5 and 20 known pairs. Rows "
             "are sorted by utility-cost band (under 5, 5–15, over 15 points), then by the best level-(a) linkage "
             "(lower: harder to re-identify). Linkage (the reconstruction's nearest original test image is its own) "
             "and success (the examiner names the original's class, relative to the originals) in %; every number is "
             "a floor on what an attacker gets (the best of the attacks run).", "",
             "a floor on what an attacker gets (the best of the attacks run). *Measured beyond declared*: the traits the "
             "battery's probe measured in the scheme that it does not declare (their attacks ran too; docs/benchmark.md "
             "\"What a scheme is\").", "",
             "| scheme | setting | dataset | utility cost | level (a): best attack | linkage | success | m = 1 | m = 5 "
             "| m = 20 | measured beyond declared | battery | run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    mixed = False
    for v in _order(verdicts):
        rungs = {r["pairs"]: r for r in v["rungs"]}
        a = rungs.get(0, {})
        mark = "†" if "mixes_images" in _traits(v) else ""
        mixed = mixed or bool(mark)
        lines.append(f"| {v['setting']['mechanism']} | {v['setting']['description']} | {v['data']['dataset']} | "
                     f"{v['utility']['cost']:.1f} | {a.get('best_attack') or 'none applies'} | "
                     f"{fmt(a.get('linkage'))}{mark} | {fmt(a.get('success'))} | "
                     + " | ".join(fmt(rungs.get(m, {}).get("linkage")) + mark for m in (1, 5, 20))
                     + f" | {_beyond(v)} | {v['battery_version']} | {'quick' if v['quick'] else 'full'}, {v['commit']} |")
    if mixed:
        lines += ["", "† A scheme whose outputs mix several private images (InstaHide): a reconstruction counts as "
                  "linked when it matches any of the images mixed into its encoding — a private image revealed, if "
                  "not always the encoding's own — while success asks the examiner for the encoding's own class."]
    return "\n".join(lines) + "\n"


def leaderboard_figure(verdicts: list[dict]):
    """Utility cost against the best level-(a) linkage, one labelled point per verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    markers = "osD^vP*Xh<>p"
    for i, v in enumerate(_order(verdicts)):
        x, y = v["utility"]["cost"], _level_a(v)
        if y == float("inf"):
            continue
        ax.scatter(x, y, s=40, marker=markers[i % len(markers)],
                   label=f"{v['setting']['description']} ({v['data']['dataset']}{', quick' if v['quick'] else ''})")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel("utility cost (points of test accuracy)")
    ax.set_ylabel("best level-(a) linkage (%)")
    ax.set_ylim(-3, 103)
    ax.axhline(50, color="grey", lw=0.6, ls="--")
    ax.set_title("The standard battery: level-(a) linkage against utility cost", fontsize=10)
    fig.tight_layout()
    return fig
