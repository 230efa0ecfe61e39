"""The EIE array behind a UART: a host drives every top-level port with the byte protocol of accel.hdl.protocol.uart_protocol.

The bridge decodes one command at a time: it collects the payload bytes, then drives the array's
ports from registers for one cycle (load, activation, clear and start pulses; ``relu``/``rows``,
``out_pe``/``out_addr`` held until the next command that sets them) and answers read commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Cat, DomainRenamer, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.hdl.protocol.contents import PEContents
from accel.hdl.protocol.load_word import LoadWordLayout
from accel.hdl.protocol.ports import PULSES
from accel.hdl.protocol.ports import ArrayPort as P
from accel.hdl.protocol.sizes import RTLSizes
from accel.hdl.protocol.uart_protocol import BridgeProtocol, Command
from accel.hdl.rtl.pe_array import READOUT_LATENCY, EIEArray
from accel.hdl.rtl.uart import UARTReceiver, UARTTransmitter


class UARTBridge(wiring.Component):
    """An ``EIEArray`` for ``config`` (without activity counters) and its UART host bridge; ``dsp`` as for
    ``EIEArray`` (the FPGA family whose multiplier blocks to instantiate, None for portable RTL). The array
    runs in clock domain ``array_domain`` (``sync`` unless given: a board gives it one on the same clock)."""

    def __init__(self, config: ArchConfig, divisor: int, dsp: str | None = None,
                 contents: Sequence[PEContents] | None = None, array_domain: str = "sync") -> None:
        self.array_domain = array_domain
        self.config = config
        self.divisor = divisor
        self.dsp = dsp
        self.contents = contents
        """The array's memories at configuration (``accel.hdl.protocol.contents``), or None for empty ones."""
        self.protocol = BridgeProtocol(config)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "busy": Out(1)})

    def elaborate(self, platform) -> Module:
        config, protocol, sizes = self.config, self.protocol, RTLSizes(self.config)
        m = Module()
        m.submodules.receiver = receiver = UARTReceiver(self.divisor)
        m.submodules.transmitter = transmitter = UARTTransmitter(self.divisor)
        array = EIEArray(config, counters=False, dsp=self.dsp, contents=self.contents)
        m.submodules.array = DomainRenamer(self.array_domain)(array)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx), self.busy.eq(array.busy)]

        commands = list(Command)
        longest_payload = max(protocol.payload_bytes(c) for c in commands)
        longest_answer = max(protocol.answer_bytes(c) for c in commands)
        command = Signal(8)
        payload = Signal(8 * longest_payload)
        received = Signal(range(longest_payload + 1))
        answer = Signal(8 * longest_answer)
        answer_length = Signal(range(longest_answer + 1))
        sent = Signal(range(longest_answer + 1))
        waited = Signal(range(READOUT_LATENCY))

        # The array's inputs, all from registers; the pulses last one cycle.
        held = {name: Signal.like(getattr(array, name), name=f"array_{name}")
                for name in (P.LOAD_BROADCAST, P.LOAD_PE, P.LOAD_TARGET, P.LOAD_ADDR, P.LOAD_DATA, P.ACT_INDEX,
                             P.ACT_VALUE, P.RELU, P.ROWS, P.OUT_PE, P.OUT_ADDR)}
        pulse_regs = {name: Signal(name=f"array_{name}") for name in PULSES}
        m.d.sync += [reg.eq(0) for reg in pulse_regs.values()]
        for name, reg in {**held, **pulse_regs}.items():
            m.d.comb += getattr(array, name).eq(reg)

        load_fields, low = {}, 0
        for name, width in LoadWordLayout(config).fields:
            load_fields[name] = payload[low:low + width]
            low += width
        act_value = payload[:config.act_bits]
        act_index = payload[config.act_bits:config.act_bits + sizes.col_bits]
        start_rows = payload[:protocol.rows_bits]
        start_relu = payload[protocol.rows_bits]
        read_addr = payload[:sizes.row_bits]
        read_pe = payload[sizes.row_bits:sizes.row_bits + sizes.pe_bits]
        info = int.from_bytes(protocol.info_answer(), "little")

        with m.FSM():
            with m.State("COMMAND"):
                with m.If(receiver.data.valid):
                    m.d.sync += [command.eq(receiver.data.payload), received.eq(0)]
                    with m.Switch(receiver.data.payload):
                        for c in commands:
                            with m.Case(c):
                                m.next = "PAYLOAD" if protocol.payload_bytes(c) else "EXECUTE"
            with m.State("PAYLOAD"):
                with m.If(receiver.data.valid):
                    m.d.sync += [payload.word_select(received, 8).eq(receiver.data.payload), received.eq(received + 1)]
                    with m.Switch(command):
                        for c in commands:
                            if protocol.payload_bytes(c):
                                with m.Case(c):
                                    with m.If(received == protocol.payload_bytes(c) - 1):
                                        m.next = "EXECUTE"
            with m.State("EXECUTE"):
                m.d.sync += [sent.eq(0), answer_length.eq(0)]
                m.next = "COMMAND"
                with m.Switch(command):
                    with m.Case(Command.INFO):
                        m.d.sync += [answer.eq(info), answer_length.eq(protocol.answer_bytes(Command.INFO))]
                        m.next = "ANSWER"
                    with m.Case(Command.LOAD):
                        m.d.sync += [pulse_regs[P.LOAD_EN].eq(1), held[P.LOAD_BROADCAST].eq(load_fields["broadcast"]),
                                     held[P.LOAD_PE].eq(load_fields["pe"]), held[P.LOAD_TARGET].eq(load_fields["target"]),
                                     held[P.LOAD_ADDR].eq(load_fields["addr"]), held[P.LOAD_DATA].eq(load_fields["data"])]
                    with m.Case(Command.CLEAR):
                        m.d.sync += pulse_regs[P.ACT_CLEAR].eq(1)
                    with m.Case(Command.ACT):
                        m.d.sync += [pulse_regs[P.ACT_EN].eq(1), held[P.ACT_INDEX].eq(act_index),
                                     held[P.ACT_VALUE].eq(act_value)]
                    with m.Case(Command.START):
                        m.d.sync += [pulse_regs[P.START].eq(1), held[P.ROWS].eq(start_rows), held[P.RELU].eq(start_relu)]
                    with m.Case(Command.STATUS):
                        m.d.sync += [answer.eq(Cat(array.done, array.busy)), answer_length.eq(1)]
                        m.next = "ANSWER"
                    with m.Case(Command.CYCLES):
                        m.d.sync += [answer.eq(array.cycles), answer_length.eq(4)]
                        m.next = "ANSWER"
                    with m.Case(Command.READ):
                        m.d.sync += [held[P.OUT_PE].eq(read_pe), held[P.OUT_ADDR].eq(read_addr), waited.eq(0)]
                        m.next = "READ_WAIT"
            with m.State("READ_WAIT"):  # until the array answers (READOUT_LATENCY cycles after out_pe, out_addr)
                m.d.sync += waited.eq(waited + 1)
                with m.If(waited == READOUT_LATENCY - 1):
                    m.next = "READ_CAPTURE"
            with m.State("READ_CAPTURE"):
                m.d.sync += [answer.eq(array.out_data), answer_length.eq(protocol.answer_bytes(Command.READ))]
                m.next = "ANSWER"
            with m.State("ANSWER"):
                m.d.comb += [transmitter.data.valid.eq(1), transmitter.data.payload.eq(answer.word_select(sent, 8))]
                with m.If(transmitter.data.ready):
                    m.d.sync += sent.eq(sent + 1)
                    with m.If(sent + 1 == answer_length):
                        m.next = "COMMAND"
        return m
