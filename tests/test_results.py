"""Every file in results/ says how it was made (disguisednets.reporting.provenance): the command, the commit of
the code, the machine and the date; the command exists; and the paper is named by its title everywhere."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from disguisednets.reporting.provenance import (FIGURES_BEGIN, FIGURES_END, PATTERN, provenance_line, record_figure,
                                                with_provenance)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
NOT_RESULTS = {"README.md"}   # the index: what each result says, and the figures' provenance table


def command_problem(command: str) -> str | None:
    """Why ``command`` (a provenance line's) does not name something that exists here; None if it does."""
    parts = shlex.split(command)
    while parts and re.match(r"^[A-Z_]+=", parts[0]):   # VAR=value prefixes
        parts = parts[1:]
    if not parts:
        return "no command"
    head = parts[0]
    if head == "make":
        targets = [p for p in parts[1:] if "=" not in p and not p.startswith("-")]
        makefile = (ROOT / "Makefile").read_text()
        missing = [t for t in targets if not re.search(rf"^{re.escape(t)}:", makefile, re.M)]
        return f"no make target {missing}" if missing or not targets else None
    if head == "bash":
        return None if (ROOT / parts[1]).is_file() else f"no script {parts[1]}"
    if head.endswith("python") or head.endswith("python3"):
        if parts[1] == "-m":
            module = parts[2]
            if importlib.util.find_spec(module) is None:
                return f"no module {module}"
            if module == "disguisednets.reporting" and len(parts) > 3:
                main = (ROOT / "disguisednets" / "reporting" / "__main__.py").read_text()
                return None if f'sub.add_parser("{parts[3]}"' in main else f"no report {parts[3]!r}"
            return None
        return None if (ROOT / parts[1]).is_file() else f"no script {parts[1]}"
    return f"unknown kind of command {head!r}"


def _commit_problem(commit: str) -> str | None:
    if "dirty" in commit:
        return f"made from uncommitted code ({commit}): commit the code, then make the result again"
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
    for sha in commit.split("+"):
        if shallow != "true" and subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=ROOT,
                                                capture_output=True).returncode:
            return f"commit {sha} is not in this repository"
    return None


def _problems(line: str) -> list[str]:
    m = PATTERN.match(line)
    if m is None:
        return [f"not a provenance line: {line!r}"]
    return [p for p in (command_problem(m["command"]), _commit_problem(m["commit"])) if p]


def _results(suffix: str) -> list[Path]:
    return sorted(p for p in RESULTS.glob(f"*{suffix}") if p.name not in NOT_RESULTS)


@pytest.mark.parametrize("path", _results(".md"), ids=lambda p: p.name)
def test_every_results_file_opens_with_its_provenance(path):
    head = path.read_text().split("\n")[:5]
    lines = [ln for ln in head if ln.startswith("> Provenance:")]
    assert lines, f"results/{path.name} does not open with its provenance line (under its title): {PATTERN.pattern}"
    assert _problems(lines[0]) == [], f"results/{path.name}: {_problems(lines[0])}"


def _figure_rows() -> dict[str, str]:
    text = (RESULTS / "README.md").read_text()
    assert FIGURES_BEGIN in text and FIGURES_END in text, "results/README.md lacks the figures' provenance table"
    table = text.split(FIGURES_BEGIN, 1)[1].split(FIGURES_END, 1)[0]
    return {m[1]: "> " + m[2] for m in re.finditer(r"^\| `([^`]+)` \| (.+) \|$", table, re.M)}


@pytest.mark.parametrize("path", _results(".png"), ids=lambda p: p.name)
def test_every_figure_has_its_provenance_beside_it(path):
    rows = _figure_rows()
    assert path.name in rows, f"results/README.md's figures table has no row for {path.name}"
    assert _problems(rows[path.name]) == [], f"results/{path.name}: {_problems(rows[path.name])}"


def test_only_result_files_in_results():
    assert {p.suffix for p in RESULTS.iterdir() if p.name not in ("runs", "verdicts")} <= {".md", ".png"}
    assert {p.suffix for p in (RESULTS / "verdicts").glob("*")} <= {".json"}   # the benchmark verdicts (leaderboard)
    assert set(_figure_rows()) <= {p.name for p in _results(".png")}, "a figure row names a file that is gone"


