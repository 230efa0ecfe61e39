"""What the host writes into the array for one batch: load-port transactions and memory files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.arch.images import BatchImage, LayerImage
from hdl.contents import batch_contents
from hdl.ports import LoadTarget
from hdl.sizes import RTLSizes


@dataclass(frozen=True)
class LoadWrite:
    """One write on the load port; ``pe`` None writes every PE."""

    target: LoadTarget
    pe: int | None
    addr: int
    data: int


def batch_writes(image: LayerImage, batch: BatchImage) -> list[LoadWrite]:
    """Every load-port write that puts ``batch`` of ``image`` into the array (memories, codebook, bias)."""
    config = image.config
    contents = batch_contents(image, batch)
    mask = (1 << config.acc_bits) - 1
    weight_mask = (1 << config.weight_bits) - 1
    writes = [LoadWrite(LoadTarget.CODEBOOK, None, index, value & weight_mask) for index, value in enumerate(contents[0].codebook)]
    for pe, memories in enumerate(contents):
        writes += [LoadWrite(LoadTarget.SPMAT, pe, addr, word) for addr, word in enumerate(memories.spmat)]
        writes += [LoadWrite(LoadTarget.PTR_EVEN, pe, addr, value) for addr, value in enumerate(memories.ptr_even)]
        writes += [LoadWrite(LoadTarget.PTR_ODD, pe, addr, value) for addr, value in enumerate(memories.ptr_odd)]
        writes += [LoadWrite(LoadTarget.ACC, pe, addr, value & mask) for addr, value in enumerate(memories.acc)]
        writes += [LoadWrite(LoadTarget.ACC, pe, addr, 0) for addr in range(len(memories.acc), config.regfile_entries)]
    return writes


def memory_files(image: LayerImage, batch: BatchImage) -> dict[str, str]:
    """``$readmemh`` contents of every PE memory and of the codebook, by file name."""
    config = image.config
    sizes = RTLSizes(config)
    target = LoadTarget
    widths = {target.SPMAT: config.line_bits, target.PTR_EVEN: config.ptr_bits, target.PTR_ODD: config.ptr_bits,
              target.ACC: config.acc_bits, target.CODEBOOK: config.weight_bits}
    names = {target.SPMAT: "spmat", target.PTR_EVEN: "ptr_even", target.PTR_ODD: "ptr_odd", target.ACC: "bias",
             target.CODEBOOK: "codebook"}
    depths = {target.SPMAT: sizes.spmat_lines, target.PTR_EVEN: sizes.ptr_bank_depth, target.PTR_ODD: sizes.ptr_bank_depth,
              target.ACC: config.regfile_entries, target.CODEBOOK: config.codebook_size}
    contents: dict[str, np.ndarray] = {}
    for write in batch_writes(image, batch):
        name = names[write.target] + ("" if write.pe is None else f"_pe{write.pe}")
        words = contents.setdefault(name, np.zeros(depths[write.target], dtype=object))
        words[write.addr] = write.data
    files = {}
    for name, words in contents.items():
        target = next(t for t, n in names.items() if name.startswith(n))
        digits = -(-widths[target] // 4)
        files[f"{name}.hex"] = "".join(f"{int(word):0{digits}x}\n" for word in words)
    return files
