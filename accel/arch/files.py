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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: bytes | str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity; ValueError (or RecursionError) otherwise."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


MAX_JSON_BYTES = 1 << 24
"""Largest JSON file a user hands in (16 MiB)."""


def read_json(path: str | Path, what: str, hint: str) -> Any:
    """Parse a JSON file a user hands in; every way it can be unreadable is one UserError naming ``hint``."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; {hint}") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a JSON file; {hint}") from None
    except OSError as error:
        raise UserError(f"{what} {path} cannot be read ({error.strerror}); {hint}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise UserError(f"{what} {path} is larger than {MAX_JSON_BYTES} bytes; {hint}")
    try:
        return parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text; {hint}") from None
    except RecursionError:
        raise UserError(f"{what} {path} nests too deeply to be read; {hint}") from None
    except ValueError as error:
        raise UserError(f"{what} {path} is not valid JSON ({str(error)[:120]}); {hint}") from None