def test_the_checks_fail_on_what_they_must_refuse(tmp_path):
    """The checker itself: missing commands, scripts, targets and modules, dirty or unknown commits."""
    assert command_problem("make results-table2") is None and command_problem("make no-such-target")
    assert command_problem("bash experiments/attacks_cpu.sh") is None
    assert command_problem("bash experiments/no_such.sh")
    assert command_problem(".venv/bin/python experiments/bench_attacks.py") is None
    assert command_problem("python experiments/no_such.py")
    assert command_problem("python -m disguisednets.reporting peers") is None
    assert command_problem("python -m disguisednets.reporting nonsense")
    assert command_problem("python -m no_such_module")
    assert command_problem("rm -rf results")
    good = provenance_line("make results-table2", commit="0" * 12)
    assert PATTERN.match(good) and _commit_problem("0" * 12)          # no such commit here
    assert _commit_problem("abc-dirty-12345678")
    md = with_provenance("# Title\n\nbody\n", "make results-peers")
    assert md.split("\n")[2].startswith("> Provenance: `make results-peers` · commit ") and md.endswith("body\n")
    assert with_provenance(md, "make results-theft").count("> Provenance:") == 1   # replaced, not added
    with pytest.raises(ValueError, match="backticks"):
        provenance_line("make `x`")
    record_figure(tmp_path, tmp_path / "a.png", "make results-figures")
    record_figure(tmp_path, tmp_path / "b.png", "make results-figures")
    record_figure(tmp_path, tmp_path / "a.png", "make results-table2")
    table = (tmp_path / "README.md").read_text()
    assert table.count("`a.png`") == 1 and "make results-table2" in table and "`b.png`" in table


@pytest.mark.parametrize("path", sorted((RESULTS / "runs").glob("*")), ids=lambda p: p.name)
def test_every_run_snapshot_reads_back_and_names_the_code_of_its_runs(path):
    """results/runs/: the runs a report read (disguisednets.reporting.snapshot), each with a commit of this repo."""
    from disguisednets.reporting.snapshot import read_snapshot

    assert path.name.endswith(".json.gz"), f"results/runs/{path.name} is not a run snapshot (<experiment>.json.gz)"
    runs = read_snapshot(path)
    assert runs.runs and path.name == f"{runs.experiment}.json.gz"
    commits = {r.data.tags.get("git_commit", "") for r in runs.runs}
    assert "" not in commits, f"results/runs/{path.name} has runs without their git_commit tag"
    for c in commits:
        assert _commit_problem(c[:12]) is None, f"results/runs/{path.name}: {_commit_problem(c[:12])}"


TITLE = "Image Disguising for Protecting Data and Model Confidentiality in Outsourced Deep Learning"


def tracked_texts():
    """(name, text) of every tracked text file (documents, code, configs, scripts) but this one."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".py", ".md", ".yaml", ".sh", ".toml", "") and path.is_file() and path != Path(__file__):
            yield name, path.read_text(errors="replace")


def test_the_paper_is_named_by_its_title_everywhere():
    """The paper's title wherever the project names it (it once said "… for Privacy-preserving Deep Learning")."""
    wrong = []
    for name, text in tracked_texts():
        text = re.sub(r"\s+", " ", text)
        for m in re.finditer(r"Image Disguising for ([^\"'*\n]{0,80})", text):
            if not m[0].startswith(TITLE[:len(m[0])]) and not TITLE.startswith(m[0][:len(TITLE)]):
                wrong.append(f"{name}: {m[0][:90]!r}")
    assert not wrong, wrong


def test_the_readme_opens_with_the_verdict_that_resistance_md_gives():
    """The README's first screen says what the project finds: its numbers are resistance.md's, as the resistance
    report writes them (``python -m disguisednets.reporting resistance`` rewrites both)."""
    from disguisednets.reporting.verdict import BEGIN, END, read_resistance, verdict_markdown

    readme = (ROOT / "README.md").read_text()
    assert BEGIN in readme and END in readme, "README.md lacks the verdict block"
    assert readme.index(BEGIN) < readme.index("## "), "the verdict is not on the README's first screen"
    shown = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert shown == verdict_markdown(read_resistance((RESULTS / "resistance.md").read_text())), (
        "README.md's verdict disagrees with results/resistance.md: run `python -m disguisednets.reporting resistance`")
    assert "(results/frontier.png)" in shown and (RESULTS / "frontier.png").is_file()


# What the project's history looks like in text: issue numbers, development sessions, stops and rounds.
HISTORY = re.compile(r"\bissues?\s*#?\d+|#\d{2,}\b(?!\w)|\b(?:this|that|earlier|previous|last|next|later|one|the "
                     r"session's|a)\s+(?:sessions?|stops?|rounds?)\b|\bsessions?\s+(?:of|before|ago)\b|\bstop\s+\d+",
                     re.I)


def history_mentions(text: str) -> list[str]:
    return [m[0] for m in HISTORY.finditer(re.sub(r"\s+", " ", text))]


def test_documents_speak_of_the_project_not_of_its_history():
    """No tracked text (documents, code and its comments, configs) speaks of issue numbers or of the project's
    development sessions; what changed and when is in CHANGELOG.md by date, and the how in provenance lines."""
    assert history_mentions("re-made at issue 23's code; see #24") == ["issue 23", "#24"]
    assert history_mentions("the store did not survive into this session; the earlier sessions' Xeon") == [
        "this session", "earlier sessions"]
    assert history_mentions('@pytest.fixture(scope="session") — one cache for the test run; stop words') == []
    found = [f"{name}: {m!r}" for name, text in tracked_texts() for m in history_mentions(text)]
    assert not found, found
