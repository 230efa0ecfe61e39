"""Atomic file writing (an output is either complete or absent, never half-written) and strict JSON reading.

The temporary file is created with mode 0666 less the umask (as ``open`` would create the output),
removed when writing fails or is interrupted, and named after the writing process so that a
later write can remove what a killed process left behind.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from accel.arch.errors import UserError


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary file, then rename it into place.

    An output path that cannot be written (a folder, under a file, read-only, disk full) raises
    UserError naming the path and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder; give a file name")
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot write {path}: {blocking} is a file, not a folder; choose another output path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder {path.parent} for {path} ({error.strerror or error}); "
                        "choose another output path") from None
    _remove_stale(path)
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror or error}); choose a writable output path") from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {path} ({error.strerror or error}); choose a writable output path") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _remove_stale(path: Path) -> None:
    """Remove temporary files of ``path`` left by processes that no longer exist (killed with SIGKILL)."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*-*.tmp"):
        if left_by_dead_process(leftover.name[len(path.name) + 2:].split("-", 1)[0]):
            leftover.unlink(missing_ok=True)


@contextmanager
def updating(path: Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold ``path``'s lock (the file ``.NAME.lock`` beside it, holding the owner's process id) while reading,
    changing and rewriting ``path``, so that processes updating it at once (runs recording in parallel) take
    turns instead of losing each other's entries. A lock left by a process that no longer exists is removed."""
    lock = path.parent / f".{path.name}.lock"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            try:
                owner = lock.read_text().strip()
            except FileNotFoundError:
                continue
            if left_by_dead_process(owner):
                lock.unlink(missing_ok=True)
            elif time.monotonic() > deadline:
                raise UserError(f"{path} stayed locked by process {owner or '?'} for {timeout_s:.0f} s; if no accel "
                                f"command is writing it, remove {lock}") from None
            else:
                time.sleep(0.02)
        except OSError as error:
            raise UserError(f"cannot write {path} ({error.strerror or error}); choose a writable folder") from None
    try:
        os.write(handle, str(os.getpid()).encode())
        os.close(handle)
        yield
    finally:
        lock.unlink(missing_ok=True)


def left_by_dead_process(pid: str) -> bool:
    """Whether ``pid`` (as a temporary name holds it) is another process, one that no longer exists."""
    return pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks; a missing or unreadable file is one UserError."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; check the path") from None
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror}); check the path") from None
    return digest.hexdigest()


def write_unless_same(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it holds it already: an unchanged source keeps its date, so a simulator
    build (Verilator and make, or a cocotb runner) sees nothing to redo."""
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


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
