"""Progress where someone watches, plain lines where no one does.

A progress bar redraws itself many times a second; in a terminal that is one line, in a log file (``make
reproduce > log``, CI, a cluster job's output) it is thousands. So every long loop of the project goes through
:func:`progress`, and every training through :class:`disguisednets.training.EpochLines`: on a terminal a
tqdm bar, elsewhere one log line per step.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator, TypeVar

__all__ = ["on_terminal", "progress", "say"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (standard error by default: where bars and logs go) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # replaced or closed streams (captured output)
        return False


def say(message: str) -> None:
    """One progress line: to the logs where logging is set up (a Hydra run's console and file), else to
    standard error (the command line)."""
    if logging.getLogger().handlers:
        log.info(message)
    else:
        print(message, file=sys.stderr, flush=True)


def progress(items: Iterable[T], desc: str, *, total: int | None = None, unit: str = "it", enabled: bool = True,
             describe=None) -> Iterator[T]:
    """Yield ``items`` with a tqdm bar on a terminal, else with one log line per item ("desc 3/12: …, 41 s").

    ``describe``: item → a short text for the bar's postfix or the line (what the step is). ``enabled=False``:
    neither (the caller's ``--quiet``)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    if not enabled:
        yield from items
        return
    if on_terminal():
        from tqdm import tqdm

        bar = tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
        for item in bar:
            if describe is not None:
                bar.set_postfix_str(describe(item))
            yield item
        return
    t0 = time.perf_counter()
    of = f"/{total}" if total is not None else ""
    for i, item in enumerate(items, 1):
        what = f": {describe(item)}" if describe is not None else ""
        say(f"{desc} {i}{of}{what} ({time.perf_counter() - t0:.0f} s so far)")
        yield item
