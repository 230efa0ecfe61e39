"""PE memory images: the exact words each PE's SRAMs hold for one compressed layer.

Layout rules (also in ``accel/arch/TIMING.md``):

* Output rows are processed in batches of ``config.rows_per_batch`` rows. In a batch starting at
  global row ``r0``, global row ``i`` belongs to PE ``i % n_pes`` at local row ``(i - r0) // n_pes``.
* Each PE stores its rows of the batch column by column (CSC). An entry is ``code | rel << code_bits``
  where ``rel`` counts the zeros since the previous entry of the same column in this PE (or since
  local row 0 for the first entry). When more than ``max_relative_index`` zeros precede a non-zero,
  padding entries (code 0, rel = max) are inserted, each advancing the row by ``max + 1``.
* ``pointers[j]`` is the address of column j's first entry, ``pointers[cols]`` the total; column j
  spans ``pointers[j] .. pointers[j+1] - 1``. Even pointer indices live in the even bank at ``j // 2``,
  odd ones in the odd bank, so ``p_j`` and ``p_(j+1)`` come from different banks in one read.
* Sparse-matrix line ``k`` packs entries ``k*E .. k*E + E-1`` (E = entries per line), entry ``k*E``
  in the least significant bits; the last line is filled with zero bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.arch.config import MAX_LAYER_INPUTS, ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_bias, quantize_codebook
from accel.arch.layer import QuantizedLayer, SparseCodes


@dataclass
class PEImage:
    """One PE's memories for one batch."""

    entries: np.ndarray
    """Packed entries (``code | rel << code_bits``), in address order."""
    pointers: np.ndarray
    """``cols + 1`` column start addresses."""
    bias: np.ndarray
    """Accumulator initial values (accumulator format), one per local row."""

    @property
    def n_rows(self) -> int:
        return int(self.bias.size)

    def codes(self, config: ArchConfig) -> np.ndarray:
        return self.entries & (config.codebook_size - 1)

    def relative_indices(self, config: ArchConfig) -> np.ndarray:
        return self.entries >> config.code_bits

    def lines(self, config: ArchConfig) -> list[int]:
        """Sparse-matrix SRAM words, ``config.line_bits`` wide."""
        per_line = config.entries_per_line
        padded = np.zeros(-(-self.entries.size // per_line) * per_line, dtype=np.int64)
        padded[: self.entries.size] = self.entries
        words = []
        for line in padded.reshape(-1, per_line):
            word = 0
            for slot, entry in enumerate(line.tolist()):
                word |= entry << (slot * config.entry_bits)
            words.append(word)
        return words

    def even_bank(self) -> np.ndarray:
        return self.pointers[0::2]

    def odd_bank(self) -> np.ndarray:
        return self.pointers[1::2]


@dataclass
class BatchImage:
    """All PEs' memories for the output rows ``row_start .. row_start + n_rows - 1``."""

    row_start: int
    n_rows: int
    pes: list[PEImage]
    """Each PE's image: views into the three arrays below."""
    pointers: np.ndarray
    """Every PE's pointers, shape (pes, cols + 1)."""
    entries: np.ndarray
    """Every PE's entries, PE after PE."""
    entry_offsets: np.ndarray
    """Where each PE's entries begin in ``entries`` (pes + 1 values)."""

    @property
    def writeback_cycles(self) -> int:
        """Local rows of the fullest PE: one write-back cycle each."""
        return max(pe.n_rows for pe in self.pes)


@dataclass
class LayerImage:
    """A compressed layer laid out for one architecture config."""

    config: ArchConfig
    name: str
    rows: int
    cols: int
    codebook: np.ndarray
    """Codebook in the weight fixed-point format (entry 0 is 0)."""
    relu: bool
    batches: list[BatchImage]

    @property
    def padding_entries(self) -> int:
        return sum(int(np.count_nonzero(pe.codes(self.config) == 0)) for batch in self.batches for pe in batch.pes)

    @property
    def total_entries(self) -> int:
        return sum(int(pe.entries.size) for batch in self.batches for pe in batch.pes)

    def capacity_problems(self, batches: list[BatchImage] | None = None) -> list[str]:
        """How ``batches`` (default: every batch, stored one after another) overflow a PE's memories.

        Empty when they fit. Each batch starts on a new sparse-matrix line and holds ``cols + 1``
        pointers. This is the one capacity check: the simulator asks it for the whole layer, the RTL
        loader for the one batch it loads.
        """
        config = self.config
        batches = self.batches if batches is None else batches
        lines = np.zeros(config.n_pes, dtype=np.int64)
        pointers = np.zeros(config.n_pes, dtype=np.int64)
        for batch in batches:
            for pe, image in enumerate(batch.pes):
                lines[pe] += -(-image.entries.size // config.entries_per_line)
                pointers[pe] += image.pointers.size
        problems = []
        if lines.max() > config.spmat_lines:
            problems.append(f"sparse-matrix SRAM: {lines.max()} lines in one PE, room for {config.spmat_lines} "
                            "(raise spmat_sram_bytes or n_pes)")
        if pointers.max() > 2 * config.ptr_bank_depth:
            problems.append(f"pointer SRAM: {pointers.max()} pointers in one PE, room for {2 * config.ptr_bank_depth} "
                            "(raise ptr_sram_bytes)")
        largest_pointer = max(int(pe.pointers[-1]) for batch in batches for pe in batch.pes)
        if largest_pointer >= 1 << config.ptr_bits:
            problems.append(f"pointer width: address {largest_pointer} needs more than ptr_bits={config.ptr_bits} "
                            "(raise ptr_bits)")
        return problems

    def dense_codes(self) -> np.ndarray:
        """Decode the images back into the ``rows x cols`` code matrix (for checking)."""
        config = self.config
        codes = np.zeros((self.rows, self.cols), dtype=np.int64)
        for batch in self.batches:
            for pe, image in enumerate(batch.pes):
                entry_codes, rel = image.codes(config), image.relative_indices(config)
                for col in range(self.cols):
                    row = -1
                    for address in range(image.pointers[col], image.pointers[col + 1]):
                        row += int(rel[address]) + 1
                        if entry_codes[address]:
                            codes[batch.row_start + row * config.n_pes + pe, col] = entry_codes[address]
        return codes


def build_layer_image(layer: QuantizedLayer, config: ArchConfig) -> LayerImage:
    """Lay a quantized layer out over the PEs of ``config``."""
    layer.validate(config.code_bits)
    if layer.cols > MAX_LAYER_INPUTS:
        raise UserError(f"layer {layer.name!r} has {layer.cols} inputs; at most {MAX_LAYER_INPUTS} keep the integer "
                        "models exact (accel/arch/TIMING.md): split the layer by columns")
    bias = np.zeros(layer.rows) if layer.bias is None else layer.bias
    bias_fixed = quantize_bias(bias, config)
    sparse = layer.sparse_codes()
    batches = []
    for row_start in range(0, layer.rows, config.rows_per_batch):
        row_stop = min(layer.rows, row_start + config.rows_per_batch)
        batches.append(_build_batch(sparse, row_start, row_stop, layer.cols, bias_fixed[row_start:row_stop], config))
    return LayerImage(config=config, name=layer.name, rows=layer.rows, cols=layer.cols,
                      codebook=quantize_codebook(layer.codebook, config), relu=layer.relu, batches=batches)


def memories_for(image: LayerImage) -> ArchConfig:
    """``image``'s config with each PE's sparse-matrix and pointer memories just large enough for its largest
    batch, each a power of two of bytes: the memories an FPGA build holding this layer needs."""
    config = image.config
    lines = max(-(-pe.entries.size // config.entries_per_line) for batch in image.batches for pe in batch.pes)
    spmat_bytes = _power_of_two(max(1, lines) * config.line_bits // 8)
    bank_depth = -(-(image.cols + 1) // 2)
    ptr_bytes = _power_of_two(-(-2 * bank_depth * config.ptr_bits // 8))
    return config.replace(spmat_sram_bytes=spmat_bytes, ptr_sram_bytes=ptr_bytes)


def _power_of_two(value: int) -> int:
    return 1 << max(0, int(value) - 1).bit_length()


def _build_batch(sparse: SparseCodes, row_start: int, row_stop: int, cols: int, bias: np.ndarray,
                 config: ArchConfig) -> BatchImage:
    """The images of rows ``row_start .. row_stop - 1``, laid out from the layer's non-zeros."""
    from accel.arch.layout_kernels import layout  # numba: imported only where a layer is laid out

    row_begin = sparse.row_begin[row_start:row_stop + 1]
    first, last = row_begin[0], row_begin[-1]
    entries, pointers = layout(row_begin - first, sparse.columns[first:last], sparse.codes[first:last], cols,
                               config.n_pes, config.index_bits, config.code_bits)
    return batch_image(row_start, row_stop - row_start, entries, pointers, bias, config.n_pes)


def batch_image(row_start: int, n_rows: int, entries: np.ndarray, pointers: np.ndarray, bias: np.ndarray,
                n_pes: int) -> BatchImage:
    """A batch's image from its laid-out arrays: every PE's entries one after another, and its pointers."""
    offsets = np.concatenate([[0], np.cumsum(pointers[:, -1])])
    pes = [PEImage(entries=entries[offsets[index]:offsets[index + 1]], pointers=pointers[index],
                   bias=bias[index::n_pes].copy()) for index in range(n_pes)]
    return BatchImage(row_start=row_start, n_rows=n_rows, pes=pes, pointers=pointers, entries=entries,
                      entry_offsets=offsets)
