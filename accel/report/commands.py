"""The command a page names to regenerate it: the one that wrote its record."""

from __future__ import annotations

import shlex


def regenerate(record: dict, command: str, full_run: str, quick_run: str) -> str:
    """"Regenerate: `...`" with the command line recorded in ``record``'s provenance (``command`` for a record without
    one), and what that run covers: ``quick_run`` when it was a ``--quick`` run, else ``full_run``."""
    recorded = record.get("provenance", {}).get("command", command)
    quick = "--quick" in shlex.split(recorded)
    return f"Regenerate: `{recorded}` ({quick_run if quick else full_run})."
