"""One load-port write as one packed word: the line format of ``load.hex`` and of the UART bridge.

Fields from the least significant bit up: ``data`` (``load_bits``), ``addr`` (``address_bits``),
``target`` (3), ``pe`` (``pe_bits``), ``broadcast`` (1: write every PE, ``pe`` ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.arch.config import ArchConfig
from accel.hdl.protocol.loading import LoadWrite
from accel.hdl.protocol.ports import LoadTarget
from accel.hdl.protocol.sizes import RTLSizes

TARGET_BITS = LoadTarget.as_shape().width
LOAD_TARGETS = {
    LoadTarget.SPMAT.value: ("spmat", "sparse-matrix SRAM line: entries `code + rel * 2^code_bits`, first entry in the low bits"),
    LoadTarget.PTR_EVEN.value: ("ptr_even", "even pointer bank: address a holds p_(2a)"),
    LoadTarget.PTR_ODD.value: ("ptr_odd", "odd pointer bank: address a holds p_(2a+1)"),
    LoadTarget.ACC.value: ("bias", "accumulator register file: the row's bias (acc_bits, act_frac fractional bits), 0 without"),
    LoadTarget.CODEBOOK.value: ("codebook", "codebook entry (weight_bits, weight_frac fractional bits); entry 0 is 0"),
}
"""Load-target code -> (memory name, what a write there holds)."""


@dataclass(frozen=True)
class LoadWordLayout:
    """Bit positions of the fields of a packed load word for ``config``."""

    config: ArchConfig

    @property
    def fields(self) -> list[tuple[str, int]]:
        """(field, width) from the least significant bit up."""
        sizes = RTLSizes(self.config)
        return [("data", sizes.load_bits), ("addr", sizes.address_bits), ("target", TARGET_BITS),
                ("pe", sizes.pe_bits), ("broadcast", 1)]

    @property
    def width(self) -> int:
        return sum(width for _, width in self.fields)

    def pack(self, write: LoadWrite) -> int:
        values = {"data": write.data, "addr": write.addr, "target": write.target.value,
                  "pe": 0 if write.pe is None else write.pe, "broadcast": int(write.pe is None)}
        word, shift = 0, 0
        for name, width in self.fields:
            if not 0 <= values[name] < (1 << width):
                raise ValueError(f"load-word field {name}={values[name]} does not fit {width} bits")
            word |= values[name] << shift
            shift += width
        return word
