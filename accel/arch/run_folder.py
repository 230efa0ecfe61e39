"""The files of one run, committed to their folder as a whole: a folder never mixes two runs.

A command writes its outputs into a hidden staging folder beside the output folder
(``.NAME.staging-PID-TOKEN``). When it finishes, the manifest ``manifest.json`` (every file of the
run with its SHA-256 and the command) is written into the staging folder, the files of the folder
that its previous run's manifest does not list (the user's own) are hard-linked in beside them,
and one rename swaps the staging folder with the output folder (``renameat2`` with
``RENAME_EXCHANGE``; the previous run then sits at the staging name and is removed). So at every
instant the folder holds the previous run or the new one, never a mix. Where the system cannot
exchange two folders, the old folder is first renamed to ``.NAME.old-PID-TOKEN``; a process killed
between the two renames leaves no folder, and the next run (or ``restore``) renames the old one back.
A run that fails or is interrupted removes its staging folder and leaves the folder as it was;
staging folders of killed processes are removed by the next run.

``verify_folder`` checks a folder against its manifest (``accel check FOLDER``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import glob
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import file_sha256, left_by_dead_process, parse_json, write_text_atomic

MANIFEST = "manifest.json"
FORMAT = "eie-run-manifest"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def previous_files(folder: Path) -> list[str]:
    """The files the folder's last committed run wrote (none without a readable manifest)."""
    try:
        files = read_manifest(folder)["files"]
    except (OSError, ValueError, RecursionError, UserError):
        return []
    return [name for name in files if _inside(name)]


def read_manifest(folder: Path) -> dict:
    """The folder's manifest, its format and file list checked; OSError when it cannot be read, ValueError
    (UserError included) when it is not a manifest."""
    data = parse_json((folder / MANIFEST).read_bytes())
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        raise UserError(f"{folder / MANIFEST} is not an {FORMAT} file")
    return data


def _inside(name: object) -> bool:
    return (isinstance(name, str) and bool(name) and "\0" not in name and not Path(name).is_absolute()
            and ".." not in Path(name).parts and name != MANIFEST)


def _sibling(folder: Path, kind: str) -> Path:
    return folder.parent / f".{folder.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _leftovers(folder: Path, kind: str) -> list[tuple[Path, str]]:
    """Hidden siblings of ``folder`` of ``kind`` (staging, old) with the process id in their names."""
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.{kind}-(\d+)-[0-9a-f]+")
    found = []
    for path in folder.parent.glob(f".{glob.escape(folder.name)}.{kind}-*-*"):
        match = pattern.fullmatch(path.name)
        if match:
            found.append((path, match.group(1)))
    return found


