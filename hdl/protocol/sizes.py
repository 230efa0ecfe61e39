"""Memory depths and signal widths of the RTL, all derived from the shared ArchConfig."""

from __future__ import annotations

from dataclasses import dataclass

from accel.arch.config import ArchConfig


@dataclass(frozen=True)
class RTLSizes:
    """Memory depths and port widths of the RTL for ``config``."""

    config: ArchConfig

    @property
    def spmat_lines(self) -> int:
        return self.config.spmat_lines

    @property
    def ptr_bank_depth(self) -> int:
        return self.config.ptr_bank_depth

    @property
    def max_cols(self) -> int:
        return self.config.max_cols

    @property
    def col_bits(self) -> int:
        return max(1, (self.max_cols - 1).bit_length())

    @property
    def row_bits(self) -> int:
        return max(1, (self.config.regfile_entries - 1).bit_length())

    @property
    def address_bits(self) -> int:
        """Width of the load interface's address: enough for every memory."""
        depths = (self.spmat_lines, self.ptr_bank_depth, self.config.regfile_entries, self.max_cols,
                  self.config.codebook_size)
        return max(1, (max(depths) - 1).bit_length())

    @property
    def load_bits(self) -> int:
        """Width of the load interface's data: a sparse-matrix line, a pointer, a bias or a codebook value."""
        config = self.config
        return max(config.line_bits, config.ptr_bits, config.acc_bits, config.weight_bits)

    @property
    def pe_bits(self) -> int:
        return max(1, (self.config.n_pes - 1).bit_length())
