"""Output into a pipe that closes early (`accel ... | head`) ends quietly, as Unix tools do."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("arguments", [["simulate", "Alex-7"], ["simulate", "Alex-7", "--json"], ["--help"]])
def test_a_closed_pipe_ends_without_a_traceback(arguments):
    command = [sys.executable, "-m", "accel.cli", *arguments]
    reader = subprocess.Popen(["head", "-c", "100"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(command, stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120)
    reader.stdin.close()
    reader.wait(timeout=10)
    assert writer.returncode in (0, 141)
    assert writer.stderr == ""
