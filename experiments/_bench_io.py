"""Shared by the benchmark scripts: each writes its own file in ``results/``, opening with its title and its
provenance line (the command, commit, machine and date: disguisednets.reporting.provenance)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from disguisednets.reporting.provenance import with_provenance  # noqa: E402


def write_result(path: str | Path, title: str, lines: list[str], command: str) -> Path:
    """Write ``results/<name>.md``: ``# title``, the provenance line of ``command``, then ``lines``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(with_provenance("\n".join([f"# {title}", *lines]), command).rstrip() + "\n")
    return out
