"""Shared by the benchmark scripts: each owns one marked section of ``results/bench.md`` and
rewrites only that section, so that the benchmarks can be re-run independently."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_section(path: str | Path, name: str, lines: list[str]) -> Path:
    """Replace (or append) the section between ``<!-- name: begin -->`` and ``<!-- name: end -->``."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    section = "\n".join([begin, *lines, end])
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = out.read_text() if out.exists() else "# Benchmarks\n\nEach section names the command that wrote it.\n"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    out.write_text(text)
    return out


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=ROOT).stdout.strip() or "unknown"
