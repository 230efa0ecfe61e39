"""A run's files are committed as a whole: a failed, interrupted, killed or smaller later run never leaves a mixed folder."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import accel.hdl.host.design_folder
from accel.arch import run_folder as folders
from accel.arch.errors import UserError
from accel.arch.run_folder import MANIFEST, restore, run_folder, verify_folder
from accel.cli import main


def write(folder, files):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def contents(folder):
    """Every file under ``folder`` with its text (the manifest reduced to its command and files)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = path.read_text()
            if path.name == MANIFEST:
                manifest = json.loads(text)
                text = (manifest["command"], sorted(manifest["files"]))
            found[path.relative_to(folder).as_posix()] = text
    return found


def test_commit_lists_every_file_with_its_digest(tmp_path):
    out = tmp_path / "out"
    with run_folder(out, "first") as staged:
        write(staged, {"a.csv": "1", "batch0/load.hex": "2"})
        assert not out.exists() and staged.parent == tmp_path  # assembled beside the folder, nothing in place yet
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["command"] == "first"
    assert manifest["files"] == {"a.csv": hashlib.sha256(b"1").hexdigest(), "batch0/load.hex": hashlib.sha256(b"2").hexdigest()}
    assert sorted(os.listdir(tmp_path)) == ["out"]
    check = verify_folder(out)
    assert check.problems == [] and check.files == 2 and check.command == "first"


def test_a_failed_run_leaves_the_previous_one_and_a_smaller_run_removes_its_leftovers(tmp_path):
    out = tmp_path / "out"
    with run_folder(out, "first") as staged:
        write(staged, {"a.csv": "1", "b.csv": "1", "batch1/load.hex": "1"})
    write(out, {"notes.txt": "the user's own", "docs/readme.txt": "also", "batch1/mine.txt": "beside a run file"})
    (out / "empty").mkdir()
    os.symlink("notes.txt", out / "link")
    with pytest.raises(RuntimeError), run_folder(out, "failing") as staged:
        write(staged, {"a.csv": "2"})
        raise RuntimeError("the simulation failed")
    assert (out / "a.csv").read_text() == "1" and json.loads((out / MANIFEST).read_text())["command"] == "first"
    with run_folder(out, "second") as staged:
        write(staged, {"a.csv": "3", "notes.txt": "written by the run"})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted(
        ["a.csv", "notes.txt", "docs", "docs/readme.txt", "batch1", "batch1/mine.txt", "empty", "link", MANIFEST])
    assert (out / "a.csv").read_text() == "3" and (out / "notes.txt").read_text() == "written by the run"
    assert os.readlink(out / "link") == "notes.txt" and sorted(os.listdir(tmp_path)) == ["out"]
    check = verify_folder(out)
    assert check.problems == [] and check.unlisted == ["batch1/mine.txt", "docs/readme.txt", "link"]


def test_leftovers_of_killed_processes_are_removed_or_restored(tmp_path):
    out = tmp_path / "out"
    (tmp_path / ".out.staging-999999999-abcd").mkdir()
    write(tmp_path / ".out.old-999999998-abcd", {"a.csv": "previous"})
    with run_folder(out, "next") as staged:  # the old folder comes back first, then the run replaces it
        write(staged, {"b.csv": "1"})
    assert sorted(os.listdir(tmp_path)) == ["out"] and contents(out) == {
        "a.csv": "previous", "b.csv": "1", MANIFEST: ("next", ["b.csv"])}


def test_the_current_folder_and_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="holds the current folder"), run_folder(".", "x"):
        pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="it is a file"), run_folder(tmp_path / "file", "x"):
        pass


