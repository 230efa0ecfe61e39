"""Energy of a simulated layer: activity (counters and PE-cycles) x per-action energies.

Counts come from the simulator (``LayerResult.counters``, accel/arch/TIMING.md) and the cycle count;
energies from an ``accel.arch.energy.EnergyTable``. This module only names the terms and multiplies: a
term is one priced action with the activity it is counted by, the module of the paper's Table II it
belongs to, and its type (memory, clock, register, combinational). A breakdown keeps the activity
and the terms apart, so its total can be recomputed from a run's JSON alone.

Per-cycle terms use ``pe_cycles`` = PEs x cycles: the clock network (every PE is clocked in every
cycle, busy or idle) and SRAM leakage. Every storage (activation queue, pointer banks, sparse-matrix memory,
codebook, source and destination registers, activation memory) is priced by its implementation, which the table
decides from its size (``EnergyTable.implementation``): an SRAM (type memory), or small storage built from
flip-flops (writes: type register; reads through the multiplexer tree: type combinational) or priced at a register
file's energy (type register). Flip-flop storage is clock-gated per entry (each entry's clock gate is a sink clocked
every cycle; the written entry's clock pulse is part of the write); pipeline, column-state and line-buffer
flip-flops are clocked every cycle.

Two comparison points put EIE in context:

* ``dense_in_dram_energy``: every weight of the dense matrix as a 32-bit float from DRAM, a float
  multiply and add per weight, inputs and outputs through a 32 KB SRAM cache.
* ``compressed_in_dram_energy``: EIE's own activity, with the sparse matrix and pointers in DRAM.

Not modelled: the central unit (LNZD tree, broadcast wires; Table II covers a PE only), the clock
tree's buffers, standard-cell leakage (flip-flops, multiplexers, logic), control logic and I/O-mode loading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from accel.sim.results import LayerResult

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
    storage: str = ""
    """The storage the action reads or writes, with its implementation ("" for logic)."""

    def to_dict(self) -> dict:
        return {"name": self.name, "activity": self.activity, "pJ": self.pj, "module": self.module, "type": self.kind,
                "storage": self.storage}


@dataclass
class EnergyBreakdown:
    """Activity counts, the terms that price them, and the useful operations the energy bought."""

    label: str
    activity: dict[str, int]
    terms: list[EnergyTerm]
    operations: int
    """Useful operations: 2 per multiply-accumulate with a non-zero weight and input."""

    def __post_init__(self) -> None:
        uncounted = sorted({term.activity for term in self.terms} - set(self.activity))
        if uncounted:
            raise ValueError(f"energy terms price the activities {uncounted}, which are not counted; "
                             f"count them or remove the terms (counted: {sorted(self.activity)})")

    def term_pj(self, term: EnergyTerm) -> float:
        return self.activity[term.activity] * term.pj

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
    """The total pJ of a breakdown's ``to_dict()`` from its activity and terms alone (a term whose activity was
    not recorded is an error, not zero)."""
    uncounted = sorted({term["activity"] for term in energy["terms"]} - set(energy["activity"]))
    if uncounted:
        raise UserError(f"energy terms price the activities {uncounted}, which the record does not count; "
                        "write the record again with accel simulate --out")
    return float(sum(energy["activity"][term["activity"]] * term["pJ"] for term in energy["terms"]))


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


@dataclass(frozen=True)
class Storage:
    """A storage of the PE: its Table II module, size (bytes per bank), access width (bits) and banks."""

    name: str
    module: str
    size_bytes: float
    bits: int
    banks: int = 1


def storages(config: ArchConfig) -> dict[str, Storage]:
    """The PE's storages under ``config``, by name."""
    fifo_bits = config.act_bits + config.ptr_bits
    entries = config.regfile_entries
    return {storage.name: storage for storage in (
        Storage("activation queue", "activation queue", config.fifo_depth * fifo_bits / 8, fifo_bits),
        Storage("pointer banks", "pointer read", config.ptr_sram_bytes / 2, config.ptr_bits, banks=2),
        Storage("sparse-matrix memory", "sparse-matrix read", config.spmat_sram_bytes, config.line_bits),
        Storage("codebook", "arithmetic", config.codebook_size * config.weight_bits / 8, config.weight_bits),
        Storage("destination registers", "activation read/write", entries * config.acc_bits / 8, config.acc_bits),
        Storage("source registers", "activation read/write", entries * config.act_bits / 8, config.act_bits),
        Storage("activation memory", "activation read/write", config.act_sram_bytes, config.act_bits),
    )}


