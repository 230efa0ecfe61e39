"""Synthesis, place and route, board builds and gate-level runs of the array (yosys, nextpnr, Icarus, Verilator)."""