DRIVER = """
import os, signal, sys
from pathlib import Path
import accel.arch.run_folder as folders

kill_at, folder = int(sys.argv[1]), Path(sys.argv[2])
steps = [0]


def step(function):
    def counted(*args, **kwargs):
        steps[0] += 1
        if steps[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, **kwargs)
    return counted


if sys.argv[3] == "two renames":
    folders._exchange = lambda first, second: False
with folders.run_folder(folder, "second") as staged:
    (staged / "a.csv").write_text("new a")
    (staged / "batch0").mkdir()
    (staged / "batch0" / "load.hex").write_text("new load")
    for name in ("open", "rename", "replace", "link", "unlink", "rmdir", "mkdir", "symlink", "chmod", "fsync"):
        setattr(os, name, step(getattr(os, name)))
    folders._exchange = step(folders._exchange)
print(steps[0])
"""


@pytest.mark.parametrize("swap", ["exchange", "two renames"])
def test_a_commit_killed_at_any_step_leaves_the_old_run_or_the_new_one(tmp_path, swap):
    """SIGKILL before each file-system call of the commit: the folder then holds the first run or the
    second, never a mix (with two renames: after the next run's restore, which puts the old folder back)."""
    user = {"notes.txt": "mine", "docs/readme.txt": "also mine"}
    old = {"a.csv": "old a", "b.csv": "old b", "batch0/load.hex": "old load", **user,
           MANIFEST: ("first", ["a.csv", "b.csv", "batch0/load.hex"])}
    new = {"a.csv": "new a", "batch0/load.hex": "new load", **user, MANIFEST: ("second", ["a.csv", "batch0/load.hex"])}
    seen, kill_at = set(), 1
    while True:
        out = tmp_path / f"k{kill_at}" / "out"
        with run_folder(out, "first") as staged:
            write(staged, {"a.csv": "old a", "b.csv": "old b", "batch0/load.hex": "old load"})
        write(out, user)
        ran = subprocess.run([sys.executable, "-c", DRIVER, str(kill_at), str(out), swap], capture_output=True, text=True)
        killed = ran.returncode == -signal.SIGKILL
        assert killed or ran.returncode == 0, ran.stderr
        if swap == "two renames":
            restore(out)
        found = contents(out)
        assert found in (old, new), f"killed before step {kill_at}: {found}"
        assert verify_folder(out).problems == []
        seen.add("old" if found == old else "new")
        if not killed:
            assert int(ran.stdout) == kill_at - 1 and found == new
            break
        kill_at += 1
    assert seen == {"old", "new"} and kill_at > 10


def test_accel_check_finds_every_difference_from_the_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    with run_folder(out, "accel export x") as staged:
        write(staged, {"a.npz": "1", "sub/b.npz": "2"})
    (out / "mine.txt").write_text("x")
    assert main(["check", str(out)]) == 0
    assert "2 files match manifest.json" in capsys.readouterr().out
    (out / "a.npz").write_text("edited")
    (out / "sub" / "b.npz").unlink()
    assert main(["check", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "a.npz: changed" in printed and "sub/b.npz: missing" in printed and "2 of 2 files" in printed
    (out / MANIFEST).write_text("{")
    assert main(["check", str(out)]) == 2
    assert "not a readable eie-run-manifest" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "none")]) == 2


def test_sigterm_during_accel_verilog_keeps_the_previous_folder(tmp_path, capsys, monkeypatch):
    out, config = tmp_path / "design", tmp_path / "small.json"
    config.write_text(json.dumps({"n_pes": 2, "spmat_sram_bytes": 1024, "ptr_sram_bytes": 256, "regfile_entries": 4}))
    assert main(["verilog", "--config", str(config), "--out", str(out)]) == 0
    before = contents(out)
    written = accel.hdl.host.design_folder.write_text_atomic

    def killed_midway(path, text):
        if path.name == "design.json":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        return written(path, text)

    monkeypatch.setattr(accel.hdl.host.design_folder, "write_text_atomic", killed_midway)
    assert main(["verilog", "--config", str(config), "--pes", "4", "--out", str(out)]) == 143
    assert "terminated" in capsys.readouterr().err
    assert contents(out) == before and sorted(os.listdir(tmp_path)) == ["design", "small.json"]


def test_two_folders_swap_in_one_step(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, {"x": "1"})
    write(second, {"y": "2"})
    assert folders._exchange(first, second) and os.listdir(first) == ["y"] and os.listdir(second) == ["x"]
