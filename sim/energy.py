"""Energy of a simulated layer: activity (counters and PE-cycles) x per-action energies.

Counts come from the simulator (``LayerResult.counters``, accel/arch/TIMING.md) and the cycle count;
energies from an ``accel.arch.energy.EnergyTable``. This module only names the terms and multiplies: a
term is one priced action with the activity it is counted by, the module of the paper's Table II it
belongs to, and its type (memory, clock, register, combinational). A breakdown keeps the activity
and the terms apart, so its total can be recomputed from a run's JSON alone.

Per-cycle terms use ``pe_cycles`` = PEs x cycles: the clock network (every PE is clocked in every
cycle, busy or idle) and SRAM leakage. Register files and FIFOs are clock-gated per entry (their
clock energy on a write is part of the register-file access energy; each entry's clock gate is a
sink clocked every cycle); pipeline, column-state and line-buffer flip-flops are clocked every cycle.

Two comparison points put EIE in context:

* ``dense_in_dram_energy``: every weight of the dense matrix as a 32-bit float from DRAM, a float
  multiply and add per weight, inputs and outputs through a 32 KB SRAM cache.
* ``compressed_in_dram_energy``: EIE's own activity, with the sparse matrix and pointers in DRAM.

Not modelled: the central unit (LNZD tree, broadcast wires; Table II covers a PE only), the clock
tree's buffers, logic leakage, control logic and I/O-mode loading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from sim.results import LayerResult

MODULES = ("activation queue", "pointer read", "sparse-matrix read", "arithmetic", "activation read/write", "DRAM")
"""Table II's five PE modules, and DRAM for the placements that fetch weights from it."""
TYPES = ("memory", "clock", "register", "combinational", "DRAM")
PER_CYCLE = "pe_cycles"


@dataclass(frozen=True)
class EnergyTerm:
    """One priced action: ``pj`` for every unit of ``activity``."""

    name: str
    activity: str
    pj: float
    module: str
    kind: str

    def to_dict(self) -> dict:
        return {"name": self.name, "activity": self.activity, "pJ": self.pj, "module": self.module, "type": self.kind}


@dataclass
class EnergyBreakdown:
    """Activity counts, the terms that price them, and the useful operations the energy bought."""

    label: str
    activity: dict[str, int]
    terms: list[EnergyTerm]
    operations: int
    """Useful operations: 2 per multiply-accumulate with a non-zero weight and input."""

    def term_pj(self, term: EnergyTerm) -> float:
        return self.activity.get(term.activity, 0) * term.pj

    @property
    def total_pj(self) -> float:
        return float(sum(self.term_pj(term) for term in self.terms))

    @property
    def pj_per_op(self) -> float:
        return self.total_pj / max(1, self.operations)

    def by(self, attribute: str, keys: tuple[str, ...]) -> dict[str, float]:
        totals = dict.fromkeys(keys, 0.0)
        for term in self.terms:
            totals[getattr(term, attribute)] += self.term_pj(term)
        return totals

    @property
    def components(self) -> dict[str, float]:
        """Energy (pJ) by module."""
        return self.by("module", MODULES)

    @property
    def by_type(self) -> dict[str, float]:
        return self.by("kind", TYPES)

    def to_dict(self) -> dict:
        return {"label": self.label, "total_pJ": self.total_pj, "pJ_per_op": self.pj_per_op,
                "operations": self.operations, "activity": dict(self.activity),
                "terms": [term.to_dict() for term in self.terms],
                "by_module_pJ": self.components, "by_type_pJ": self.by_type}


def recompute_total(energy: dict) -> float:
    """The total pJ of a breakdown's ``to_dict()`` from its activity and terms alone."""
    return float(sum(energy["activity"].get(term["activity"], 0) * term["pJ"] for term in energy["terms"]))


def pipeline_register_bits(config: ArchConfig) -> int:
    """Bits of the arithmetic pipeline's registers, in the paper's four-stage pipeline.

    (The RTL's deeper pipeline for FPGA timing, ``pipeline_latency``, is not priced.) After stage 1 (codebook lookup, row address): weight, activation, row, valid; after stage 2
    (accumulator read, multiply): product, accumulator value, row, valid; after stage 3 (shift and
    add): sum, row, valid. Stage 4 writes the destination register file.
    """
    row, product = max(1, math.ceil(math.log2(config.regfile_entries))), config.act_bits + config.weight_bits
    return (config.weight_bits + config.act_bits + row + 1) + (product + config.acc_bits + row + 1) + (config.acc_bits + row + 1)


def clock_sinks(config: ArchConfig) -> dict[str, int]:
    """Clock sinks (flip-flops clocked every cycle, and one clock gate per register-file entry) by module."""
    row = max(1, math.ceil(math.log2(config.regfile_entries)))
    return {
        "activation queue": config.fifo_depth + 2 * math.ceil(math.log2(config.fifo_depth + 1)),
        "pointer read": 2 * config.ptr_bits + config.act_bits + row,
        "sparse-matrix read": config.line_bits + config.ptr_bits,
        "arithmetic": pipeline_register_bits(config) + config.codebook_size,
        "activation read/write": 2 * config.regfile_entries + row,
    }


