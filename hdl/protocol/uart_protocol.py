"""The byte protocol of the UART bridge, shared by the bridge (RTL) and the host's UART link.

Every command is one command byte followed by a fixed number of payload bytes; the payload is one
little-endian integer whose fields are listed from the least significant bit up. Only the read
commands answer, with a fixed number of bytes (little-endian). Writes are not acknowledged: the
host reads the answer of a later read command to know the bridge has kept up.

| byte | command | payload fields (LSB first) | answer |
|---|---|---|---|
| 0x00 | INFO   | none | 8 bytes: "EIE", protocol version, n_pes (16 bits), regfile_entries (16 bits) |
| 0x01 | LOAD   | one load word (accel.hdl.protocol.load_word: data, addr, target, pe, broadcast) | none |
| 0x02 | CLEAR  | none: pulse ``act_clear`` (before a new input vector) | none |
| 0x03 | ACT    | value (act_bits, two's complement), index (col_bits): one ``act_en`` write | none |
| 0x04 | START  | rows (write-back rows of the batch), relu (1 bit): pulse ``start`` | none |
| 0x05 | STATUS | none | 1 byte: bit 0 ``done``, bit 1 ``busy`` |
| 0x06 | CYCLES | none | 4 bytes: ``cycles`` |
| 0x07 | READ   | addr (row_bits), pe (pe_bits) | ceil(act_bits / 8) bytes: ``out_data`` of that PE and local row |

A byte that is no command is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from accel.arch.config import ArchConfig
from accel.hdl.protocol.load_word import LoadWordLayout
from accel.hdl.protocol.loading import LoadWrite
from accel.hdl.protocol.sizes import RTLSizes

PROTOCOL_VERSION = 1
MAGIC = b"EIE"


class Command(IntEnum):
    INFO = 0x00
    LOAD = 0x01
    CLEAR = 0x02
    ACT = 0x03
    START = 0x04
    STATUS = 0x05
    CYCLES = 0x06
    READ = 0x07


def _bytes(bits: int) -> int:
    return -(-bits // 8)


@dataclass(frozen=True)
class BridgeProtocol:
    """Payload and answer sizes of every command, and the frames the host sends, for ``config``."""

    config: ArchConfig

    @property
    def rows_bits(self) -> int:
        return self.config.regfile_entries.bit_length()

    def payload_bytes(self, command: Command) -> int:
        sizes = RTLSizes(self.config)
        return {Command.LOAD: _bytes(LoadWordLayout(self.config).width),
                Command.ACT: _bytes(self.config.act_bits + sizes.col_bits),
                Command.START: _bytes(self.rows_bits + 1),
                Command.READ: _bytes(sizes.row_bits + sizes.pe_bits)}.get(command, 0)

    def answer_bytes(self, command: Command) -> int:
        return {Command.INFO: 8, Command.STATUS: 1, Command.CYCLES: 4,
                Command.READ: _bytes(self.config.act_bits)}.get(command, 0)

    def info_answer(self) -> bytes:
        return MAGIC + bytes([PROTOCOL_VERSION]) + self.config.n_pes.to_bytes(2, "little") \
            + self.config.regfile_entries.to_bytes(2, "little")

    def frame(self, command: Command, payload: int = 0) -> bytes:
        return bytes([command]) + payload.to_bytes(self.payload_bytes(command), "little")

    def load(self, write: LoadWrite) -> bytes:
        return self.frame(Command.LOAD, LoadWordLayout(self.config).pack(write))

    def act(self, index: int, value: int) -> bytes:
        bits = self.config.act_bits
        return self.frame(Command.ACT, (value & ((1 << bits) - 1)) | index << bits)

    def start(self, rows: int, relu: bool) -> bytes:
        return self.frame(Command.START, rows | int(relu) << self.rows_bits)

    def read(self, pe: int, addr: int) -> bytes:
        return self.frame(Command.READ, addr | pe << RTLSizes(self.config).row_bits)
