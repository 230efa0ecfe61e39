"""A run's files are committed together: a failed, interrupted or smaller later run never leaves a mixed folder."""

import hashlib
import json
import os
import signal
import time

import pytest

import hdl.design_folder
from accel.arch.run_folder import MANIFEST, run_folder
from accel.cli import main


def write(folder, files):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_commit_lists_every_file_with_its_digest(tmp_path):
    with run_folder(tmp_path, "first") as staged:
        write(staged, {"a.csv": "1", "batch0/load.hex": "2"})
        assert listing(tmp_path) == [staged.name, f"{staged.name}/a.csv", f"{staged.name}/batch0",
                                     f"{staged.name}/batch0/load.hex"]  # nothing in place before the commit
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["command"] == "first"
    assert manifest["files"] == {"a.csv": hashlib.sha256(b"1").hexdigest(), "batch0/load.hex": hashlib.sha256(b"2").hexdigest()}
    assert listing(tmp_path) == sorted(["a.csv", "batch0", "batch0/load.hex", MANIFEST])


def test_a_failed_run_leaves_the_previous_one_and_a_smaller_run_removes_its_leftovers(tmp_path):
    with run_folder(tmp_path, "first") as staged:
        write(staged, {"a.csv": "1", "b.csv": "1", "batch1/load.hex": "1"})
    (tmp_path / "notes.txt").write_text("the user's own")
    with pytest.raises(RuntimeError), run_folder(tmp_path, "failing") as staged:
        write(staged, {"a.csv": "2"})
        raise RuntimeError("the simulation failed")
    assert (tmp_path / "a.csv").read_text() == "1" and json.loads((tmp_path / MANIFEST).read_text())["command"] == "first"
    with run_folder(tmp_path, "second") as staged:
        write(staged, {"a.csv": "3"})
    assert listing(tmp_path) == sorted(["a.csv", "notes.txt", MANIFEST])
    assert (tmp_path / "a.csv").read_text() == "3"


def test_staging_left_by_a_killed_process_is_removed(tmp_path):
    (tmp_path / ".staging-999999999-abcd").mkdir()
    with run_folder(tmp_path, "next") as staged:
        write(staged, {"a.csv": "1"})
    assert listing(tmp_path) == sorted(["a.csv", MANIFEST])


def test_sigterm_during_accel_verilog_keeps_the_previous_folder(tmp_path, capsys, monkeypatch):
    out, config = tmp_path / "design", tmp_path / "small.json"
    config.write_text(json.dumps({"n_pes": 2, "spmat_sram_bytes": 1024, "ptr_sram_bytes": 256, "regfile_entries": 4}))
    assert main(["verilog", "--config", str(config), "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in listing(out)}
    written = hdl.design_folder.write_text_atomic

    def killed_midway(path, text):
        if path.name == "design.json":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        return written(path, text)

    monkeypatch.setattr(hdl.design_folder, "write_text_atomic", killed_midway)
    assert main(["verilog", "--config", str(config), "--pes", "4", "--out", str(out)]) == 143
    assert "terminated" in capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in listing(out)} == before
