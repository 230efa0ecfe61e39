"""Progress of long runs: a tqdm bar on a terminal; in a log, one line when a stage starts (no carriage returns).

The command line's -q / -v set the verbosity for the whole run: quiet shows neither bars nor stage lines,
verbose adds the seconds each stage took.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

QUIET, NORMAL, VERBOSE = -1, 0, 1
_state = {"verbosity": NORMAL, "stage": None}


def set_verbosity(level: int) -> None:
    _state["verbosity"] = level


def verbose() -> bool:
    return _state["verbosity"] >= VERBOSE


def stage(message: str) -> None:
    """Say on stderr what a long run does now (with -v, also how long the previous stage took)."""
    if _state["verbosity"] <= QUIET:
        return
    now = time.perf_counter()
    if verbose() and _state["stage"] is not None:
        print(f"  ({now - _state['stage']:.1f} s)", file=sys.stderr, flush=True)
    _state["stage"] = now
    print(message, file=sys.stderr, flush=True)


def progress(iterable: Iterable | None = None, *, total: int | None = None, description: str, unit: str = "step",
             enabled: bool = True, initial: int = 0, leave: bool = False):
    """A tqdm bar over ``iterable`` (or updated by hand up to ``total``) where stderr is a terminal.

    Elsewhere (a file, a pipe, a CI log) the stage is announced in one line and no bar is drawn.
    ``enabled=False``, or a -q run, shows neither.
    """
    from tqdm import tqdm

    enabled = enabled and _state["verbosity"] > QUIET
    terminal = sys.stderr.isatty()
    if enabled and not terminal:
        count = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        print(f"{description}: {count:,} {unit}s" if count is not None else f"{description} ...", file=sys.stderr,
              flush=True)
    return tqdm(iterable, total=total, desc=description, unit=unit, initial=initial, leave=leave,
                disable=not (enabled and terminal))
