"""Every bad input, argument and output path: one line naming the problem, exit status 2."""

import gzip
import json
import os
import signal
import stat
import time

import numpy as np
import pytest

from accel.arch import files
from accel.arch.errors import UserError
from accel.arch.files import write_atomic
from accel.cli import main, simulate
from accel.models.datasets import read_idx


def one_line_error(capsys, argv) -> str:
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize("argv, message", [
    (["simulate", "Alex-7", "--seed", "-1"], "--seed: must be an integer from 0 to 4,294,967,295"),
    (["simulate", "Alex-7", "--pes", "0"], "--pes: must be a number of PEs from 1 to 4,096"),
    (["simulate", "Alex-7", "--clock-mhz", "inf"], "finite number"),
    (["simulate", "Alex-7", "--act-density", "nan"], "--act-density: must be a finite number at least 0 and at most 1"),
    (["simulate", "Nope-1"], "Nope-1"),
])
def test_bad_arguments(capsys, argv, message):
    assert message in one_line_error(capsys, argv)


def test_bad_input_vectors(tmp_path, capsys):
    (tmp_path / "empty.npy").write_bytes(b"")
    assert "is empty" in one_line_error(capsys, ["simulate", "Alex-7", "--input", str(tmp_path / "empty.npy")])
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    assert "only numeric" in one_line_error(capsys, ["simulate", "Alex-7", "--input", str(tmp_path / "text.npy")])
    np.save(tmp_path / "complex.npy", np.ones(3, dtype=complex))
    assert "real numbers" in one_line_error(capsys, ["simulate", "Alex-7", "--input", str(tmp_path / "complex.npy")])
    header = np.lib.format.header_data_from_array_1_0(np.zeros(3))
    header["shape"] = (10**12,)
    with open(tmp_path / "huge.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        file.write(b"\0" * 24)
    assert "declares shape" in one_line_error(capsys, ["simulate", "Alex-7", "--input", str(tmp_path / "huge.npy")])


def test_bad_config_files(tmp_path, capsys):
    config = tmp_path / "arch.json"
    for text, message in (('{"n_pes": [4]}', "must be a finite number"), ('{"clock_mhz": -1}', "clock_mhz=-1.0"),
                          ("[1]", "JSON object")):
        config.write_text(text)
        assert message in one_line_error(capsys, ["simulate", "Alex-7", "--config", str(config)])
    config.write_bytes(b"\x80\x81")
    assert "not UTF-8" in one_line_error(capsys, ["simulate", "Alex-7", "--config", str(config)])


def test_corrupt_gzip_idx(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x03abc")[:-6] + b"garbage")
    with pytest.raises(UserError, match="cannot be read"):
        read_idx(path)
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(40)))
    with pytest.raises(UserError, match="cannot be read"):
        read_idx(path)


def test_bad_output_paths(tmp_path, capsys, monkeypatch):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    base = ["simulate", "Alex-7", "--pes", "16", "--out"]
    assert "is a folder" in one_line_error(capsys, base + [str(tmp_path / "folder")])
    assert "is a file, not a folder" in one_line_error(capsys, base + [str(tmp_path / "file" / "run.json")])

    real_open = os.open

    def refuse(path, *args, **kwargs):  # the output folder only: numba's cache may open files elsewhere meanwhile
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refuse)
    assert "Permission denied" in one_line_error(capsys, base + [str(tmp_path / "run.json")])


def test_outputs_honour_the_umask_and_leave_no_temporary_files(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "a.txt", lambda file: file.write(b"x"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644

    def interrupted(file):
        file.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "b.txt", interrupted)
    (tmp_path / ".c.txt.999999999-abcd.tmp").write_text("left by a killed process")
    write_atomic(tmp_path / "c.txt", lambda file: file.write(b"x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.txt"]


def test_sigterm_removes_the_temporary_file(tmp_path, capsys, monkeypatch):
    def write_json(path, data):
        def slow(file):
            file.write(b"{")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        return write_atomic(path, slow)

    monkeypatch.setattr(simulate, "write_json", write_json)
    assert main(["simulate", "Alex-7", "--pes", "16", "--out", str(tmp_path / "run.json")]) == 143
    assert "terminated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_json_output_is_parseable(tmp_path, capsys):
    assert main(["simulate", "Alex-7", "--pes", "16", "--out", str(tmp_path / "run.json")]) == 0
    assert json.loads((tmp_path / "run.json").read_text())["layers"][0]["layer"] == "Alex-7"
