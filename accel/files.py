"""Atomic file writing: an output is either complete or absent, never half-written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary file, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda file: file.write(text.encode()))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    return write_atomic(path, lambda file: file.write(data))


def write_csv_atomic(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """Write ``rows`` (dicts) as CSV with a header; floats keep six significant digits."""
    columns = columns or [key for key in rows[0] if not isinstance(rows[0][key], dict)]
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    return write_text_atomic(path, "\n".join(lines) + "\n")
