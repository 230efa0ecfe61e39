"""The EIE array: central control, non-zero activation queue and broadcast, and the PEs.

I/O mode: the host writes PE memories through the load port (``load_pe`` chooses the PE,
``load_broadcast`` writes every PE, e.g. the codebook), and writes the input vector through the
activation port; non-zero activations are compacted into the broadcast queue as they arrive
(leading non-zero detection at load time). ``start`` runs one batch in compute mode: cycle 0 is
the cycle after ``start``; ``done`` rises when the batch's ``cycles`` (accel/arch/TIMING.md) are over.
Outputs and per-PE activity counters (optional: ``counters=False`` drops their ports, e.g. for
synthesis on small packages) are then read through ``out_pe`` / ``out_addr``. ``dsp`` names the FPGA
family whose DSP blocks build the multipliers (``"ecp5"``), or None for portable logic.

The broadcast passes ``broadcast_latency`` register stages; from two on, the last stage is inside
each PE. The central stages form a tree of copies (``accel.hdl.rtl.broadcast.fan_out``: one stage is copied
for each group of about sqrt(n_pes) PEs; with more, a first register beside the queue's block RAM,
then groups that grow level by level), so that no single register drives every PE across the chip.
The write-back controls reach the PEs through one level of such copies (``WRITEBACK_LEVELS``) and
their own register in each PE, and the PEs' drained flags reach the control unit through one
register level of an OR tree (``IDLE_LEVELS``); the control unit decides the write-back that many
cycles ahead and dates ``T_issue`` back as many, so cycle counts are those of accel/arch/TIMING.md.
``start`` reaches the PEs with the broadcast (so before any activation of its batch), and the
load-port writes and read-out addresses through ``IO_LEVELS`` levels of copies; read-out answers
come back through a registered multiplexer per group of PEs and a final register:
``READOUT_LATENCY`` cycles from ``out_pe``/``out_addr`` to ``out_data``. I/O mode only waits longer;
no register drives every PE.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.arch.config import MAX_RTL_PES, ArchConfig
from accel.arch.counters import RTL_PER_PE
from accel.arch.errors import UserError
from accel.hdl.protocol.contents import PEContents
from accel.hdl.protocol.ports import ArrayLoadSignature, ArrayReadoutSignature, CounterSignature, InputSignature
from accel.hdl.rtl.broadcast import BroadcastUnit, CreditGate, Repeater, delay_stages, fan_out, fan_out_interface, or_tree
from accel.hdl.rtl.control import ControlUnit
from accel.hdl.rtl.pe import MIN_PIPELINE_LATENCY, ProcessingElement

WRITEBACK_LEVELS = 1
"""Register levels of copies between the control unit's write-back controls and the PEs' own registers."""
IDLE_LEVELS = 1
"""Register levels in the OR tree of the PEs' busy flags before the control unit's register."""
IO_LEVELS = 1
"""Register levels of copies between the load and read-out ports and the PEs, which register them once
more: a write lands ``IO_LEVELS + 1`` cycles late."""
READOUT_LATENCY = IO_LEVELS + 4
"""Cycles from ``out_pe``/``out_addr`` to ``out_data``: the copies, the PE's register, its output register
file, the group's multiplexer register and the final one."""


