"""A signed multiplier with registered inputs and a registered product (two cycles).

The product of the operands presented in cycle ``c`` appears on ``p`` in cycle ``c + 2``. For
``dsp="ecp5"`` it is one ECP5 MULT18X18D with its input and output registers switched on, so that
nextpnr times it as a registered block (unregistered, it is timed as combinational logic between
the flip-flops around it); otherwise it is portable logic with the same registers, which is what
the simulators run.
"""

from __future__ import annotations

from amaranth import ClockSignal, Instance, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.arch.errors import UserError

DSP_KINDS = ("ecp5",)
ECP5_WIDTH = 18
"""Operand width of a MULT18X18D."""


class Multiplier(wiring.Component):
    """``p = a * b`` two cycles after ``a`` and ``b`` are presented (input and output registers)."""

    def __init__(self, a_bits: int, b_bits: int, dsp: str | None = None) -> None:
        if dsp is not None and dsp not in DSP_KINDS:
            raise UserError(f"unknown DSP block kind {dsp!r}; choose one of {', '.join(DSP_KINDS)} or none")
        if dsp == "ecp5" and max(a_bits, b_bits) > ECP5_WIDTH:
            raise UserError(f"a MULT18X18D multiplies at most {ECP5_WIDTH}-bit operands; act_bits and weight_bits "
                            f"are {a_bits} and {b_bits}")
        self.dsp = dsp
        super().__init__({"a": In(signed(a_bits)), "b": In(signed(b_bits)), "p": Out(signed(a_bits + b_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.dsp == "ecp5":
            a, b = Signal(signed(ECP5_WIDTH)), Signal(signed(ECP5_WIDTH))
            product = Signal(signed(2 * ECP5_WIDTH))
            m.d.comb += [a.eq(self.a), b.eq(self.b), self.p.eq(product)]
            ports = {f"i_A{i}": a[i] for i in range(ECP5_WIDTH)}
            ports |= {f"i_B{i}": b[i] for i in range(ECP5_WIDTH)}
            # C and the shift-register inputs stay unconnected: nextpnr cannot route a constant to them.
            ports |= {f"o_P{i}": product[i] for i in range(2 * ECP5_WIDTH)}
            registers = {f"p_REG_{name}_{what}": value for name in ("INPUTA", "INPUTB", "OUTPUT")
                         for what, value in (("CLK", "CLK0"), ("CE", "CE0"), ("RST", "RST0"))}
            m.submodules.dsp = Instance(
                "MULT18X18D", **registers, p_GSR="DISABLED", p_RESETMODE="SYNC",
                i_CLK0=ClockSignal(), i_CE0=1, i_RST0=0, i_SIGNEDA=1, i_SIGNEDB=1, i_SOURCEA=0, i_SOURCEB=0, **ports)
        else:
            a, b = Signal.like(self.a), Signal.like(self.b)
            m.d.sync += [a.eq(self.a), b.eq(self.b), self.p.eq(a * b)]
        return m
