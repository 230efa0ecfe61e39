"""The EIE architecture config: the one source of truth for the simulator and the RTL.

Every size, width and latency that the cycle-level simulator and the Amaranth RTL depend on
lives here. The timing rules that use these numbers are written down in ``accel/arch/TIMING.md``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accel.arch.errors import UserError
from accel.arch.files import read_json

MAX_CLOCK_MHZ = 100_000.0
MAX_PRODUCT_BITS = 40
"""act_bits + weight_bits: with acc_bits <= 48 every unsaturated running sum of a row of up to
MAX_LAYER_INPUTS products stays below 2**63, so int64 arithmetic is exact (accel/arch/TIMING.md)."""
MAX_LAYER_INPUTS = 1 << 24
BOUNDS = {
    "n_pes": (1, 4096), "fifo_depth": (1, 4096), "line_bits": (2, 4096), "code_bits": (1, 8), "index_bits": (1, 8),
    "act_bits": (2, 24), "act_frac": (0, 23), "weight_bits": (2, 24), "weight_frac": (0, 23), "acc_bits": (2, 48),
    "regfile_entries": (1, 1 << 16), "ptr_bits": (1, 32), "spmat_sram_bytes": (1, 1 << 30),
    "ptr_sram_bytes": (1, 1 << 30), "act_sram_bytes": (1, 1 << 30), "pipeline_latency": (0, 64),
    "broadcast_latency": (0, 16), "empty_column_cycles": (0, 1), "length_register": (0, 1),
}
"""Inclusive range of every integer field; the datapath widths keep the integer models exact."""
MAX_RTL_PES = 256
"""Most PEs the Verilog generator (hdl/) builds: Amaranth checks the fill OR of all PEs recursively, one
level per PE, and runs out of Python's stack between 320 (built) and 400 PEs; 256 PEs take about 40 s
and 1.2 GB. The simulators take up to BOUNDS["n_pes"]."""


@dataclass(frozen=True)
class ArchConfig:
    """Parameters of one EIE processing-element array (defaults: the 64-PE chip of the paper)."""

    n_pes: int = 64
    """Processing elements; output row i lives in PE ``i % n_pes``."""
    fifo_depth: int = 8
    """Entries in each PE's activation FIFO; the broadcast stalls while any FIFO is full."""
    line_bits: int = 64
    """Width of one sparse-matrix SRAM line (one read returns ``line_bits // entry_bits`` entries)."""
    code_bits: int = 4
    """Bits of a weight code (virtual weight): an index into the 16-entry codebook; code 0 is 0.0."""
    index_bits: int = 4
    """Bits of a relative row index (zeros skipped since the previous entry of the column)."""
    act_bits: int = 16
    """Activation width: signed fixed point with ``act_frac`` fractional bits."""
    act_frac: int = 8
    """Fractional bits of activations and accumulators (Q8.8 by default)."""
    weight_bits: int = 16
    """Codebook value width: signed fixed point with ``weight_frac`` fractional bits."""
    weight_frac: int = 12
    """Fractional bits of codebook values (Q4.12 by default)."""
    acc_bits: int = 32
    """Accumulator width (saturating, ``act_frac`` fractional bits)."""
    regfile_entries: int = 64
    """Destination register file entries per PE: rows per PE in one batch."""
    ptr_bits: int = 16
    """Width of a column pointer (a sparse-matrix entry address within one PE)."""
    clock_mhz: float = 800.0
    """Clock frequency used to turn cycles into time."""
    spmat_sram_bytes: int = 128 * 1024
    """Sparse-matrix SRAM per PE."""
    ptr_sram_bytes: int = 32 * 1024
    """Pointer SRAM per PE (even and odd banks together)."""
    act_sram_bytes: int = 2 * 1024
    """Activation SRAM per PE (for vectors longer than the register files)."""
    pipeline_latency: int = 8
    """Drain cycles between a batch's last issue slot and its write-back (see TIMING.md). The RTL needs
    8 or more; from 9 on it registers the product, from 10 on the accumulator write too."""
    broadcast_latency: int = 1
    """Register stages between the broadcast queue and the PEs; the queues' fill levels come back
    through as many (see TIMING.md, Broadcast)."""
    empty_column_cycles: int = 1
    """Cycles a PE spends on a column with no entries in its rows: 1 (it is popped like any column;
    matches the paper's NT-We) or 0 (the pointer stage drops it; see TIMING.md)."""
    length_register: int = 0
    """1: the pointer stage registers each column's length once more before the PE may pop it
    (``pointer_stage_cycles`` 3), which takes the length's carry chain off the column hand-over path;
    ``empty_column_cycles = 0`` registers it anyway (see TIMING.md, Pointer stage)."""

    def __post_init__(self) -> None:
        problems = []
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.name == "clock_mhz":
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    problems.append(f"clock_mhz must be a number, got {value!r}")
                else:
                    object.__setattr__(self, spec.name, float(value))
            elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
                problems.append(f"{spec.name} must be an integer, got {value!r}")
            else:
                object.__setattr__(self, spec.name, int(value))
        if problems:
            raise UserError("invalid architecture config: " + "; ".join(problems))
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(f"{name}={value} must lie between {low} and {high}")
        if not (math.isfinite(self.clock_mhz) and 0 < self.clock_mhz <= MAX_CLOCK_MHZ):
            problems.append(f"clock_mhz={self.clock_mhz} must be a finite number above 0 and at most {MAX_CLOCK_MHZ:g}")
        if self.line_bits % self.entry_bits or self.line_bits < self.entry_bits:
            problems.append(f"line_bits={self.line_bits} must be a multiple of the entry width {self.entry_bits}")
        for frac, bits in (("act_frac", "act_bits"), ("weight_frac", "weight_bits")):
            if not 0 <= getattr(self, frac) < getattr(self, bits):
                problems.append(f"{frac}={getattr(self, frac)} must lie from 0 to {bits} - 1 = {getattr(self, bits) - 1} "
                                "(fractional bits of a signed value)")
        if self.acc_bits < self.act_bits:
            problems.append(f"acc_bits={self.acc_bits} must be at least act_bits={self.act_bits}")
        if self.empty_column_cycles not in (0, 1):
            problems.append(f"empty_column_cycles={self.empty_column_cycles} must be 0 or 1")
        if self.act_bits + self.weight_bits > MAX_PRODUCT_BITS:
            problems.append(f"act_bits + weight_bits = {self.act_bits + self.weight_bits} must be at most {MAX_PRODUCT_BITS} "
                            "(the bound that keeps the integer models exact, see TIMING.md)")
        if problems:
            raise UserError("invalid architecture config: " + "; ".join(problems))

    # Derived quantities -----------------------------------------------------------------------

    @property
    def pointer_stage_cycles(self) -> int:
        """Cycles from an activation's push into a PE until the PE can pop it (TIMING.md, Pointer stage):
        3 when the length is registered once more (``length_register`` or ``empty_column_cycles = 0``,
        which drops an empty column after as many), else 2."""
        return 3 if self.length_registered else 2

    @property
    def length_registered(self) -> bool:
        """The pointer stage registers the column's length once more before the queue."""
        return bool(self.length_register) or self.empty_column_cycles == 0

    @property
    def entry_bits(self) -> int:
        """Bits of one sparse-matrix entry (code and relative index)."""
        return self.code_bits + self.index_bits

    @property
    def entries_per_line(self) -> int:
        return self.line_bits // self.entry_bits

    @property
    def codebook_size(self) -> int:
        return 1 << self.code_bits

    @property
    def max_relative_index(self) -> int:
        """Largest relative index; a longer run of zeros needs a padding entry."""
        return (1 << self.index_bits) - 1

    @property
    def rows_per_batch(self) -> int:
        """Output rows of the whole array in one batch."""
        return self.n_pes * self.regfile_entries

    @property
    def spmat_lines(self) -> int:
        """Lines of the sparse-matrix SRAM of one PE."""
        return max(1, self.spmat_sram_bytes * 8 // self.line_bits)

    @property
    def ptr_capacity(self) -> int:
        return self.ptr_sram_bytes * 8 // self.ptr_bits

    @property
    def ptr_bank_depth(self) -> int:
        """Pointers in each of the even and odd banks."""
        return max(1, self.ptr_capacity // 2)

    @property
    def max_cols(self) -> int:
        """Columns one batch may have: ``p_j`` and ``p_(j+1)`` of every column must fit the two banks."""
        return 2 * self.ptr_bank_depth - 1

    @property
    def act_range(self) -> tuple[int, int]:
        return -(1 << (self.act_bits - 1)), (1 << (self.act_bits - 1)) - 1

    @property
    def weight_range(self) -> tuple[int, int]:
        return -(1 << (self.weight_bits - 1)), (1 << (self.weight_bits - 1)) - 1

    @property
    def acc_range(self) -> tuple[int, int]:
        return -(1 << (self.acc_bits - 1)), (1 << (self.acc_bits - 1)) - 1

    @property
    def cycle_ns(self) -> float:
        return 1e3 / self.clock_mhz

    # Files ----------------------------------------------------------------------------------

    def replace(self, **changes: Any) -> "ArchConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ArchConfig":
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise UserError(f"unknown architecture config keys {unknown}; known keys: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            want = float if key == "clock_mhz" else int
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or (want is int and value != int(value))):
                raise UserError(f"architecture config key {key!r} must be a finite number{' (integer)' if want is int else ''}, "
                                f"got {value!r}")
            values[key] = want(value)
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> "ArchConfig":
        """Read a config from a JSON file (any subset of the fields; the rest keep their defaults)."""
        data = read_json(path, "architecture config", "write a JSON object of ArchConfig fields, e.g. {\"n_pes\": 16}")
        if not isinstance(data, dict):
            raise UserError(f"architecture config {path} must hold a JSON object of field: value")
        return cls.from_dict(data)

