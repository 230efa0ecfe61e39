"""The files of one run, committed to their folder together: a folder never mixes two runs.

A command writes its outputs into a hidden staging folder beside them. Only when it finishes are
the files moved into place, the manifest ``manifest.json`` written (every file of the run with its
SHA-256 and the command), and the files that the previous run listed and this one did not write
removed. A run that fails or is interrupted (exception, Ctrl-C, SIGTERM) removes its staging
folder and leaves the folder as the previous run left it; staging folders of killed processes are
removed by the next run. Files the manifest never listed (the user's own) are not touched.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import file_sha256, left_by_dead_process, parse_json, write_text_atomic

MANIFEST = "manifest.json"
FORMAT = "eie-run-manifest"


def previous_files(folder: Path) -> list[str]:
    """The files the folder's last committed run wrote (none without a readable manifest)."""
    try:
        data = parse_json((folder / MANIFEST).read_bytes())
    except (OSError, UserError):
        return []
    files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(files, dict):
        return []
    return [name for name in files if isinstance(name, str) and _inside(folder, name)]


def _inside(folder: Path, name: str) -> bool:
    return not Path(name).is_absolute() and ".." not in Path(name).parts and name != MANIFEST


def _remove_stale_staging(folder: Path) -> None:
    for leftover in folder.glob(".staging-*-*"):
        if left_by_dead_process(leftover.name.split("-")[1]):
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def run_folder(folder: str | Path, command: str) -> Iterator[Path]:
    """Stage a run's outputs for ``folder``; yields the staging folder to write them into (same layout)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"cannot write into {folder}: it is a file; give a folder for the outputs")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder {folder} ({error.strerror or error}); choose another output folder") from None
    _remove_stale_staging(folder)
    staging = folder / f".staging-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
    except OSError as error:
        raise UserError(f"cannot write into {folder} ({error.strerror or error}); choose a writable output folder") from None
    try:
        yield staging
        _commit(folder, staging, command)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(folder: Path, staging: Path, command: str) -> None:
    written = sorted(path.relative_to(staging).as_posix() for path in staging.rglob("*") if path.is_file())
    files = {name: file_sha256(staging / name) for name in written}
    for name in written:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staging / name, target)
    for name in set(previous_files(folder)) - set(written):
        stale = folder / name
        if stale.is_file():
            stale.unlink()
            for parent in stale.parents:
                if parent == folder or any(parent.iterdir()):
                    break
                parent.rmdir()
    manifest = {"format": FORMAT, "version": 1, "command": command,
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "files": files}
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")

