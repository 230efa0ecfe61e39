"""The UART bridge as a host's link: the steps of a batch in the byte protocol of accel.hdl.protocol.uart_protocol.

``UartLink`` speaks it over any ``Transport``: a serial port on a board (``SerialLine``), the bit-level
model of the UART line in Amaranth's simulator (accel.hdl.host.uart_sim) or the UART pins of a board
netlist under cocotb (accel.hdl.host.cocotb_board_bench). It reads outputs and cycle counts; the bridge
does not send the activity counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.hdl.protocol.loading import LoadWrite
from accel.hdl.protocol.uart_protocol import MAGIC, PROTOCOL_VERSION, BridgeProtocol, Command


class Transport(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def read(self, count: int) -> bytes: ...


class UartLink:
    """The steps of a batch on an EIE array behind a UART bridge built for ``config``. The load and input
    frames of a batch go out in one write with its start frame; ``max_polls`` status polls wait for ``done``."""

    def __init__(self, transport: Transport, config: ArchConfig, max_polls: int = 100_000) -> None:
        self.transport = transport
        self.config = config
        self.protocol = BridgeProtocol(config)
        self.max_polls = max_polls
        self._pending = b""

    async def _ask(self, command: Command, payload: int = 0) -> bytes:
        await self.transport.write(self.protocol.frame(command, payload))
        return await self.transport.read(self.protocol.answer_bytes(command))

    async def connect(self) -> None:
        """Refuse a bridge that speaks another protocol version or was built for another array size."""
        answer = await self._ask(Command.INFO)
        if answer != self.protocol.info_answer():
            if answer[:3] != MAGIC:
                raise UserError(f"no EIE bridge answers on this port (got {answer.hex()}); check the port and baud rate")
            n_pes, entries = int.from_bytes(answer[4:6], "little"), int.from_bytes(answer[6:8], "little")
            raise UserError(f"the bridge runs protocol {answer[3]} with {n_pes} PEs x {entries} rows; this host speaks "
                            f"protocol {PROTOCOL_VERSION} for {self.config.n_pes} PEs x {self.config.regfile_entries} rows: "
                            f"use the --config the bitstream was built with")

    async def load(self, writes: Sequence[LoadWrite]) -> None:
        self._pending += b"".join(self.protocol.load(write) for write in writes)

    async def write_inputs(self, inputs: Sequence[int]) -> None:
        """Clear the queue and send the non-zero inputs (the array queues only those)."""
        self._pending += self.protocol.frame(Command.CLEAR)
        self._pending += b"".join(self.protocol.act(index, int(value)) for index, value in enumerate(inputs) if value)

    async def compute(self, rows: int, relu: bool, limit: int) -> int:
        """Send the batch with its start frame and poll until it is done; ``limit`` is left to ``max_polls``."""
        frames, self._pending = self._pending + self.protocol.start(rows, relu), b""
        await self.transport.write(frames)
        for _ in range(self.max_polls):
            if (await self._ask(Command.STATUS))[0] & 1:
                break
        else:
            raise RuntimeError(f"the array did not finish a batch after {self.max_polls} status polls")
        return int.from_bytes(await self._ask(Command.CYCLES), "little")

    async def read_out(self, pe_rows: Sequence[int]) -> tuple[list[int], dict[str, Any]]:
        """The outputs in row order, one READ each; no counters."""
        n_pes, bits = self.config.n_pes, self.config.act_bits
        outputs = []
        for row in range(sum(pe_rows)):
            await self.transport.write(self.protocol.read(row % n_pes, row // n_pes))
            raw = int.from_bytes(await self.transport.read(self.protocol.answer_bytes(Command.READ)), "little")
            raw &= (1 << bits) - 1
            outputs.append(raw - (1 << bits) if raw >> (bits - 1) else raw)
        return outputs, {}


class SerialLine:
    """A ``Transport`` over a serial port (pyserial); a read that times out raises UserError."""

    def __init__(self, port: str, baud: int, timeout_s: float = 2.0) -> None:
        try:
            import serial
        except ImportError:
            raise UserError("talking to a board needs pyserial: pip install pyserial") from None
        try:
            self.serial = serial.Serial(port, baud, timeout=timeout_s)
        except (serial.SerialException, ValueError) as error:
            raise UserError(f"cannot open serial port {port}: {error}") from None
        self.port, self.timeout_s = port, timeout_s

    async def write(self, data: bytes) -> None:
        self.serial.write(data)

    async def read(self, count: int) -> bytes:
        data = self.serial.read(count)
        if len(data) < count:
            raise UserError(f"{self.port} answered {len(data)} of {count} bytes within {self.timeout_s:g} s; is the "
                            f"bitstream loaded and the baud rate right?")
        return data

    def close(self) -> None:
        self.serial.close()
