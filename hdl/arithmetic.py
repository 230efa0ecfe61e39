"""The arithmetic unit of a PE: codebook, multiply, rounding shift, saturating accumulate, write-back.

An entry presented in cycle ``c`` (stage S1, the cycle after its issue slot) flows through:

* S1 (c):   codebook lookup; the row address accumulates the entry's relative index.
* S2 (c+1): accumulator read (synchronous) and multiply.
* S3 (c+2): rounding shift, saturating add and accumulator write (at the end of the cycle).

The accumulator memory has one synchronous read port, so an entry in S2 cannot see the sum that
the entry in S3 writes in the same cycle: when both hit the same row (entries issued in adjacent
cycles), S3 adds to its predecessor's sum instead (the bypass). Entries two or more cycles apart
read the written value from the memory.

Write-back reads accumulator ``wb_read_addr`` one cycle ahead and writes ReLU + saturation of it
to output row ``wb_write_addr``; outputs are read back through ``out_addr`` / ``out_data``.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from hdl.sizes import RTLSizes


def saturate(value, bits: int):
    """Clamp a signed value to the range of a ``bits``-wide signed integer."""
    high, low = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    return Mux(value > high, high, Mux(value < low, low, value))


class ArithmeticUnit(wiring.Component):
    """Accumulates ``act * codebook[code]`` into the row each entry addresses (accel/arch/TIMING.md rules 2-5)."""

    def __init__(self, config: ArchConfig) -> None:
        self.config = config
        sizes = RTLSizes(config)
        super().__init__({
            # One entry per cycle: ``first`` marks the first entry of a column (row address restarts).
            "valid": In(1), "first": In(1), "entry": In(config.entry_bits), "act": In(signed(config.act_bits)),
            # Load mode: codebook entry or accumulator initial value (bias) at ``load_addr``.
            "codebook_en": In(1), "acc_en": In(1), "load_addr": In(sizes.address_bits), "load_data": In(sizes.load_bits),
            # Write-back.
            "wb_read": In(1), "wb_read_addr": In(sizes.row_bits),
            "wb_write": In(1), "wb_write_addr": In(sizes.row_bits), "relu": In(1),
            # Read-out (one cycle after ``out_addr``) and the bypass counter (``clear`` zeroes it).
            "out_addr": In(sizes.row_bits), "out_data": Out(signed(config.act_bits)),
            "clear": In(1), "bypasses": Out(32),
        })

    def elaborate(self, platform) -> Module:
        config = self.config
        row_bits = len(self.wb_read_addr)
        m = Module()
        m.submodules.acc = acc = Memory(shape=signed(config.acc_bits), depth=config.regfile_entries, init=[])
        m.submodules.out = out = Memory(shape=signed(config.act_bits), depth=config.regfile_entries, init=[])
        acc_r, acc_w = acc.read_port(), acc.write_port()
        out_r, out_w = out.read_port(), out.write_port()

        codebook = [Signal(signed(config.weight_bits), name=f"codebook{i}") for i in range(config.codebook_size)]
        with m.If(self.codebook_en):
            with m.Switch(self.load_addr):
                for index, value in enumerate(codebook):
                    with m.Case(index):
                        m.d.sync += value.eq(self.load_data[:config.weight_bits].as_signed())

        # S1: codebook lookup and row-address accumulation.
        code, relative = self.entry[:config.code_bits], self.entry[config.code_bits:]
        weight = Signal(signed(config.weight_bits))
        with m.Switch(code):
            for index, value in enumerate(codebook):
                with m.Case(index):
                    m.d.comb += weight.eq(value)
        # Padding entries only precede a real entry of their column, so every row address is in range.
        row, next_row = Signal(row_bits), Signal(row_bits)
        m.d.comb += next_row.eq(Mux(self.first, 0, row + 1) + relative)
        with m.If(self.valid):
            m.d.sync += row.eq(next_row)

        # S2: accumulator read and multiply.
        s2_valid, s2_row = Signal(), Signal(row_bits)
        s2_act, s2_weight = Signal.like(self.act), Signal.like(weight)
        m.d.sync += [s2_valid.eq(self.valid), s2_row.eq(next_row), s2_act.eq(self.act), s2_weight.eq(weight)]
        m.d.comb += [acc_r.addr.eq(Mux(self.wb_read, self.wb_read_addr, s2_row)), acc_r.en.eq(1)]
        s3_valid, s3_row = Signal(), Signal(row_bits)
        s3_product = Signal(signed(config.act_bits + config.weight_bits))
        m.d.sync += [s3_valid.eq(s2_valid), s3_row.eq(s2_row), s3_product.eq(s2_act * s2_weight)]

        # S3: rounding shift, bypass, saturating add, accumulator write.
        previous_valid, previous_row = Signal(), Signal(row_bits)
        previous_sum = Signal(signed(config.acc_bits))
        bypass = Signal()
        m.d.comb += bypass.eq(s3_valid & previous_valid & (previous_row == s3_row))
        rounding = (1 << (config.weight_frac - 1)) if config.weight_frac else 0
        scaled = (s3_product + rounding) >> config.weight_frac
        total = Signal(signed(config.acc_bits))
        m.d.comb += total.eq(saturate(Mux(bypass, previous_sum, acc_r.data) + scaled, config.acc_bits))
        m.d.sync += [previous_valid.eq(s3_valid), previous_row.eq(s3_row), previous_sum.eq(total)]
        with m.If(bypass):
            m.d.sync += self.bypasses.eq(self.bypasses + 1)
        m.d.comb += [acc_w.en.eq(s3_valid | self.acc_en),
                     acc_w.addr.eq(Mux(self.acc_en, self.load_addr, s3_row)),
                     acc_w.data.eq(Mux(self.acc_en, self.load_data[:config.acc_bits].as_signed(), total))]

        # Write-back: ReLU and saturation into the output register file.
        activated = Mux(self.relu & acc_r.data[-1], 0, acc_r.data)
        m.d.comb += [out_w.en.eq(self.wb_write), out_w.addr.eq(self.wb_write_addr),
                     out_w.data.eq(saturate(activated, config.act_bits)),
                     out_r.addr.eq(self.out_addr), out_r.en.eq(1), self.out_data.eq(out_r.data)]

        with m.If(self.clear):
            m.d.sync += [previous_valid.eq(0), self.bypasses.eq(0)]
        return m
