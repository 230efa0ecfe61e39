"""One sweep point as a self-contained task: plain data in, plain data out, runnable on any worker.

A task is a dict (``kind``, ``values``: every axis and base value with absolute paths,
``act_density``, ``timeout_s``, ``code_version``); ``run_point`` returns ``{"status": "ok",
"metrics": {...}}`` or ``{"status": "error", "error": "one line"}`` and never raises for a bad point.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import traceback
from pathlib import Path
from typing import Any

from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.files import file_sha256
from accel.explore.sweep_spec import DEFAULT_ENERGY_TABLE, config_of
from accel.explore.workloads import cached_layers, is_file_workload, random_inputs
from accel.sim.network import run_network

VERSIONED_PACKAGES = ("accel/arch", "accel/explore", "sim", "models", "hdl")
"""The code a point's result depends on: its source is hashed into every cache key."""


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (16 hex digits) over the source of the packages a result depends on."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in VERSIONED_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Compute one point; any failure becomes an error record instead of an exception."""
    if task["code_version"] != code_version():
        return {"status": "error", "error": f"worker code version {code_version()} differs from the sweep's "
                                           f"{task['code_version']}; install the same checkout on every worker"}
    try:
        if task["kind"] == "simulate":
            metrics = simulate_metrics(task["values"], task["act_density"])
        else:
            metrics = synthesis_metrics(task["values"], task["timeout_s"])
    except Exception as error:  # a failing point is recorded, not fatal
        return {"status": "error", "error": _one_line(error)}
    return {"status": "ok", "metrics": metrics}


def simulate_metrics(values: dict[str, Any], act_density: float) -> dict[str, Any]:
    """Cycles, activity and energy of a workload (a chain of layers runs one after the other)."""
    config, seed, source = config_of(values), values["seed"], values["workload"]
    table_source = values["energy_table"]
    table = energy_table(table_source, "" if table_source == DEFAULT_ENERGY_TABLE else file_sha256(table_source))
    layers, inputs = cached_layers(source, seed, file_sha256(source) if is_file_workload(source) else "")
    if inputs is None:
        inputs = random_inputs(layers[0].cols, act_density, seed)
    runs = run_network(layers, inputs, config, table)
    cycles = sum(run.result.cycles for run in runs)
    latency_us = cycles * config.cycle_ns / 1e3
    issue = sum(batch.t_issue for run in runs for batch in run.result.batches)
    busy = sum(float(batch.busy.sum()) for run in runs for batch in run.result.batches)
    eie_pj = sum(run.eie.total_pj for run in runs)
    operations = sum(run.eie.operations for run in runs)
    stored = sum(run.stored_entries for run in runs)
    counters = {name: sum(run.result.counters[name] for run in runs) for name in runs[0].result.counters}
    return {"cycles": cycles, "latency_us": latency_us,
            "efficiency": 1.0 if issue == 0 else busy / (config.n_pes * issue),
            "utilisation": 1.0 if issue == 0 else counters["multiplies"] / (config.n_pes * issue),
            "stall_cycles": sum(run.result.stall_cycles for run in runs), "energy_uJ": eie_pj / 1e6,
            "pJ_per_op": eie_pj / max(1, operations), "gop_per_s": operations / (latency_us * 1e3) if cycles else 0.0,
            "dense_dram_uJ": sum(run.energies[-1].total_pj for run in runs) / 1e6, "stored_entries": stored,
            "padding_pct": 100 * sum(run.padding_entries for run in runs) / max(1, stored),
            "fits_on_chip": all(not run.capacity_problems for run in runs), **counters}


def synthesis_metrics(values: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Place and route the array of one point in a scratch folder, within ``timeout_s`` of wall clock."""
    from accel.hdl.flow.synth import synthesize

    config = config_of(values)
    with tempfile.TemporaryDirectory(prefix="eie-synth-") as work:
        result = synthesize(config, values["device"], Path(work), router=values.get("router"), seed=values["seed"],
                            timeout_s=timeout_s)
    if not result.converged:
        raise UserError(result.message)
    used = {name: entry["used"] for name, entry in result.resources.items()}
    return {"fits": result.fits, "fmax_mhz": result.fmax_mhz, "luts": used.get("luts"), "ffs": used.get("ffs"),
            "brams": used.get("brams"), "multipliers": used.get("multipliers"), "seconds": result.seconds,
            "message": result.message}


@functools.lru_cache(maxsize=8)
def energy_table(source: str, digest: str) -> EnergyTable:
    """The table at ``source`` kept for the process; ``digest`` keys a changed file apart."""
    return EnergyTable.load(None if source == DEFAULT_ENERGY_TABLE else source)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    origin = f" at {Path(where.filename).name}:{where.lineno}" if where and type(error).__name__ != "UserError" else ""
    return f"{type(error).__name__}{origin}: {text}"[:500]