def storage_label(storage: Storage, table: EnergyTable) -> str:
    """The storage and how the table prices it, e.g. ``codebook: flip-flops, 16 x 16 bits``."""
    depth = round(storage.size_bytes * 8 / storage.bits)
    banks = f"{storage.banks} banks of " if storage.banks > 1 else ""
    return f"{storage.name}: {table.implementation(storage.size_bytes)}, {banks}{depth} x {storage.bits} bits"


def access_term(name: str, activity: str, storage: Storage, write: bool, table: EnergyTable) -> EnergyTerm:
    """One read or write of ``storage`` (every bank at once) per unit of ``activity``, typed by its implementation."""
    implementation = table.implementation(storage.size_bytes)
    kind = {"SRAM": "memory", "register file": "register", "flip-flops": "register" if write else "combinational"}
    return EnergyTerm(name, activity, storage.banks * table.storage_access(storage.size_bytes, storage.bits, write),
                      storage.module, kind[implementation], storage_label(storage, table))


_PRICED: dict[tuple[ArchConfig, int, bool], tuple[EnergyTable, list[EnergyTerm]]] = {}
PRICED_KEPT = 256
"""Configs priced and kept at once (a sweep visits many; a model run one)."""


def energy_terms(config: ArchConfig, table: EnergyTable, leakage: bool = True) -> list[EnergyTerm]:
    """Every priced action of one PE array under ``config`` (``leakage=False`` drops the SRAM leakage terms).

    Found once per config and table object: a model runs the same layer on thousands of vectors."""
    key = (config, id(table), leakage)
    if key not in _PRICED or _PRICED[key][0] is not table:
        if len(_PRICED) >= PRICED_KEPT:
            _PRICED.clear()
        _PRICED[key] = (table, _energy_terms(config, table, leakage))
    return list(_PRICED[key][1])


def _energy_terms(config: ArchConfig, table: EnergyTable, leakage: bool) -> list[EnergyTerm]:
    act, acc = config.act_bits, config.acc_bits
    flop = table.actions["flop_write_bit"]
    store = storages(config)
    terms = [
        access_term("activation FIFO push", "fifo_pushes", store["activation queue"], True, table),
        access_term("activation FIFO pop", "fifo_pops", store["activation queue"], False, table),
        access_term("pointer read (even and odd bank)", "ptr_reads", store["pointer banks"], False, table),
        EnergyTerm("column state register write", "ptr_reads", (2 * config.ptr_bits + act) * flop, "pointer read", "register"),
        access_term("sparse-matrix line read", "spmat_line_reads", store["sparse-matrix memory"], False, table),
        EnergyTerm("line buffer write", "spmat_line_reads", config.line_bits * flop, "sparse-matrix read", "register"),
        access_term("codebook read", "codebook_reads", store["codebook"], False, table),
        EnergyTerm("multiply", "multiplies", table.int_mult(max(act, config.weight_bits)), "arithmetic", "combinational"),
        EnergyTerm("accumulate (add)", "adds", table.int_add(acc), "arithmetic", "combinational"),
        EnergyTerm("pipeline registers", "multiplies", pipeline_register_bits(config) * flop, "arithmetic", "register"),
        access_term("destination register read", "acc_reads", store["destination registers"], False, table),
        access_term("destination register write", "acc_writes", store["destination registers"], True, table),
        access_term("source register read (LNZD)", "lnzd_reads", store["source registers"], False, table),
        access_term("write-back (ReLU, register write)", "writebacks", store["source registers"], True, table),
        access_term("activation SRAM read", "act_sram_reads", store["activation memory"], False, table),
        access_term("activation SRAM write", "act_sram_writes", store["activation memory"], True, table),
    ]
    per_sink = table.actions["flop_clock"] + table.actions["clock_wire_per_sink"]
    terms += [EnergyTerm(f"clock: {module}", PER_CYCLE, sinks * per_sink, module, "clock")
              for module, sinks in clock_sinks(config).items()]
    if leakage:
        terms += [EnergyTerm(f"leakage: {storage.name}", PER_CYCLE,
                             storage.banks * table.sram_leakage_mw(storage.size_bytes, storage.bits) * config.cycle_ns,
                             storage.module, "memory", storage_label(storage, table))  # mW x ns = pJ
                  for storage in store.values() if table.implementation(storage.size_bytes) == "SRAM"]
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
    fetched = tuple(storage_label(store, table) for store in storages(config).values()
                    if store.name in ("sparse-matrix memory", "pointer banks"))
    on_chip = [term for term in energy_terms(config, table) if term.storage not in fetched]
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


def useful_macs(layer: QuantizedLayer, inputs_fixed: np.ndarray) -> int:
    """Multiply-accumulates with a non-zero weight and a non-zero input (from the layer's list of non-zeros)."""
    return int(np.count_nonzero(np.asarray(inputs_fixed)[layer.sparse_codes().columns]))