class ArrayCore(wiring.Component):
    """``n_pes`` processing elements behind one broadcast unit and one control unit, with typed ports
    (``EIEArray`` is its flat Verilog top)."""

    def __init__(self, config: ArchConfig, counters: bool = True, dsp: str | None = None,
                 contents: Sequence[PEContents] | None = None) -> None:
        if config.pipeline_latency < MIN_PIPELINE_LATENCY:
            raise UserError(f"the RTL's arithmetic pipeline and write-back take {MIN_PIPELINE_LATENCY} cycles; "
                            f"set pipeline_latency to {MIN_PIPELINE_LATENCY} or more (got {config.pipeline_latency})")
        if contents is not None and len(contents) != config.n_pes:
            raise ValueError(f"contents for {len(contents)} PEs given to an array of {config.n_pes}")
        self.config = config
        self.counters = counters
        self.contents = contents
        """Every PE's memories at configuration (``accel.hdl.protocol.contents``), or None for empty memories."""
        self.dsp = dsp
        super().__init__({
            "load": In(ArrayLoadSignature(config)), "act": In(InputSignature(config)),
            "relu": In(1), "rows": In(range(config.regfile_entries + 1)), "start": In(1),
            "busy": Out(1), "done": Out(1), "cycles": Out(32),
            "out": In(ArrayReadoutSignature(config)),
            **({"stat": Out(CounterSignature())} if counters else {}),
        })

    def elaborate(self, platform) -> Module:
        config = self.config
        m = Module()
        m.submodules.broadcast = broadcast = BroadcastUnit(config)
        m.submodules.control = control = ControlUnit(config, lead=2 + WRITEBACK_LEVELS, idle_delay=IDLE_LEVELS)
        latency = config.broadcast_latency
        # With two or more broadcast stages the last one is in each PE: no register drives every PE.
        in_pe = int(latency >= 2)
        pes = [ProcessingElement(config, self.dsp, None if self.contents is None else self.contents[index], bool(in_pe),
                                 self.counters) for index in range(config.n_pes)]
        for index, pe in enumerate(pes):
            m.submodules[f"pe{index}"] = pe

        m.submodules.credits = credits = CreditGate(config)
        sent = broadcast.broadcast.valid & broadcast.broadcast.ready
        # The broadcast reaches the PEs through `latency` registers; their fill flags come back through as many.
        valids = delay_stages(m, sent, latency, "push_valid")
        in_flight = Cat(valids[1:]).any()
        pushes = fan_out(m, Cat(sent, self.start, broadcast.broadcast.payload.as_value()), config.n_pes, latency - in_pe,
                         "push", root=True)
        load_ports = [value for _, _, value in self.load.signature.flatten(self.load)]
        loads = fan_out(m, Cat(*load_ports), config.n_pes, IO_LEVELS, "load")
        read_addresses = fan_out(m, self.out.addr, config.n_pes, IO_LEVELS, "read_addr")
        fan_out_interface(m, control.writeback, [pe.writeback for pe in pes], WRITEBACK_LEVELS, "writeback")
        # Idle: nothing to broadcast or in flight, every PE drained, seen IDLE_LEVELS cycles late as a whole.
        central_idle = delay_stages(m, ~broadcast.pending & ~in_flight, IDLE_LEVELS, "central_idle")[-1]
        pes_busy = or_tree(m, [~pe.drained for pe in pes], IDLE_LEVELS + 1, "busy_or")
        m.d.comb += [
            broadcast.clear.eq(self.act.clear), broadcast.write.eq(self.act.en), broadcast.index.eq(self.act.index),
            broadcast.value.eq(self.act.value),
            broadcast.restart.eq(self.start), broadcast.run.eq(control.computing),
            credits.full_seen_early.eq(or_tree(m, [pe.fill for pe in pes], latency, "fill_or")), credits.sent.eq(sent),
            broadcast.broadcast.ready.eq(credits.ready),
            control.start.eq(self.start), control.rows.eq(self.rows), control.relu.eq(self.relu),
            control.idle.eq(central_idle & ~pes_busy),
            self.busy.eq(control.busy), self.done.eq(control.done), self.cycles.eq(control.cycles),
        ]
        for index, (pe, push, load, read_address) in enumerate(zip(pes, pushes, loads, read_addresses)):
            load_en, load_broadcast, load_pe, *load_fields = self._load_fields(load, load_ports)
            m.d.comb += [
                pe.push.valid.eq(push[0]), pe.start.eq(push[1]), pe.push.payload.eq(push[2:]),
                pe.load.en.eq(load_en & (load_broadcast | (load_pe == index))),
                Cat(pe.load.target, pe.load.addr, pe.load.data).eq(Cat(*load_fields)), pe.readout.addr.eq(read_address),
            ]
        self._read_out(m, pes)
        if self.counters:
            with m.Switch(self.out.pe):
                for index, pe in enumerate(pes):
                    with m.Case(index):
                        m.d.comb += [getattr(self.stat, counter.value).eq(getattr(pe, counter.value))
                                     for counter in RTL_PER_PE]
            # Central counters: broadcasts, cycles the credit rule held a pending broadcast back, T_issue.
            held = broadcast.broadcast.valid & ~broadcast.broadcast.ready
            with m.If(self.start):
                m.d.sync += [self.stat.broadcasts.eq(0), self.stat.stall.eq(0)]
            with m.Else():
                m.d.sync += [self.stat.broadcasts.eq(self.stat.broadcasts + sent), self.stat.stall.eq(self.stat.stall + held)]
            m.d.comb += self.stat.t_issue.eq(control.t_issue)
        return m

    @staticmethod
    def _load_fields(load, ports: list) -> list:
        """The load port's fields (en, broadcast, pe, target, addr, data: ``ports``) out of their packed copy."""
        fields, low = [], 0
        for port in ports:
            width = len(Value.cast(port))
            fields.append(load[low:low + width])
            low += width
        return fields

    def _read_out(self, m: Module, pes: list) -> None:
        """``out_data``: PE ``out_pe``'s word at ``out_addr``, ``READOUT_LATENCY`` cycles later, through a
        registered multiplexer per group of consecutive PEs and a final register.

        Groups hold a power of two of PEs (at least sqrt(n_pes)), so a PE's group and its place in it are
        bit fields of ``out_pe``, not a division; each group registers its own copy of the place (a
        ``Repeater``), so no select register drives every group's multiplexer across the chip."""
        n = self.config.n_pes
        place_bits = ((n - 1).bit_length() + 1) // 2
        group = 1 << place_bits
        chosen = delay_stages(m, self.out.pe, IO_LEVELS + 3, "read_pe")  # aligned with each PE's output register
        groups = []
        for first in range(0, n, group):
            word = Signal.like(self.out.data, name=f"read_group{first // group}")
            groups.append(word)
            if group == 1:
                m.d.sync += word.eq(pes[first].readout.data)
                continue
            # The group's own copy of the place, standing for chosen[IO_LEVELS + 2]: a module of its own, so
            # synthesis does not merge the copies back into one register driving every group's multiplexer.
            m.submodules[f"read_place{first // group}"] = place = Repeater(place_bits)
            m.d.comb += place.i.eq(chosen[IO_LEVELS + 1][:place_bits])
            with m.Switch(place.o):
                for index in range(first, min(first + group, n)):
                    with m.Case(index - first):
                        m.d.sync += word.eq(pes[index].readout.data)
        if len(groups) == 1:  # no group bits to select on (a zero-width switch is not Verilog)
            m.d.sync += self.out.data.eq(groups[0])
            return
        with m.Switch(chosen[IO_LEVELS + 3][place_bits:]):
            for index, word in enumerate(groups):
                with m.Case(index):
                    m.d.sync += self.out.data.eq(word)


