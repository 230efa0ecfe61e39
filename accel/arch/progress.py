"""Progress of long runs: a tqdm bar on a terminal; in a log, one line when a stage starts (no carriage returns)."""

from __future__ import annotations

import sys
from collections.abc import Iterable


def progress(iterable: Iterable | None = None, *, total: int | None = None, description: str, unit: str = "step",
             enabled: bool = True, initial: int = 0, leave: bool = False):
    """A tqdm bar over ``iterable`` (or updated by hand up to ``total``) where stderr is a terminal.

    Elsewhere (a file, a pipe, a CI log) the stage is announced in one line and no bar is drawn.
    ``enabled=False`` (a --quiet run) shows neither.
    """
    from tqdm import tqdm

    terminal = sys.stderr.isatty()
    if enabled and not terminal:
        count = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        print(f"{description}: {count:,} {unit}s" if count is not None else f"{description} ...", file=sys.stderr,
              flush=True)
    return tqdm(iterable, total=total, desc=description, unit=unit, initial=initial, leave=leave,
                disable=not (enabled and terminal))
