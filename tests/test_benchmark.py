"""``disguisednets benchmark``: the battery on one setting, a verdict.json that matches its versioned schema and
holds no key material, and a verdict.md a paper can quote."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from disguisednets import cli
from disguisednets.benchmark import VERDICT_SCHEMA, validate_verdict
from disguisednets.mechanisms import load_key
from disguisednets.mechanisms.base import TRAITS
from tests.folders import shapes, write_folder
from tests.test_run import _secret_fragments


@pytest.mark.slow  # trains twice and runs the battery, quick
def test_a_quick_benchmark_writes_a_verdict_that_matches_its_schema_and_holds_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = write_folder(tmp_path / "shapes", *shapes(n_per_class=60, size=16, colour=False, classes=3), ["square", "ring", "bar"])
    key_file = tmp_path / "owner.key"
    assert cli.main(["keygen", "--mechanism", "permutation", "--image-size", "16", "--block-size", "4",
                     "--classes", "3", "-o", str(key_file)]) == 0
    out = tmp_path / "bench"
    assert cli.main(["benchmark", str(folder), "--key", str(key_file), "-o", str(out), "--quick", "-q"]) == 0
    text = (out / "verdict.json").read_text()
    verdict = json.loads(text)
    assert validate_verdict(verdict) == []
    assert verdict["quick"] is True and verdict["setting"]["mechanism"] == "permutation"
    assert [r["pairs"] for r in verdict["rungs"]] == [0, 1, 5, 20]
    ran = {a["attack"] for a in verdict["attacks"] if a["refused"] is None}
    assert {"direct", "jigsaw", "value_frequency", "known_pair"} <= ran          # by traits and by name
    assert verdict["rungs"][0]["best_attack"] in ran and verdict["rungs"][0]["linkage"] is not None
    # what the scheme is: declared and measured (the identity on pixels is linear, ECB on 1-pixel units), and the
    # attacks of the measured traits ran too
    traits = verdict["scheme"]["traits"]
    assert traits["linear"] == {"declared": False, "measured": True, "evidence": traits["linear"]["evidence"]}
    assert traits["pixelwise"]["declared"] and traits["pixelwise"]["measured"]
    assert any("'linear'" in m for m in verdict["scheme"]["mismatches"]) and verdict["scheme"]["block_size"] == 4
    assert {a["attack"] for a in verdict["attacks"]} >= {"regression", "higher_order", "frequency_rank"}
    assert "Mismatch: the scheme does not declare 'linear'" in (out / "verdict.md").read_text()
    assert "## What the scheme is (measured)" in (out / "report.md").read_text()
    key = load_key(key_file)
    assert verdict["setting"]["key_fingerprint"] == key.fingerprint
    shared = text + (out / "verdict.md").read_text() + (out / "report.md").read_text()
    for fragment in _secret_fragments(key):
        assert fragment not in shared
    md = (out / "verdict.md").read_text()
    assert "**Utility cost**" in md and "a floor on what an attacker gets" in md and "quick run" in md


def _minimal():
    rung = {"rung": "level (a): no known pairs", "pairs": 0, "best_attack": "direct", "linkage": 1.5, "success": 20.0,
            "ssim": 0.1, "verdict": "…"}
    traits = {t: {"declared": t in ("linear", "block_permutation"), "measured": t in ("linear", "block_permutation"),
                  "evidence": "…"} for t in TRAITS}
    return {"schema": "disguisednets-verdict", "schema_version": 2, "battery_version": 3, "package_version": "0.1.0",
            "commit": "abc", "made": "x", "quick": False,
            "setting": {"mechanism": "rmt", "description": "b=7", "key_fingerprint": "0" * 16, "key_source": "k"},
            "scheme": {"traits": traits, "block_size": 7, "support": 7, "mode": "matrix", "kind": "orthogonal",
                       "unit": None, "deterministic": True, "noise": "none", "seconds": 0.1, "mismatches": []},
            "data": {"dataset": "mnist", "digest": None, "image_shape": [28, 28], "sizes": {}}, "scale": "s",
            "utility": {"baseline_accuracy": 99.0, "disguised_accuracy": 97.0, "cost": 2.0},
            "rungs": [rung], "attacks": [{"attack": "direct", "threat": "a", "pairs": 0, "linkage": None,
                                          "success": None, "ssim": None, "refused": "why"}],
            "theft": {}, "floor": "f"}


@pytest.mark.parametrize("settings, says", [
    (["mechanism=nonexistent"], "Could not find 'mechanism/nonexistent'"),
    (["mechanism=permutation", "mechanism.block_size=5"], "block"),
    (["mechanism=rmt", "mechanism.kind=bogus"], "bogus"),
    (["mechanism=rmt", "attack.unit=3"], "attack.unit"),
])
def test_a_bad_setting_is_refused_in_one_line_before_anything_trains_or_is_written(tmp_path, capsys, settings, says):
    out = tmp_path / "bench"
    assert cli.main(["benchmark", "mnist", *settings, "-o", str(out), "--quick", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and err.startswith("error: ")
    assert not out.exists()


def test_the_schema_check_says_what_does_not_match():
    assert validate_verdict(_minimal()) == []
    bad = copy.deepcopy(_minimal())
    del bad["utility"]["cost"]
    bad["schema_version"] = 3
    bad["rungs"][0]["linkage"] = "high"
    del bad["scheme"]["traits"]["linear"]["measured"]
    bad["attacks"][0]["threat"] = "c"
    bad["quick"] = 1
    assert sorted(validate_verdict(bad)) == sorted([
        "verdict.schema_version: 3 is not one of [2]", "verdict.utility: no 'cost'",
        "verdict.scheme.traits.linear: no 'measured'",
        "verdict.rungs[0].linkage: str where number or null is expected",
        "verdict.attacks[0].threat: 'c' is not one of ['a', 'b']", "verdict.quick: int where boolean is expected"])
    assert validate_verdict([]) == ["verdict: list where object is expected"]
    old = copy.deepcopy(_minimal())          # a version-1 verdict (battery 1–2) is read without what the scheme is
    old["schema_version"], old["battery_version"] = 1, 2
    del old["scheme"]
    assert validate_verdict(old) == []
    old["schema_version"] = 2
    assert validate_verdict(old) == ["verdict: no 'scheme'"]
    assert set(VERDICT_SCHEMA["required"]) <= set(_minimal())


def test_the_leaderboard_reads_only_verdicts_that_match_the_schema_and_orders_them_by_cost_band(tmp_path):
    from disguisednets.reporting.leaderboard import leaderboard_markdown, read_verdicts

    def verdict(mechanism, cost, linkage):
        v = _minimal()
        v["setting"]["mechanism"], v["utility"]["cost"], v["rungs"][0]["linkage"] = mechanism, cost, linkage
        return v

    for name, v in (("a", verdict("rmt", 2.0, 99.0)), ("b", verdict("aes_cbc", 20.0, 3.0)),
                    ("c", verdict("etc", 1.0, 40.0))):
        (tmp_path / f"{name}.json").write_text(json.dumps(v))
    rows = [ln.split("|")[1].strip() for ln in leaderboard_markdown(read_verdicts(tmp_path), "t").splitlines()
            if ln.startswith("| ") and not ln.startswith("| scheme")]
    assert rows == ["etc", "rmt", "aes_cbc"]        # under 5 points by linkage, then the costly one
    assert "†" not in leaderboard_markdown(read_verdicts(tmp_path), "t")
    mixes = tmp_path / "mixes"
    mixes.mkdir()
    instahide = verdict("instahide", 3.0, 90.0)
    instahide["scheme"]["traits"]["mixes_images"] = {"declared": True, "measured": True, "evidence": "…"}
    (mixes / "i.json").write_text(json.dumps(instahide))
    text = leaderboard_markdown(read_verdicts(mixes), "t")   # linkage to any image mixed in: marked, and said so
    assert "| 90.0† |" in text and "† A scheme whose outputs mix several private images" in text
    broken = verdict("x", 1.0, 1.0)
    del broken["rungs"][0]["best_attack"]
    (tmp_path / "d.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"d.json does not match the verdict schema: verdict.rungs\[0\]: no 'best_attack'"):
        read_verdicts(tmp_path)


def test_every_committed_verdict_matches_the_schema():
    """results/verdicts/*.json (the leaderboard's): each one, as committed, matches the schema."""
    for path in sorted((Path(__file__).resolve().parents[1] / "results" / "verdicts").glob("*.json")):
        assert validate_verdict(json.loads(path.read_text()), where=path.name) == []
