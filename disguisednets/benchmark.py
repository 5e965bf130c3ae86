"""``disguisednets benchmark``: one scheme at one setting through the whole battery, with a verdict a paper can
cite (docs/benchmark.md).

A scheme and its settings (or a key file) and a dataset (``mnist``, ``fashion`` or a folder) in; out, in
``<out>/``: ``verdict.json`` (the versioned schema :data:`VERDICT_SCHEMA`), ``verdict.md`` and the audit's
``report.md`` with its figures. The protocol is the audit's (:mod:`disguisednets.audit`): a quarter of the
training images stand in for the attacker's public images, the rest are the owner's; two trainings give the
utility cost; every attack that applies to the scheme — by the traits it declares or built for it by name —
runs at each rung of the ladder (level (a): no pairs, the arrangement found by the attacker; m = 1, 5, 20 known
pairs), and model theft where it is defined. Every number is a floor on what an attacker gets: the best of the
attacks that were run, not of every attack there is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from disguisednets import __version__
from disguisednets.audit import AuditPlan, collect_audit, write_audit
from disguisednets.reporting.audit_report import AuditResult, linkage, verdicts
from disguisednets.reporting.verdict_schema import SCHEMA_VERSION, VERDICT_SCHEMA, validate_verdict

__all__ = ["BATTERY_VERSION", "SCHEMA_VERSION", "VERDICT_SCHEMA", "run_benchmark", "validate_verdict",
           "verdict_document", "verdict_markdown"]

BATTERY_VERSION = 3     # raised whenever an attack joins or leaves the battery, or an attack's protocol changes
# (2: π estimated for any block scheme by its declared traits; attacks may bring their own stages;
#  3: attacks chosen by the traits declared or measured by the probe, their geometry from the measurement)


def _round(x) -> float | None:
    return None if x is None else round(float(x), 2)


def _scores(metrics: dict[str, float] | None) -> dict[str, float | None]:
    """An attack run's linkage, success and SSIM as the verdict gives them (None: the attack did not run)."""
    m = metrics or {}
    return {"linkage": _round(linkage(m)), "success": _round(m.get("success_rate")), "ssim": _round(m.get("ssim"))}


def verdict_document(result: AuditResult) -> dict[str, Any]:
    """The benchmark's verdict as :data:`VERDICT_SCHEMA` has it (no key material: the key's fingerprint only)."""
    commit, _, rest = result.made.partition(" · ")
    rungs = [{"rung": level, "pairs": pairs, "best_attack": best.attack if best is not None else None,
              **_scores(best.metrics if best is not None else None), "verdict": words}
             for (level, best, words), pairs in zip(verdicts(result), (0, *result.pairs))]
    attacks = [{"attack": o.attack, "threat": o.threat, "pairs": o.pairs, **_scores(o.metrics), "refused": o.refused}
               for o in result.attacks]
    return {
        "schema": "disguisednets-verdict", "schema_version": SCHEMA_VERSION, "battery_version": BATTERY_VERSION,
        "package_version": __version__, "commit": commit.removeprefix("disguisednets "), "made": rest,
        "quick": result.quick,
        "setting": {"mechanism": result.mechanism, "description": result.setting, "key_fingerprint": result.fingerprint,
                    "key_source": result.key_source},
        "scheme": result.probe.as_dict(),
        "data": {"dataset": result.dataset, "digest": result.digest, "image_shape": list(result.shape),
                 "sizes": dict(result.sizes)},
        "scale": result.scale,
        "utility": {"baseline_accuracy": round(result.baseline_acc, 2), "disguised_accuracy": round(result.disguised_acc, 2),
                    "cost": round(result.baseline_acc - result.disguised_acc, 2)},
        "rungs": rungs, "attacks": attacks,
        "theft": {k: _round(v) for k, v in result.theft.items()},
        "floor": "Every number is a floor on what an attacker gets: the best of the attacks that were run (battery "
                 f"version {BATTERY_VERSION}), not of every attack there is.",
        "minutes": round(result.minutes, 1),
    }


def verdict_markdown(document: dict[str, Any]) -> str:
    """verdict.md: the verdict in a few lines a paper can quote, from the verdict document."""
    s, u = document["setting"], document["utility"]
    lines = [f"# Benchmark verdict: {s['mechanism']} ({s['description']}) on {document['data']['dataset']}", "",
             f"DisguisedNets {document['package_version']} (commit {document['commit']}), battery version "
             f"{document['battery_version']}, verdict schema {document['schema_version']}"
             + (" — **quick run**: a smaller network, fewer epochs and test images" if document["quick"] else "")
             + f"; {document['made']}.", "",
             f"**Utility cost**: {u['cost']:.1f} points ({u['baseline_accuracy']:.1f}% in the clear, "
             f"{u['disguised_accuracy']:.1f}% disguised; {document['scale']}).", "",
             "| rung | best attack | linkage (%) | success (%) | SSIM |", "|---|---|---|---|---|"]
    fmt = lambda x, d=1: "—" if x is None else f"{x:.{d}f}"  # noqa: E731
    for r in document["rungs"]:
        lines.append(f"| {r['rung']} | {r['best_attack'] or 'none applies'} | {fmt(r['linkage'])} | "
                     f"{fmt(r['success'])} | {fmt(r['ssim'], 2)} |")
    scheme = document["scheme"]
    declared = sorted(t for t, v in scheme["traits"].items() if v["declared"])
    measured = sorted(t for t, v in scheme["traits"].items() if v["measured"])
    lines += ["", f"**What the scheme is**: declared {', '.join(declared) or 'nothing'}; measured by the probe (keys of "
              f"its own, {scheme['seconds']:.1f} s) {', '.join(measured) or 'nothing'}. The battery ran the attacks of "
              "both."]
    lines += [f"- Mismatch: the scheme {m}." for m in scheme["mismatches"]]
    lines += ["", document["floor"], "", f"Key fingerprint {s['key_fingerprint']} ({s['key_source']}); data digest "
              f"{document['data']['digest']}. Every attack run, and the refusals: report.md."]
    return "\n".join(lines) + "\n"


def run_benchmark(plan: AuditPlan) -> Path:
    """Run the battery on ``plan`` (pairs default 1, 5, 20); write verdict.json, verdict.md and the audit's
    report into ``plan.out``; returns the path of verdict.json."""
    result = collect_audit(plan)
    out = Path(plan.out)
    write_audit(result, out)
    document = verdict_document(result)
    problems = validate_verdict(document)
    if problems:   # a bug of ours, not the user's: say so rather than write a verdict others would misread
        raise RuntimeError("The verdict does not match its schema: " + "; ".join(problems))
    (out / "verdict.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / "verdict.md").write_text(verdict_markdown(document))
    return out / "verdict.json"
