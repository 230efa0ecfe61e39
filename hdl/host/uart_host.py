"""The host side of the UART bridge: run a laid-out layer on the array and read outputs and cycles back.

``EIEHost`` speaks the protocol of hdl.protocol.uart_protocol over any ``Transport``: a serial port on a
board, or the bit-level model of the UART line in Amaranth's simulator (hdl.host.uart_sim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.images import BatchImage, LayerImage, build_layer_image
from accel.arch.layer import QuantizedLayer
from hdl.host.scoreboard import batch_problems, compared_values
from hdl.protocol.contents import batch_contents, contents_digest
from hdl.protocol.loading import batch_writes
from hdl.protocol.uart_protocol import MAGIC, PROTOCOL_VERSION, BridgeProtocol, Command
from sim import simulate_layer
from sim.results import LayerResult


class Transport(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def read(self, count: int) -> bytes: ...


@dataclass
class ArrayRun:
    """What the array returned for one layer: outputs in row order and each batch's cycle count."""

    outputs: np.ndarray
    cycles: list[int] = field(default_factory=list)


class EIEHost:
    """Drives an EIE array behind a UART bridge built for ``config``."""

    def __init__(self, transport: Transport, config: ArchConfig, max_polls: int = 100_000) -> None:
        self.transport = transport
        self.config = config
        self.protocol = BridgeProtocol(config)
        self.max_polls = max_polls

    async def _ask(self, command: Command, payload: int = 0) -> bytes:
        await self.transport.write(self.protocol.frame(command, payload))
        return await self.transport.read(self.protocol.answer_bytes(command))

    async def check_bridge(self) -> None:
        """Refuse a bridge that speaks another protocol version or was built for another array size."""
        answer = await self._ask(Command.INFO)
        if answer != self.protocol.info_answer():
            if answer[:3] != MAGIC:
                raise UserError(f"no EIE bridge answers on this port (got {answer.hex()}); check the port and baud rate")
            n_pes, entries = int.from_bytes(answer[4:6], "little"), int.from_bytes(answer[6:8], "little")
            raise UserError(f"the bridge runs protocol {answer[3]} with {n_pes} PEs x {entries} rows; this host speaks "
                            f"protocol {PROTOCOL_VERSION} for {self.config.n_pes} PEs x {self.config.regfile_entries} rows: "
                            f"use the --config the bitstream was built with")

    async def run_batch(self, image: LayerImage, batch: BatchImage, inputs_fixed: np.ndarray,
                        load: bool = True) -> tuple[np.ndarray, int]:
        """Load ``batch`` (unless ``load`` is False: the array boots holding it), write the inputs, start, wait
        for done; return the batch's outputs and cycles."""
        frames = b"".join(self.protocol.load(write) for write in batch_writes(image, batch)) if load else b""
        frames += self.protocol.frame(Command.CLEAR)
        frames += b"".join(self.protocol.act(index, int(value)) for index, value in enumerate(inputs_fixed) if value)
        frames += self.protocol.start(batch.writeback_cycles, image.relu)
        await self.transport.write(frames)
        for _ in range(self.max_polls):
            if (await self._ask(Command.STATUS))[0] & 1:
                break
        else:
            raise RuntimeError(f"the array did not finish a batch of {image.name} after {self.max_polls} status polls")
        cycles = int.from_bytes(await self._ask(Command.CYCLES), "little")
        outputs = np.zeros(batch.n_rows, dtype=np.int64)
        bits = self.config.act_bits
        for row in range(batch.n_rows):
            pe, addr = row % self.config.n_pes, row // self.config.n_pes
            await self.transport.write(self.protocol.read(pe, addr))
            raw = int.from_bytes(await self.transport.read(self.protocol.answer_bytes(Command.READ)), "little")
            raw &= (1 << bits) - 1
            outputs[row] = raw - (1 << bits) if raw >> (bits - 1) else raw
        return outputs, cycles

    async def run_layer(self, image: LayerImage, inputs_fixed: np.ndarray, booted: bool = False) -> ArrayRun:
        """Every batch of ``image``; with ``booted`` the first is not loaded (the array boots holding it)."""
        run = ArrayRun(outputs=np.zeros(image.rows, dtype=np.int64))
        for index, batch in enumerate(image.batches):
            outputs, cycles = await self.run_batch(image, batch, inputs_fixed, load=not (booted and index == 0))
            run.outputs[batch.row_start: batch.row_start + batch.n_rows] = outputs
            run.cycles.append(cycles)
        return run


@dataclass
class LayerCheck:
    """One layer run on the array beside the simulator's run on the same inputs."""

    name: str
    run: ArrayRun
    expected: LayerResult
    problems: list[str]


async def run_and_check(host: EIEHost, layers: list[QuantizedLayer], inputs_fixed: np.ndarray,
                        boots_with: str | None = None) -> list[LayerCheck]:
    """Check the bridge, then run ``layers`` one after the other on the array (each on the array's outputs of
    the one before) and compare every layer with the simulator on the same inputs. When ``boots_with`` is
    the digest (``hdl.protocol.contents.contents_digest``) of the first layer's first batch, the array boots holding
    it, and that batch is not loaded."""
    await host.check_bridge()
    checks, activations = [], np.asarray(inputs_fixed, dtype=np.int64)
    for index, layer in enumerate(layers):
        image = build_layer_image(layer, host.config)
        booted = index == 0 and boots_with == contents_digest(batch_contents(image, image.batches[0]))
        run = await host.run_layer(image, activations, booted)
        expected = simulate_layer(image, activations)
        checks.append(LayerCheck(layer.name, run, expected, differences(run, expected)))
        activations = run.outputs
    return checks


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


def differences(run: ArrayRun, expected: LayerResult) -> list[str]:
    """Where the array's outputs and cycle counts differ from the simulator's, batch by batch (empty when they
    agree; ``hdl.host.scoreboard``)."""
    if len(run.cycles) != len(expected.batches):
        return [f"the array ran {len(run.cycles)} batches, the simulator {len(expected.batches)}"]
    problems = []
    for batch, cycles in zip(expected.batches, run.cycles):
        rows = slice(batch.row_start, batch.row_start + batch.n_rows)
        problems += batch_problems(batch.row_start, expected.config.n_pes, expected.outputs[rows].tolist(),
                                   run.outputs[rows].tolist(), compared_values(batch), {"cycles": cycles})
    return problems
