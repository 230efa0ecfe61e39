"""Cycle-level simulator of the EIE processing-element array (rules in accel/arch/TIMING.md)."""

from accel.sim.fast import simulate_layer

__all__ = ["simulate_layer"]
