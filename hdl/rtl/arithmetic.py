"""The arithmetic unit of a PE: codebook, multiply, rounding shift, saturating accumulate, write-back.

An entry presented in cycle ``c - 1`` (three cycles after its issue slot, from a register) flows
through:

* c-1: codebook lookup of its code into a weight register, beside the registered entry (so the
  path into the multiplier's input registers starts at a flip-flop: on an FPGA the DSP block may
  sit far from the codebook's logic).
* c:   the weight into the multiplier's input registers; the row address accumulates the entry's
  relative index and addresses the accumulator's read port.
* c+1: multiply (between the multiplier's input and output registers); the accumulator word is
  registered.
* c+2: rounding shift, saturating add and accumulator write (at the end of the cycle), in one
  carry chain: ``acc + ((p + 2^(f-1)) >> f) = ((acc << f) + 2^(f-1) + p) >> f``.

Sums are kept unsaturated (two bits wider) in the forwarding and write registers and saturated
where they are used, so that the saturation's select, which drives every bit, starts at registers
and not at the end of the carry chain.

An entry reads its accumulator two cycles before the entry ahead of it writes, so when an entry
one or two cycles ahead hit the same row (adjacent columns), the add takes that entry's sum
instead of the memory's (forwarding; ``bypasses`` counts the one-cycle case, TIMING.md). Which
sum to take is settled in ``c+1`` into one register, so the adder's input is a two-way choice.
Entries three or more cycles apart read the written value. An accumulator can be read back from
``c+3`` on: ``MIN_PIPELINE_LATENCY`` counts from the issue slot.

Longer pipelines take the accumulator's block RAM and the multiplier out of the accumulate loop
(on an FPGA both may sit far from the adder):

* ``pipeline_latency`` 9 and more: the product passes one more register (in the fabric), and the
  accumulator read, the forwarding choice and the add each move one cycle later.
* ``pipeline_latency`` 10 and more: the add's result is also registered before the accumulator
  write, so a read misses the sums of the three entries ahead, and forwarding takes any of them.

The loop then runs from the forwarding register through the adder back into it, next to each other.

A bias written through the load port (I/O mode, cycle ``t``) takes the forwarding register in
``t + 1`` and passes the adder with a zero product, so the accumulator's write data is always the
adder's output.

Write-back reads accumulator ``writeback.addr``; two cycles later (through the same accumulator
word register) ReLU and saturation of it are decided, and a cycle after that written to that output row. Outputs are read back
through ``readout`` (one cycle later).
"""

from __future__ import annotations

from amaranth import C, Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.hdl.protocol.ports import LoadSignature, LoadTarget, ReadoutSignature, WritebackSignature
from accel.hdl.rtl.broadcast import delay_stages
from accel.hdl.rtl.multiplier import Multiplier

NO_COLLISIONS = {"no_rw_check": 1}
"""yosys attribute for a memory whose reads never use a word written in the same cycle: the block
RAM then needs no read-during-write emulation (a write-data register shared by every PE, and a
multiplexer after the RAM's output)."""
MIN_PIPELINE_LATENCY = 8
"""Issue to accumulator write (end of issue + 6), then a write-back read two cycles ahead of its write."""


def fits(value, bits: int):
    """Whether a signed value lies in the range of a ``bits``-wide signed integer: the bits from ``bits - 1`` up
    are all equal (no comparator chain)."""
    top = value[bits - 1:]
    return top.all() | ~top.any()


def saturate(value, bits: int):
    """Clamp a signed value to the range of a ``bits``-wide signed integer."""
    high, low = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    return Mux(fits(value, bits), value[:bits].as_signed(), Mux(value[-1], low, high))


