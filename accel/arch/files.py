"""Files in and out: atomic writing (an output is complete or absent) and the one JSON reader for user files."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from accel.arch.errors import UserError


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


def read_json(path: str | Path, what: str, hint: str) -> Any:
    """Parse a JSON file a user hands in; every way it can be unreadable is one UserError naming ``hint``."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; {hint}") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a JSON file; {hint}") from None
    except OSError as error:
        raise UserError(f"{what} {path} cannot be read ({error.strerror}); {hint}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise UserError(f"{what} {path} is not valid JSON ({str(error)[:120]}); {hint}") from None
