"""The host side of the array: drivers over its ports or UART, scoreboards against the simulator, co-simulation and
the plain-Verilog testbench writer."""
