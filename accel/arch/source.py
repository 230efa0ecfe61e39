"""Which sources made a record: the git commit of this checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path


def source_commit() -> str | None:
    """The git commit of this source tree, ``+changes`` appended when files differ from it (records under
    ``reports/`` aside: builds write them); None outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                 ":(top,exclude)reports"], cwd=here, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit.stdout.strip() + ("+changes" if status.stdout.strip() else "")