def restore(folder: Path) -> None:
    """Finish what a killed commit left: the old folder back in place if no folder stands there, and
    staging or old folders of processes that no longer exist removed."""
    for old, pid in _leftovers(folder, "old"):
        if not left_by_dead_process(pid):
            continue
        if not folder.exists():
            os.rename(old, folder)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for staging, pid in _leftovers(folder, "staging"):
        if left_by_dead_process(pid):
            shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def run_folder(folder: str | Path, command: str) -> Iterator[Path]:
    """Stage a run's outputs for ``folder``; yields the staging folder to write them into (same layout)."""
    folder = _output_folder(Path(folder))
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder {folder.parent} ({error.strerror or error}); "
                        "choose another output folder") from None
    with _locked(folder.parent):
        restore(folder)
    staging = _sibling(folder, "staging")
    try:
        staging.mkdir()
    except OSError as error:
        raise UserError(f"cannot write beside {folder} ({error.strerror or error}); choose an output folder in a "
                        "writable folder") from None
    try:
        yield staging
        with _locked(folder.parent):
            _commit(folder, staging, command)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _output_folder(folder: Path) -> Path:
    """The absolute folder (symbolic links resolved); refused when it is a file or holds the current folder."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"cannot write into {folder}: it is a file; give a folder for the outputs")
    blocking = next((parent for parent in folder.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot write into {folder}: {blocking} is a file, not a folder; choose another output folder")
    here = Path.cwd().resolve()
    if folder == here or folder in here.parents or folder.parent == folder:
        raise UserError(f"cannot write into {folder}: a run replaces its folder as a whole, and this one holds the "
                        "current folder; give a subfolder for the outputs, e.g. --out runs/NAME")
    return folder


@contextmanager
def _locked(parent: Path) -> Iterator[None]:
    """An exclusive lock on the parent folder: two commits beside each other take turns."""
    handle = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _commit(folder: Path, staging: Path, command: str) -> None:
    written = sorted(path.relative_to(staging).as_posix() for path in staging.rglob("*")
                     if path.is_file() and not path.is_symlink())
    files = {name: file_sha256(staging / name) for name in written}
    manifest = {"format": FORMAT, "version": 1, "command": command,
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "files": files}
    write_text_atomic(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    if not folder.exists():
        os.rename(staging, folder)
        return
    _carry_user_files(folder, staging, set(previous_files(folder)))
    os.chmod(staging, stat.S_IMODE(folder.stat().st_mode))
    if _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = _sibling(folder, "old")
    os.rename(folder, old)
    os.rename(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def _carry_user_files(folder: Path, staging: Path, listed: set[str]) -> None:
    """Hard-link (or copy) into ``staging`` every file and symbolic link of ``folder`` the previous run did
    not write, and every empty folder, unless the new run wrote the same path."""
    for root, directories, names in os.walk(folder):
        relative = Path(root).relative_to(folder)
        for name in directories + names:
            source, path = Path(root) / name, (relative / name).as_posix()
            target = staging / path
            if path == MANIFEST or path in listed or target.exists() or target.is_symlink():
                continue
            if source.is_symlink():
                _parents(folder, staging, target)
                os.symlink(os.readlink(source), target)
            elif source.is_dir() and not any(source.iterdir()):
                _parents(folder, staging, target)
                target.mkdir()
                shutil.copymode(source, target)
            elif source.is_file():
                _parents(folder, staging, target)
                _link_or_copy(source, target)


def _parents(folder: Path, staging: Path, target: Path) -> None:
    """Create the folders above ``target`` in ``staging`` with the modes of their counterparts in ``folder``."""
    missing = [parent for parent in target.relative_to(staging).parents if not (staging / parent).exists()]
    for parent in reversed(missing):
        (staging / parent).mkdir()
        shutil.copymode(folder / parent, staging / parent)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 with RENAME_EXCHANGE); False where it is not available."""
    call = getattr(_LIBC, "renameat2", None)
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


# Checking a folder --------------------------------------------------------------------------------

@dataclass
class FolderCheck:
    """What ``verify_folder`` found: the manifest's command and time, and every difference from it."""

    folder: Path
    command: str
    finished: str
    files: int
    problems: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    """Files the run did not write (the user's own): allowed, listed for information."""


def verify_folder(folder: str | Path) -> FolderCheck:
    """Check every file the folder's manifest lists against its SHA-256; a missing or unreadable manifest is a UserError."""
    folder = Path(folder)
    if not folder.is_dir():
        interrupted = [old for old, _ in _leftovers(folder.absolute(), "old")]
        hint = (f"; an interrupted commit left the previous run at {interrupted[0]}: the next run into the folder "
                "restores it") if interrupted else "; check the path"
        raise UserError(f"{folder} is not a folder{hint}")
    try:
        manifest = read_manifest(folder)
    except FileNotFoundError:
        raise UserError(f"{folder} has no {MANIFEST}; only folders written by accel demo, compress, energy, export and "
                        "verilog have one") from None
    except OSError as error:
        raise UserError(f"{folder / MANIFEST} cannot be read ({error.strerror or error})") from None
    except (UserError, ValueError, RecursionError, UnicodeDecodeError):
        raise UserError(f"{folder / MANIFEST} is not a readable {FORMAT} (damaged or edited); rerun the command "
                        "that wrote the folder") from None
    files = manifest["files"]
    check = FolderCheck(folder, str(manifest.get("command", "?")), str(manifest.get("finished", "?")), len(files))
    for name, digest in files.items():
        if not _inside(name) or not isinstance(digest, str):
            check.problems.append(f"manifest entry {name!r} is not a file of the folder with its SHA-256")
            continue
        path = folder / name
        if path.is_symlink() or not path.is_file():
            check.problems.append(f"{name}: missing")
        elif file_sha256(path) != digest:
            check.problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
    listed = set(files) | {MANIFEST}
    check.unlisted = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                            if (path.is_file() or path.is_symlink()) and path.relative_to(folder).as_posix() not in listed)
    return check
