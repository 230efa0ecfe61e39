"""The Amaranth components: the PE, its arithmetic and queue, the broadcast and control units, the array, the UART
bridge, and Verilog generation."""
