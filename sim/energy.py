"""Energy of a simulated layer: activity counters x per-action energies, by component.

Counts come from the simulator, energies from an ``accel.arch.energy.EnergyTable``; this module only
multiplies them. Two comparison points put EIE in context:

* ``dense_in_dram_energy``: what a processor without EIE pays: every weight of the dense matrix as a
  32-bit float from DRAM, a float multiply and add per weight, inputs and outputs through a
  32 KB SRAM cache.
* ``compressed_in_dram_energy``: EIE's own activity, but with the sparse matrix and pointers in DRAM.

Activations: the source register files hold ``n_pes * regfile_entries`` inputs; in each batch
the inputs beyond that many are read from the activation SRAM instead. The outputs of every
batch but the last are also written to the activation SRAM (the next batch reuses the
destination register files).

Not modelled: leakage, clock tree, the broadcast wires, control logic and I/O-mode loading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from sim.results import LayerResult

COMPONENTS = ("DRAM", "SRAM: sparse matrix", "SRAM: pointers", "SRAM: activations",
              "activations (LNZD, register files)", "FIFOs", "codebook", "accumulators", "arithmetic")


@dataclass
class EnergyBreakdown:
    """Energy in pJ per component, and the useful operations it bought."""

    label: str
    components: dict[str, float]
    operations: int
    """Useful operations: 2 per multiply-accumulate with a non-zero weight and input."""

    @property
    def total_pj(self) -> float:
        return float(sum(self.components.values()))

    @property
    def pj_per_op(self) -> float:
        return self.total_pj / max(1, self.operations)

    def to_dict(self) -> dict:
        return {"label": self.label, "total_pJ": self.total_pj, "pJ_per_op": self.pj_per_op,
                "operations": self.operations, "components_pJ": dict(self.components)}


def per_action_energy(config: ArchConfig, table: EnergyTable) -> dict[str, float]:
    """pJ for one event of each activity counter under ``config``."""
    return {
        "spmat_line_reads": table.sram_read(config.spmat_sram_bytes, config.line_bits),
        "ptr_reads": 2 * table.sram_read(config.ptr_sram_bytes / 2, config.ptr_bits),
        "lnzd_reads": table.register_file(config.act_bits),
        "broadcasts": 0.0,
        "fifo_pushes": table.register_file(config.act_bits + config.ptr_bits),
        "fifo_pops": table.register_file(config.act_bits + config.ptr_bits),
        "codebook_reads": table.register_file(config.weight_bits),
        "acc_reads": table.register_file(config.acc_bits),
        "acc_writes": table.register_file(config.acc_bits),
        "writebacks": table.register_file(config.act_bits),
        "multiplies": table.int_mult(max(config.act_bits, config.weight_bits)),
        "adds": table.int_add(config.acc_bits),
        "bypasses": 0.0,
    }


COMPONENT_OF = {
    "spmat_line_reads": "SRAM: sparse matrix", "ptr_reads": "SRAM: pointers",
    "lnzd_reads": "activations (LNZD, register files)", "writebacks": "activations (LNZD, register files)",
    "broadcasts": "activations (LNZD, register files)",
    "fifo_pushes": "FIFOs", "fifo_pops": "FIFOs", "codebook_reads": "codebook",
    "acc_reads": "accumulators", "acc_writes": "accumulators", "bypasses": "accumulators",
    "multiplies": "arithmetic", "adds": "arithmetic",
}


def activation_sram_accesses(result: LayerResult) -> tuple[int, int]:
    """(reads, writes) of the activation SRAM: inputs beyond the source register files, spilled outputs."""
    capacity = result.config.rows_per_batch
    batches = len(result.batches)
    cols = result.counters["lnzd_reads"] // max(1, batches)
    reads = batches * max(0, cols - capacity)
    writes = sum(batch.n_rows for batch in result.batches[:-1])
    return reads, writes


def eie_energy(result: LayerResult, table: EnergyTable, useful_macs: int, label: str = "EIE (SRAM)") -> EnergyBreakdown:
    """Energy of the simulated run with everything in on-chip SRAM and register files."""
    config = result.config
    energy = per_action_energy(config, table)
    components = dict.fromkeys(COMPONENTS, 0.0)
    for name, count in result.counters.items():
        components[COMPONENT_OF[name]] += count * energy[name]
    reads, writes = activation_sram_accesses(result)
    act_sram = table.sram_read(config.act_sram_bytes, config.act_bits)
    components["activations (LNZD, register files)"] -= reads * energy["lnzd_reads"]
    components["SRAM: activations"] = (reads + writes) * act_sram
    return EnergyBreakdown(label, components, 2 * useful_macs)


def compressed_in_dram_energy(result: LayerResult, table: EnergyTable, useful_macs: int) -> EnergyBreakdown:
    """EIE's activity with the sparse matrix and the pointers fetched from DRAM instead of SRAM."""
    config = result.config
    breakdown = eie_energy(result, table, useful_macs, label="compressed, weights in DRAM")
    counters = result.counters
    breakdown.components["SRAM: sparse matrix"] = 0.0
    breakdown.components["SRAM: pointers"] = 0.0
    breakdown.components["DRAM"] = (counters["spmat_line_reads"] * table.dram(config.line_bits)
                                    + counters["ptr_reads"] * table.dram(2 * config.ptr_bits))
    return breakdown


def dense_in_dram_energy(rows: int, cols: int, table: EnergyTable, useful_macs: int) -> EnergyBreakdown:
    """A dense float32 matrix-vector product with the weights streamed from DRAM."""
    weights = rows * cols
    components = dict.fromkeys(COMPONENTS, 0.0)
    components["DRAM"] = weights * table.actions["dram_32"]
    components["arithmetic"] = weights * (table.actions["float_mult_32"] + table.actions["float_add_32"])
    components["SRAM: activations"] = (cols + rows) * table.actions["sram_cache_32"]
    return EnergyBreakdown("dense, weights in DRAM", components, 2 * useful_macs)


def useful_macs(codes: np.ndarray, inputs_fixed: np.ndarray) -> int:
    """Multiply-accumulates with a non-zero weight and a non-zero input."""
    return int(np.count_nonzero(codes[:, np.asarray(inputs_fixed) != 0]))
