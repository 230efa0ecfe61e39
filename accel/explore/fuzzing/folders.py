"""Output folders as a fuzz target: ``accel check`` (``verify_folder``) on damaged copies of a committed run."""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.run_folder import MANIFEST, FolderCheck, read_manifest, run_folder, verify_folder
from accel.explore.fuzzing import mutate

FILES = {"report.md": b"# run\n", "batch0/load.hex": b"0001\n0002\n", "batch1/load.hex": b"0003\n", "model.npz": bytes(64)}


def folder_seed(folder: Path) -> Path:
    out = folder / "run"
    with run_folder(out, "accel export model.dc.npz --out run") as staged:
        for name, data in FILES.items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(data)
    return out


def folder_mutate_path(rng: random.Random, seed: Path, out: Path) -> Path:
    """A copy of the folder with its manifest or one of its files damaged, removed, added or replaced by a folder."""
    shutil.copytree(seed, out)
    files = sorted(path for path in out.rglob("*") if path.is_file())
    victim = rng.choice(files)
    choice = rng.randrange(6)
    if choice < 3 or victim.name == MANIFEST and choice < 4:
        mutators = mutate.BYTE_MUTATORS + ([mutate.json_structure] * 3 if victim.name == MANIFEST else [])
        victim.write_bytes(rng.choice(mutators)(rng, victim.read_bytes()))
    elif choice == 3:
        victim.unlink()
    elif choice == 4:
        (out / rng.choice(["extra.txt", "batch0/extra.hex", ".hidden"])).write_bytes(b"x")
    else:
        victim.unlink()
        victim.mkdir()
    return out


def read_folder(path: Path) -> FolderCheck:
    """The check's verdict: a folder that differs from its manifest is refused (as ``accel check`` exits 1)."""
    check = verify_folder(path)
    if check.problems:
        raise UserError("; ".join(check.problems))
    return check


def folder_fingerprint(check: FolderCheck) -> tuple:
    """The files the manifest lists, with their bytes."""
    files = read_manifest(check.folder)["files"]
    return tuple(sorted((name, (check.folder / name).read_bytes()) for name in files))


def folder_check(check: FolderCheck) -> None:
    """An accepted folder (its manifest edited, say) holds every file its manifest lists, with that SHA-256."""
    for name, digest in read_manifest(check.folder)["files"].items():
        assert hashlib.sha256((check.folder / name).read_bytes()).hexdigest() == digest, name
