"""Where each file in ``results/`` came from (results/README.md): the command that made it, the commit of
the code that made its numbers, the machine and the date.

A Markdown result opens with one line, right under its title::

    > Provenance: `make results-table2` · commit 1a2b3c4d5e6f · AMD EPYC, 2 cores · 2026-11-30

A figure (PNG) has the same line in the table of ``results/README.md`` between ``<!-- figures: begin -->``
and ``<!-- figures: end -->``, which :func:`record_figure` keeps. ``tests/test_results.py`` fails when a
file lacks its line or names a command that does not exist.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Iterable

from disguisednets.runinfo import git_commit, machine

__all__ = ["PATTERN", "provenance_line", "run_commits", "run_machines", "with_provenance", "record_figure",
           "FIGURES_BEGIN", "FIGURES_END"]

PATTERN = re.compile(r"^> Provenance: `(?P<command>[^`]+)` · commit (?P<commit>[0-9a-z+-]+) · "
                     r"(?P<machine>[^·]+) · (?P<date>\d{4}-\d{2}-\d{2})$")
FIGURES_BEGIN, FIGURES_END = "<!-- figures: begin -->", "<!-- figures: end -->"


def _short(commit: str) -> str:
    sha, _, dirty = commit.partition("-dirty-")
    return sha[:12] + (f"-dirty-{dirty}" if dirty else "")


def run_commits(runs: Iterable) -> str | None:
    """The code version(s) of MLflow ``runs`` (their ``git_commit`` tags), short, joined by '+'; None if none."""
    commits = sorted({_short(r.data.tags["git_commit"]) for r in runs if r.data.tags.get("git_commit")})
    return "+".join(commits) or None


def run_machines(runs: Iterable) -> str | None:
    """The machine(s) of MLflow ``runs`` (their ``machine`` tags), joined by ' + '; None if none."""
    return " + ".join(sorted({r.data.tags["machine"] for r in runs if r.data.tags.get("machine")})) or None


def provenance_line(command: str, commit: str | None = None, on: str | None = None) -> str:
    """The provenance line of a result made by ``command`` today, from the code at ``commit`` (default: this
    checkout's, with ``-dirty-…`` when the code has uncommitted changes) on the machine ``on`` (default: this
    one). A report of MLflow runs passes the runs' own commit and machine (:func:`run_commits`,
    :func:`run_machines`)."""
    if "`" in command or "\n" in command:
        raise ValueError(f"A provenance command is one line without backticks; got {command!r}.")
    date = _dt.date.today().isoformat()
    on = (on or machine()).replace("·", ",")
    line = f"> Provenance: `{command}` · commit {commit or _short(git_commit())} · {on} · {date}"
    assert PATTERN.match(line), line
    return line


def with_provenance(markdown: str, command: str, commit: str | None = None, on: str | None = None) -> str:
    """``markdown`` with its provenance line under the title (the first line), replacing any it had."""
    lines = [ln for ln in markdown.split("\n") if not PATTERN.match(ln)]
    title, rest = lines[0], lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return "\n".join([title, "", provenance_line(command, commit, on), "", *rest])


def record_figure(results_dir: str | Path, path: str | Path, command: str, commit: str | None = None,
                  on: str | None = None) -> None:
    """Set ``path``'s row in the figures table of ``results_dir``/README.md (created if missing)."""
    readme = Path(results_dir) / "README.md"
    text = readme.read_text() if readme.exists() else "# Results\n"
    if FIGURES_BEGIN not in text:
        text = (text.rstrip() + f"\n\n## Where each figure came from\n\n{FIGURES_BEGIN}\n| figure | provenance |\n"
                f"|---|---|\n{FIGURES_END}\n")
    head, rest = text.split(FIGURES_BEGIN, 1)
    table, tail = rest.split(FIGURES_END, 1)
    rows = [ln for ln in table.strip().split("\n")[2:] if ln.strip()]
    name = Path(path).name
    row = f"| `{name}` | {provenance_line(command, commit, on)[2:]} |"
    rows = sorted([r for r in rows if not r.startswith(f"| `{name}` |")] + [row])
    readme.write_text(f"{head}{FIGURES_BEGIN}\n| figure | provenance |\n|---|---|\n" + "\n".join(rows)
                      + f"\n{FIGURES_END}{tail}")
