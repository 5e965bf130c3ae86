"""``disguisednets audit``: a report with a verdict per threat level, its figures, and no key material."""

from __future__ import annotations

import numpy as np
import pytest

from disguisednets import cli
from disguisednets.audit import attacks_for, key_overrides
from disguisednets.mechanisms import load_key
from disguisednets.reporting.audit_report import AttackOutcome, AuditResult, report_markdown, verdicts
from tests.folders import shapes, write_folder
from tests.test_run import _secret_fragments


def test_an_audit_runs_every_attack_built_for_the_scheme_at_each_level():
    assert attacks_for("rmt", (1, 20)) == [("direct", 0), ("regression", 1), ("regression", 20), ("covariance", 0),
                                           ("higher_order", 0), ("row_leak", 0)]
    assert ("codebook", 20) in attacks_for("aes_ecb", (20,)) and ("frequency", 0) in attacks_for("aes_ecb", (20,))
    assert ("learned", 0) in attacks_for("aes_ecb", (20,)) and ("learned", 0) in attacks_for("aes_cbc", (20,))
    assert ("etc_statistics", 0) in attacks_for("etc", (20,)) and ("jigsaw", 0) in attacks_for("etc", (20,))
    assert attacks_for("dp_pixelization", (1,)) == [("direct", 0), ("dp_denoise", 0), ("learned", 0),
                                                    ("learned_pairs", 1)]
    assert all(a != "covariance" for a, _ in attacks_for("permutation", (1,)))


def test_a_key_file_gives_its_public_settings_and_only_its_path(tmp_path):
    assert cli.main(["keygen", "--mechanism", "aes_ecb", "--image-size", "32", "--block-size", "8", "--unit", "2",
                     "--noise", "salt_and_pepper", "-o", str(tmp_path / "k.key")]) == 0
    over = key_overrides(tmp_path / "k.key")
    assert "mechanism=aes_ecb" in over and "mechanism.block_size=8" in over and "++mechanism.unit=2" in over
    assert "noise=salt_and_pepper" in over and over[-1] == f"key.path={tmp_path / 'k.key'}"


def _result(link_a, link_b, success=95.0, examiner=90.0):
    def outcome(name, m, link):
        return AttackOutcome(name, "b" if m else "a", m, metrics={"linkage_rate": link, "success_rate": success,
                                                                   "ssim": 0.5, "examiner_acc_original": examiner})
    return AuditResult("photos", "photos-0123abcd", "0123abcd" * 8, (16, 16, 3), ("a", "b", "c"),
                       {"owner": 100, "public": 30, "validation": 10, "test": 40}, "rmt-b4", "93bac09644510d9a",
                       "the key file k.key", 90.0, 85.0, (1, 20),
                       [outcome("covariance", 0, link_a), outcome("regression", 1, link_b),
                        outcome("regression", 20, 100.0)])


def test_the_verdict_names_the_best_attack_per_level_in_plain_words():
    (a, best_a, words_a), (m1, best_1, words_1), (m20, _, words_20) = verdicts(_result(97.0, 3.0))
    assert a.startswith("level (a)") and best_a.attack == "covariance" and "does not hide them" in words_a
    assert "re-identifies 97% of your test images (covariance attack" in words_a
    assert best_1.attack == "covariance"          # a cloud with a pair still has its public images
    assert "1 of your images" in words_1 and "20 of your images" in words_20
    (_, _, hidden), *_ = verdicts(_result(2.0, 3.0, success=20.0))
    assert "hides them from every attack run here" in hidden
    (_, _, who), *_ = verdicts(_result(2.0, 3.0, success=80.0))
    assert "hides who, not what" in who
    (_, _, weak), *_ = verdicts(_result(2.0, 3.0, success=80.0, examiner=40.0))   # success means nothing then
    assert "hides them from every attack run here" in weak
    text = report_markdown(_result(97.0, 3.0))
    assert "costs 5.0 points" in text and "93bac09644510d9a" in text


@pytest.mark.slow  # trains
def test_a_quick_audit_writes_a_report_with_a_verdict_per_level_and_no_key_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("DISGUISEDNETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = write_folder(tmp_path / "shapes", *shapes(n_per_class=60, size=16, colour=True, classes=3),
                          ["square", "ring", "bar"])
    key_file = tmp_path / "owner.key"
    assert cli.main(["keygen", "--mechanism", "rmt", "--image-size", "16", "--channels", "3", "--block-size", "4",
                     "--classes", "3", "-o", str(key_file)]) == 0
    out = tmp_path / "audit"
    assert cli.main(["audit", str(folder), "--key", str(key_file), "-o", str(out), "--quick", "--pairs", "1", "20",
                     "-q"]) == 0
    report = (out / "report.md").read_text()
    for level in ("**level (a): no known pairs.**", "**level (b): m = 1 known pair.**",
                  "**level (b): m = 20 known pairs.**"):
        line = next(ln for ln in report.splitlines() if ln.startswith(f"- {level}"))
        assert "re-identifies" in line or "no attack applies" in line
    assert "**Quick audit**" in report and "| covariance | (a) | 0 |" in report
    assert (out / "samples.png").stat().st_size > 1000 and (out / "attacks.png").stat().st_size > 1000
    key = load_key(key_file)
    assert key.fingerprint in report
    shared = report + "".join(p.read_bytes().decode("latin-1") for p in out.glob("*.png"))
    for fragment in _secret_fragments(key):
        assert fragment not in shared
    assert not any(p.suffix == ".key" for p in out.rglob("*"))
    # A folder the harness refuses is refused before any run.
    (folder / "ring" / "00070.png").write_bytes(b"\x89PNG truncated")
    assert cli.main(["audit", str(folder), "--key", str(key_file), "-o", str(tmp_path / "again"), "--quick", "-q"]) == 2
    assert not (tmp_path / "again").exists()