def energy_terms(config: ArchConfig, table: EnergyTable, leakage: bool = True) -> list[EnergyTerm]:
    """Every priced action of one PE array under ``config`` (``leakage=False`` drops the SRAM leakage terms)."""
    act, acc, fifo_bits = config.act_bits, config.acc_bits, config.act_bits + config.ptr_bits
    flop = table.actions["flop_write_bit"]
    spmat, ptr_bank, act_sram = config.spmat_sram_bytes, config.ptr_sram_bytes / 2, config.act_sram_bytes
    terms = [
        EnergyTerm("activation FIFO push", "fifo_pushes", table.register_file(fifo_bits), "activation queue", "register"),
        EnergyTerm("activation FIFO pop", "fifo_pops", table.register_file(fifo_bits), "activation queue", "register"),
        EnergyTerm("pointer SRAM read (even and odd bank)", "ptr_reads", 2 * table.sram_read(ptr_bank, config.ptr_bits),
                   "pointer read", "memory"),
        EnergyTerm("column state register write", "ptr_reads", (2 * config.ptr_bits + act) * flop, "pointer read", "register"),
        EnergyTerm("sparse-matrix SRAM line read", "spmat_line_reads", table.sram_read(spmat, config.line_bits),
                   "sparse-matrix read", "memory"),
        EnergyTerm("line buffer write", "spmat_line_reads", config.line_bits * flop, "sparse-matrix read", "register"),
        EnergyTerm("codebook read", "codebook_reads", table.register_file(config.weight_bits), "arithmetic", "register"),
        EnergyTerm("multiply", "multiplies", table.int_mult(max(act, config.weight_bits)), "arithmetic", "combinational"),
        EnergyTerm("accumulate (add)", "adds", table.int_add(acc), "arithmetic", "combinational"),
        EnergyTerm("pipeline registers", "multiplies", pipeline_register_bits(config) * flop, "arithmetic", "register"),
        EnergyTerm("destination register read", "acc_reads", table.register_file(acc), "activation read/write", "register"),
        EnergyTerm("destination register write", "acc_writes", table.register_file(acc), "activation read/write", "register"),
        EnergyTerm("source register read (LNZD)", "lnzd_reads", table.register_file(act), "activation read/write", "register"),
        EnergyTerm("write-back (ReLU, register write)", "writebacks", table.register_file(act), "activation read/write", "register"),
        EnergyTerm("activation SRAM read", "act_sram_reads", table.sram_read(act_sram, act), "activation read/write", "memory"),
        EnergyTerm("activation SRAM write", "act_sram_writes", table.sram_write(act_sram, act), "activation read/write", "memory"),
    ]
    per_sink = table.actions["flop_clock"] + table.actions["clock_wire_per_sink"]
    terms += [EnergyTerm(f"clock: {module}", PER_CYCLE, sinks * per_sink, module, "clock")
              for module, sinks in clock_sinks(config).items()]
    if leakage:
        cycle_ns = config.cycle_ns  # mW x ns = pJ
        terms += [
            EnergyTerm("leakage: pointer SRAM", PER_CYCLE, 2 * table.sram_leakage_mw(ptr_bank, config.ptr_bits) * cycle_ns,
                       "pointer read", "memory"),
            EnergyTerm("leakage: sparse-matrix SRAM", PER_CYCLE, table.sram_leakage_mw(spmat, config.line_bits) * cycle_ns,
                       "sparse-matrix read", "memory"),
            EnergyTerm("leakage: activation SRAM", PER_CYCLE, table.sram_leakage_mw(act_sram, act) * cycle_ns,
                       "activation read/write", "memory"),
        ]
    return terms


def activity(result: LayerResult) -> dict[str, int]:
    """The simulator's counters and the PE-cycles of the run."""
    return {**result.counters, PER_CYCLE: result.config.n_pes * result.cycles}


def eie_energy(result: LayerResult, table: EnergyTable, useful_macs: int, label: str = "EIE (SRAM)",
               leakage: bool = True) -> EnergyBreakdown:
    """Energy of the simulated run with everything in on-chip SRAM and register files."""
    return EnergyBreakdown(label, activity(result), energy_terms(result.config, table, leakage), 2 * useful_macs)


def compressed_in_dram_energy(result: LayerResult, table: EnergyTable, useful_macs: int) -> EnergyBreakdown:
    """EIE's activity with the sparse matrix and the pointers fetched from DRAM instead of SRAM."""
    config = result.config
    on_chip = [term for term in energy_terms(config, table)
               if term.module not in ("sparse-matrix read", "pointer read") or term.kind in ("register", "clock")]
    dram = [EnergyTerm("sparse-matrix line from DRAM", "spmat_line_reads", table.dram(config.line_bits), "DRAM", "DRAM"),
            EnergyTerm("pointers from DRAM", "ptr_reads", table.dram(2 * config.ptr_bits), "DRAM", "DRAM")]
    return EnergyBreakdown("compressed, weights in DRAM", activity(result), on_chip + dram, 2 * useful_macs)


def dense_in_dram_energy(rows: int, cols: int, table: EnergyTable, useful_macs: int) -> EnergyBreakdown:
    """A dense float32 matrix-vector product with the weights streamed from DRAM."""
    terms = [EnergyTerm("weight from DRAM (float32)", "weights", table.actions["dram_32"], "DRAM", "DRAM"),
             EnergyTerm("float multiply and add", "weights", table.actions["float_mult_32"] + table.actions["float_add_32"],
                        "arithmetic", "combinational"),
             EnergyTerm("input or output through a 32 KB SRAM cache", "inputs_and_outputs", table.actions["sram_cache_32"],
                        "activation read/write", "memory")]
    return EnergyBreakdown("dense, weights in DRAM", {"weights": rows * cols, "inputs_and_outputs": rows + cols},
                           terms, 2 * useful_macs)


def useful_macs(codes: np.ndarray, inputs_fixed: np.ndarray) -> int:
    """Multiply-accumulates with a non-zero weight and a non-zero input."""
    return int(np.count_nonzero(codes[:, np.asarray(inputs_fixed) != 0]))
