"""cocotb testbench of the generated EIE array: load, run and read back every batch of every case.

It compares outputs, cycle counts and per-PE counters with the simulator's expectations (made by
hdl.cosim.prepare_case) and writes what it saw to ``$EIE_RESULTS``; the pytest side asserts.
Signals are driven and sampled on falling edges, so every rising edge sees settled inputs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time

CLOCK_NS = 10


async def tick(dut, cycles: int = 1) -> None:
    for _ in range(cycles):
        await FallingEdge(dut.clk)


async def run_batch(dut, case: dict, batch: dict) -> dict:
    dut.load_en.value = 1
    for target, pe, addr, data in batch["writes"]:
        dut.load_broadcast.value = int(pe < 0)
        dut.load_pe.value = max(pe, 0)
        dut.load_target.value = target
        dut.load_addr.value = addr
        dut.load_data.value = int(data)
        await tick(dut)
    dut.load_en.value = 0
    dut.act_clear.value = 1
    await tick(dut)
    dut.act_clear.value = 0
    dut.act_en.value = 1
    for index, value in enumerate(case["inputs"]):
        dut.act_index.value = index
        dut.act_value.value = value & ((1 << len(dut.act_value)) - 1)
        await tick(dut)
    dut.act_en.value = 0
    dut.relu.value = int(case["relu"])
    dut.rows.value = batch["rows"]
    dut.start.value = 1
    await tick(dut)
    dut.start.value = 0
    # Compute mode runs in Icarus alone, without a Python call per cycle.
    started = time.perf_counter()
    try:
        await with_timeout(RisingEdge(dut.done), 100 * (batch["expected_cycles"] + 100) * CLOCK_NS, "ns")
    except SimTimeoutError:
        raise AssertionError(f"{case['name']}: the array never finished") from None
    await tick(dut)
    seen = {"cycles": int(dut.cycles.value), "compute_s": time.perf_counter() - started, "outputs": [],
            "line_reads": 0, "bypasses": 0, "busy": [], "pops": 0, "ptr_reads": 0,
            "broadcasts": int(dut.stat_broadcasts.value), "stall": int(dut.stat_stall.value),
            "t_issue": int(dut.stat_t_issue.value)}
    outputs = [0] * len(batch["expected_outputs"])
    for pe, rows in enumerate(batch["pe_rows"]):
        dut.out_pe.value = pe
        await tick(dut)
        seen["line_reads"] += int(dut.stat_line_reads.value)
        seen["bypasses"] += int(dut.stat_bypasses.value)
        seen["busy"].append(int(dut.stat_busy.value))
        seen["pops"] += int(dut.stat_pops.value)
        seen["ptr_reads"] += int(dut.stat_ptr_reads.value)
        for row in range(rows):
            dut.out_addr.value = row
            await tick(dut)
            outputs[row * case["n_pes"] + pe] = dut.out_data.value.to_signed()
    seen["outputs"] = outputs
    return seen


@cocotb.test()
async def layers_match_the_simulator(dut) -> None:
    cases = json.loads(Path(os.environ["EIE_CASES"]).read_text())
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    for name in ("load_en", "act_en", "act_clear", "start"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await tick(dut, 2)
    dut.rst.value = 0
    report = {"cases": [], "mismatches": 0, "compute_cycles": 0, "compute_s": 0.0}
    started = time.perf_counter()
    for case in cases:
        for index, batch in enumerate(case["batches"]):
            seen = await run_batch(dut, case, batch)
            problems = []
            if seen["outputs"] != batch["expected_outputs"]:
                wrong = sum(a != b for a, b in zip(seen["outputs"], batch["expected_outputs"]))
                problems.append(f"{wrong} outputs differ")
            for key in ("cycles", "t_issue", "stall", "broadcasts", "line_reads", "bypasses", "busy", "pops", "ptr_reads"):
                if seen[key] != batch[f"expected_{key}"]:
                    problems.append(f"{key}: RTL {seen[key]}, simulator {batch[f'expected_{key}']}")
            report["mismatches"] += bool(problems)
            report["compute_cycles"] += seen["cycles"]
            report["compute_s"] += seen["compute_s"]
            report["cases"].append({"case": case["name"], "batch": index, "cycles": seen["cycles"], "problems": problems})
    report["testbench_s"] = time.perf_counter() - started
    report["clock_cycles"] = int(get_sim_time(unit="ns") // CLOCK_NS)
    Path(os.environ["EIE_RESULTS"]).write_text(json.dumps(report, indent=1))
    assert report["mismatches"] == 0, [c for c in report["cases"] if c["problems"]]