class ArithmeticUnit(wiring.Component):
    """Accumulates ``act * codebook[code]`` into the row each entry addresses (accel/arch/TIMING.md rules 2-5)."""

    def __init__(self, config: ArchConfig, dsp: str | None = None, acc_init: tuple[int, ...] = (),
                 codebook_init: tuple[int, ...] = ()) -> None:
        self.config = config
        self.dsp = dsp
        self.registered_product = config.pipeline_latency >= MIN_PIPELINE_LATENCY + 1
        """A register between the multiplier and the add (the add and the write move a cycle later)."""
        self.registered_write = config.pipeline_latency >= MIN_PIPELINE_LATENCY + 2
        """A register between the add and the accumulator write (the write moves a cycle later)."""
        self.acc_init, self.codebook_init = acc_init, codebook_init
        """Accumulator and codebook values at configuration (missing ones are zero)."""
        super().__init__({
            # One entry per cycle, one cycle before it is used: ``first`` marks a column's first entry.
            "valid": In(1), "first": In(1), "entry": In(config.entry_bits), "act": In(signed(config.act_bits)),
            # Load mode (codebook entries and accumulator initial values), write-back and read-out.
            "load": In(LoadSignature(config)), "writeback": In(WritebackSignature(config)),
            "readout": In(ReadoutSignature(config)),
            # The bypass counter (``clear`` zeroes it).
            "clear": In(1), "bypasses": Out(32),
        })

    def elaborate(self, platform) -> Module:
        config = self.config
        row_bits = len(self.writeback.addr)
        load, writeback, readout = self.load, self.writeback, self.readout
        codebook_en = load.en & (load.target == LoadTarget.CODEBOOK)
        acc_en = load.en & (load.target == LoadTarget.ACC)
        m = Module()
        # A read that meets a write to its row is the forwarding case (the sum ahead replaces the word read).
        m.submodules.acc = acc = Memory(shape=signed(config.acc_bits), depth=config.regfile_entries,
                                        init=list(self.acc_init), attrs=NO_COLLISIONS)
        m.submodules.out = out = Memory(shape=signed(config.act_bits), depth=config.regfile_entries, init=[])
        acc_r, acc_w = acc.read_port(), acc.write_port()
        out_r, out_w = out.read_port(), out.write_port()

        # The codebook: a small memory read asynchronously (LUT RAM on an FPGA: one level of logic
        # between the entry's register and the weight register, where 16 separate registers need a mux tree).
        m.submodules.codebook = codebook = Memory(shape=signed(config.weight_bits), depth=config.codebook_size,
                                                  init=list(self.codebook_init))
        codebook_w, codebook_r = codebook.write_port(), codebook.read_port(domain="comb")
        m.d.comb += [codebook_w.en.eq(codebook_en), codebook_w.addr.eq(load.addr),
                     codebook_w.data.eq(load.data[:config.weight_bits].as_signed())]

        # c-1: the entry is registered and its code looked up in the codebook into the weight register.
        valid1, first1 = Signal(), Signal()
        entry1, act1, weight1 = Signal(config.entry_bits), Signal(signed(config.act_bits)), Signal(signed(config.weight_bits))
        # Between entries both operands are zero, and so is the product (also in a Verilog simulator,
        # where an unknown operand would make it unknown): a load's write adds it to nothing.
        m.d.sync += [valid1.eq(self.valid), first1.eq(self.first), entry1.eq(self.entry),
                     act1.eq(Mux(self.valid, self.act, 0))]
        m.d.comb += codebook_r.addr.eq(self.entry[:config.code_bits])
        m.d.sync += weight1.eq(Mux(self.valid, codebook_r.data, 0))
        # c: the multiplier's inputs come from registers; row-address accumulation.
        m.submodules.multiplier = multiplier = Multiplier(config.act_bits, config.weight_bits, self.dsp)
        relative = entry1[config.code_bits:]
        m.d.comb += [multiplier.a.eq(act1), multiplier.b.eq(weight1)]
        # Padding entries only precede a real entry of their column, so every row address is in range.
        row, next_row = Signal(row_bits), Signal(row_bits)
        m.d.comb += next_row.eq(Mux(first1, 0, row + 1) + relative)
        with m.If(valid1):
            m.d.sync += row.eq(next_row)
        # Each entry's valid flag and row, from c on: one stage per cycle, up to the add and the sums after it.
        stage = int(self.registered_product)
        ahead = 3 if self.registered_write else 2  # entries ahead whose sum the read cannot see yet
        valids = delay_stages(m, valid1, stage + ahead, "valid_at")
        rows = delay_stages(m, next_row, stage + ahead, "row_at")
        product = delay_stages(m, multiplier.p, stage, "product")[-1]
        # The accumulator is read in c (c+1 with the product register), two cycles before the add.
        m.d.comb += [acc_r.addr.eq(Mux(writeback.read, writeback.addr, rows[stage])), acc_r.en.eq(1)]

        # A cycle after the read: the accumulator word is registered; which sum ahead to forward is decided.
        stored = Signal(signed(config.acc_bits))
        m.d.sync += stored.eq(acc_r.data)
        # Sums are kept as the adder gave them, two bits wider, and saturated where they are used: the
        # saturation's select, which drives every bit, then starts at registers.
        raw = Signal(signed(config.acc_bits + 2))
        sums = delay_stages(m, raw, ahead - 1, "sum")
        # The entry one (``near``), two (or three) cycles ahead hit this entry's row: its sum replaces
        # the word read, the nearest first, chosen here into ``forwarded``. A load's accumulator write
        # takes the same way: its value goes through the adder (with a zero product) a cycle later.
        # The row compares are made a cycle earlier (in the read cycle, between the same entries) and
        # registered, so the choice starts at flip-flops.
        hits = [Signal(name=f"hit{k + 1}") for k in range(ahead)]
        m.d.sync += [hit.eq(valids[stage] & valids[stage + 1 + k] & (rows[stage] == rows[stage + 1 + k]))
                     for k, hit in enumerate(hits)]
        choice = load.data[:config.acc_bits].as_signed()
        for hit, value in reversed(list(zip(hits, sums))):
            choice = Mux(hit, value, choice)
        near, use_forwarded = Signal(), Signal()
        forwarded = Signal.like(raw)
        load_write, load_row = Signal(), Signal(row_bits)
        m.d.sync += [near.eq(hits[0]), use_forwarded.eq(Cat(*hits, acc_en).any()), forwarded.eq(choice),
                     load_write.eq(acc_en), load_row.eq(load.addr)]

        # The add: one carry chain adds the rounded, shifted product to the accumulator; saturate; write.
        add_valid, add_row = valids[stage + 2], rows[stage + 2]
        frac = config.weight_frac
        base = Mux(use_forwarded, saturate(forwarded, config.acc_bits), stored)
        rounding = (1 << (frac - 1)) if frac else 0
        widened = Signal(signed(config.acc_bits + frac + 2))
        m.d.comb += widened.eq((Cat(C(rounding, frac), base).as_signed() if frac else base) + product)
        m.d.comb += raw.eq(widened >> frac)
        with m.If(add_valid & near):
            m.d.sync += self.bypasses.eq(self.bypasses + 1)
        write_en, write_addr, write_data = (
            delay_stages(m, value, int(self.registered_write), name)[-1]
            for value, name in ((add_valid | load_write, "write_en"), (Mux(load_write, load_row, add_row), "write_addr"),
                                (raw, "write_data")))
        m.d.comb += [acc_w.en.eq(write_en), acc_w.addr.eq(write_addr), acc_w.data.eq(saturate(write_data, config.acc_bits))]

        # Write-back: ReLU and saturation of the registered accumulator word into the output register file, in two
        # registered steps (the verdicts, then the choice), so no path runs from the word through the range check
        # into the LUT RAM's write data. The output row is written a cycle after the word's verdicts; it is read
        # only after the batch is done, through the read-out's own registers.
        wb_valid = [Signal(name=f"wb_valid{i}") for i in (1, 2, 3)]
        wb_addr = [Signal(row_bits, name=f"wb_addr{i}") for i in (1, 2, 3)]
        m.d.sync += [wb_valid[0].eq(writeback.read), wb_addr[0].eq(writeback.addr),
                     wb_valid[1].eq(wb_valid[0]), wb_addr[1].eq(wb_addr[0]),
                     wb_valid[2].eq(wb_valid[1]), wb_addr[2].eq(wb_addr[1])]
        cleared, in_range, negative = Signal(), Signal(), Signal()
        low_bits = Signal(signed(config.act_bits))
        m.d.sync += [cleared.eq(writeback.relu & stored[-1]), in_range.eq(fits(stored, config.act_bits)),
                     negative.eq(stored[-1]), low_bits.eq(stored[:config.act_bits])]
        high, low = config.act_range[1], config.act_range[0]
        m.d.comb += [out_w.en.eq(wb_valid[2]), out_w.addr.eq(wb_addr[2]),
                     out_w.data.eq(Mux(cleared, 0, Mux(in_range, low_bits, Mux(negative, low, high)))),
                     out_r.addr.eq(readout.addr), out_r.en.eq(1), readout.data.eq(out_r.data)]

        with m.If(self.clear):
            m.d.sync += self.bypasses.eq(0)
        return m
