"""cocotb testbench of the generated EIE array: load, run and read back every batch of every case.

The one host (``accel.hdl.host.array_host``) plays each case over the ports (``PortLink``) and compares
outputs, cycle counts and counters with the simulator's (the cases of accel.hdl.host.cases). What it saw
goes to ``$EIE_RESULTS``; the pytest side asserts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.utils import get_sim_time

from accel.hdl.host.array_host import ArrayHost
from accel.hdl.host.cases import LayerCase
from accel.hdl.host.port_link import CocotbBackend, PortLink
from accel.hdl.protocol.ports import PULSES

CLOCK_NS = 10


@cocotb.test()
async def layers_match_the_simulator(dut) -> None:
    cases = [LayerCase.from_json(case) for case in json.loads(Path(os.environ["EIE_CASES"]).read_text())]
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    backend = CocotbBackend(dut, CLOCK_NS)
    for name in PULSES:
        backend.set(name, 0)
    backend.set("rst", 1)
    await backend.tick()
    await backend.tick()
    backend.set("rst", 0)
    report = {"cases": [], "mismatches": 0, "compute_cycles": 0, "compute_s": 0.0}
    started = time.perf_counter()
    for case in cases:
        host = ArrayHost(PortLink(backend, case.n_pes))
        for index, batch in enumerate(case.batches):
            seen = await host.run_batch(case, batch)
            problems = host.problems(case, batch, seen)
            report["mismatches"] += bool(problems)
            report["compute_cycles"] += seen.cycles
            report["compute_s"] += seen.compute_s
            report["cases"].append({"case": case.name, "batch": index, "cycles": seen.cycles, "problems": problems})
    report["testbench_s"] = time.perf_counter() - started
    report["clock_cycles"] = int(get_sim_time(unit="ns") // CLOCK_NS)
    Path(os.environ["EIE_RESULTS"]).write_text(json.dumps(report, indent=1))
    assert report["mismatches"] == 0, [c for c in report["cases"] if c["problems"]]
