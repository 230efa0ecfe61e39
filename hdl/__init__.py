"""The EIE array in Amaranth HDL, in four layers, each importing only those below it:

``flow`` (synthesis, place and route, board builds, gate-level runs) > ``host`` (drivers, scoreboards,
co-simulation, testbench writers) > ``rtl`` (the Amaranth components) > ``protocol`` (memory contents,
the load and UART protocols, the sizes every layer shares)."""
