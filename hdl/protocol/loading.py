"""What the host writes into the array for one batch: load-port transactions and memory files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from accel.arch.config import ArchConfig
from accel.arch.images import BatchImage, LayerImage
from accel.hdl.protocol.contents import PEContents, batch_contents
from accel.hdl.protocol.ports import LoadTarget
from accel.hdl.protocol.sizes import RTLSizes


@dataclass(frozen=True)
class LoadWrite:
    """One write on the load port; ``pe`` None writes every PE."""

    target: LoadTarget
    pe: int | None
    addr: int
    data: int


def batch_writes(image: LayerImage, batch: BatchImage) -> list[LoadWrite]:
    """Every load-port write that puts ``batch`` of ``image`` into the array (memories, codebook, bias).

    A word that two or more PEs hold at the same address (the zero pointers and biases of PEs without
    rows, say) is written to every PE at once, then the PEs that hold another word there are written
    one by one: the same contents in fewer writes, which a UART makes worth having."""
    config = image.config
    contents = batch_contents(image, batch)
    weight_mask = (1 << config.weight_bits) - 1
    writes = [LoadWrite(LoadTarget.CODEBOOK, None, index, value & weight_mask) for index, value in enumerate(contents[0].codebook)]
    for target, words in _memories(contents, config):
        for addr in range(max(len(pe_words) for pe_words in words)):
            held = {pe: pe_words[addr] for pe, pe_words in enumerate(words) if addr < len(pe_words)}
            common, count = Counter(held.values()).most_common(1)[0]
            if count > 1:
                writes.append(LoadWrite(target, None, addr, common))
            writes += [LoadWrite(target, pe, addr, value) for pe, value in held.items() if count == 1 or value != common]
    return writes


def _memories(contents: list[PEContents], config: ArchConfig) -> list[tuple[LoadTarget, list[tuple[int, ...]]]]:
    """Each PE memory the host loads and every PE's words for it, unsigned (accumulators as ``acc_bits``
    two's complement, zeroed beyond the batch's rows)."""
    mask, rows = (1 << config.acc_bits) - 1, config.regfile_entries
    return [(LoadTarget.SPMAT, [pe.spmat for pe in contents]), (LoadTarget.PTR_EVEN, [pe.ptr_even for pe in contents]),
            (LoadTarget.PTR_ODD, [pe.ptr_odd for pe in contents]),
            (LoadTarget.ACC, [tuple(value & mask for value in pe.acc) + (0,) * (rows - len(pe.acc)) for pe in contents])]


def memory_files(image: LayerImage, batch: BatchImage) -> dict[str, str]:
    """``$readmemh`` contents of every PE memory and of the codebook, by file name."""
    config = image.config
    sizes = RTLSizes(config)
    contents = batch_contents(image, batch)
    widths = {LoadTarget.SPMAT: config.line_bits, LoadTarget.PTR_EVEN: config.ptr_bits, LoadTarget.PTR_ODD: config.ptr_bits,
              LoadTarget.ACC: config.acc_bits}
    depths = {LoadTarget.SPMAT: sizes.spmat_lines, LoadTarget.PTR_EVEN: sizes.ptr_bank_depth,
              LoadTarget.PTR_ODD: sizes.ptr_bank_depth, LoadTarget.ACC: config.regfile_entries}
    names = {LoadTarget.SPMAT: "spmat", LoadTarget.PTR_EVEN: "ptr_even", LoadTarget.PTR_ODD: "ptr_odd", LoadTarget.ACC: "bias"}
    files = {"codebook.hex": _hex_image(contents[0].codebook, config.weight_bits, config.codebook_size)}
    for target, words in _memories(contents, config):
        for pe, pe_words in enumerate(words):
            files[f"{names[target]}_pe{pe}.hex"] = _hex_image(pe_words, widths[target], depths[target])
    return files


def _hex_image(words: tuple[int, ...], width: int, depth: int) -> str:
    """A ``$readmemh`` image of ``depth`` words of ``width`` bits (two's complement), zeros after ``words``."""
    digits, mask = -(-width // 4), (1 << width) - 1
    padded = [*words, *[0] * (depth - len(words))]
    return "".join(f"{int(word) & mask:0{digits}x}\n" for word in padded)