class EIEArray(wiring.Component):
    """The array as its Verilog top: ``ArrayCore`` behind flat ports, each named by its path in the core's
    signature joined with ``_`` (``load.en`` is ``load_en``: ``accel.hdl.protocol.ports.ArrayPort``, and the
    counters' ``stat_*`` ports), as the design folder's README documents them for other tools."""

    def __new__(cls, config: ArchConfig, *args, **kwargs) -> "EIEArray":
        """Refuse a config the generator cannot build before the component exists (no unused-component warning)."""
        if config.n_pes > MAX_RTL_PES:
            raise UserError(f"the RTL generator builds at most {MAX_RTL_PES} PEs (MAX_RTL_PES), got {config.n_pes}")
        return super().__new__(cls, config, *args, src_loc_at=1, **kwargs)

    def __init__(self, config: ArchConfig, counters: bool = True, dsp: str | None = None,
                 contents: Sequence[PEContents] | None = None) -> None:
        self.core = ArrayCore(config, counters, dsp, contents)
        self.config, self.contents = config, contents
        super().__init__({"_".join(path): member for path, member in self.core.signature.members.flatten()
                          if member.is_port})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.core = core = self.core
        for path, member, value in core.signature.flatten(core):
            port = getattr(self, "_".join(path))
            m.d.comb += value.eq(port) if member.flow == In else port.eq(value)
        return m
