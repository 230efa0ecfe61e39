"""A self-checking plain-Verilog testbench of the array for one layer and input vector.

When the array was built with initial memory contents (``accel.hdl.protocol.contents``) it first runs batch 0
with no load-port writes, as the design boots. It reads everything it drives and expects from ``$readmemh`` files written beside it (the load-port
writes of each batch, the input vector, the simulator's outputs and cycle counts), runs every batch
as described in the folder's README, and prints ``PASS`` (then ``$finish``) or ``FAIL`` with each
mismatch (then ``$fatal(1)``, a non-zero exit status). Verilog-2005 plus ``$fatal``.
"""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib.wiring import Out

from accel.hdl.host.cases import LayerCase
from accel.hdl.protocol.load_word import LoadWordLayout
from accel.hdl.rtl.pe_array import READOUT_LATENCY, EIEArray
from accel.hdl.rtl.verilog import TOP

TESTBENCH = "tb_eie"
CLOCK_NS = 10


def _declaration(name: str, width: int, output: bool) -> str:
    vector = f"[{width - 1}:0] " if width > 1 else ""
    return f"  {'wire' if output else 'reg'} {vector}{name}{'' if output else ' = 0'};"


def testbench_verilog(array: EIEArray, case: LayerCase) -> str:
    """Verilog source of ``tb_eie`` for ``case`` (``accel.hdl.host.cases``) on ``array``."""
    config = array.config
    layout = LoadWordLayout(config)
    batches = case.batches
    rows = sum(len(batch.expected_outputs) for batch in batches)
    timeout = 10 * max(batch.expected_cycles for batch in batches) + 1000
    ports = {name: (Shape.cast(member.shape).width, member.flow == Out)
             for name, member in array.signature.members.items() if not name.startswith("stat_")}
    declarations = "\n".join(_declaration(name, width, output) for name, (width, output) in ports.items())
    connections = ",\n    ".join(f".{name}({name})" for name in ["clk", "rst", *ports])
    fields = ", ".join(f"load_{name}" for name, _ in reversed(layout.fields))
    boot = ""
    if array.contents is not None:
        first = batches[0]
        boot = ('    $display("boot: batch 0 as configured, with no load-port writes");\n'
                f'    run_batch(0, 0, {first.rows}, {first.row_start}, {len(first.expected_outputs)});\n'
                '    $display("boot: %0d mismatch(es); now every batch through the load port", errors);\n')
    runs = boot + "\n".join(
        f'    $readmemh("batch{index}/load.hex", load_words, 0, {len(batch.writes) - 1});\n'
        f'    run_batch({index}, {len(batch.writes)}, {batch.rows}, {batch.row_start}, '
        f'{len(batch.expected_outputs)});'
        for index, batch in enumerate(batches))
    return f"""\
// Self-checking testbench of {TOP} for layer {case.name!r}: {rows} outputs, {len(case.inputs)} inputs,
// {len(batches)} batch(es). Written by `accel verilog`; every expected value comes from the simulator.
// Run: ./run_icarus.sh (or any Verilog simulator: {TOP}.v tb_eie.v, top module {TESTBENCH}).
`timescale 1ns/1ps
module {TESTBENCH};
  localparam N_PES = {config.n_pes};
  localparam COLS = {len(case.inputs)};
  localparam ROWS = {rows};
  localparam N_BATCHES = {len(batches)};
  localparam MAX_WRITES = {max(len(batch.writes) for batch in batches)};
  localparam TIMEOUT = {timeout};
  localparam READOUT_LATENCY = {READOUT_LATENCY};

  reg clk = 1'b0;
  reg rst = 1'b1;
{declarations}

  reg [{layout.width - 1}:0] load_words [0:MAX_WRITES-1];
  reg [{config.act_bits - 1}:0] inputs [0:COLS-1];
  reg [{config.act_bits - 1}:0] expected_outputs [0:ROWS-1];
  reg [31:0] expected_cycles [0:N_BATCHES-1];
  integer errors = 0;

  {TOP} dut (
    {connections}
  );

  always #{CLOCK_NS // 2} clk = ~clk;

  // One batch: load-port writes, input vector, start, wait for done, check cycles, read out every row.
  task run_batch;
    input integer batch, n_writes, writeback_rows, row_start, n_rows;
    integer i, pe, row, waited;
    begin
      load_en = 1;
      for (i = 0; i < n_writes; i = i + 1) begin
        {{{fields}}} = load_words[i];
        @(negedge clk);
      end
      load_en = 0;
      act_clear = 1;
      @(negedge clk);
      act_clear = 0;
      act_en = 1;
      for (i = 0; i < COLS; i = i + 1) begin
        act_index = i;
        act_value = inputs[i];
        @(negedge clk);
      end
      act_en = 0;
      relu = {int(case.relu)};
      rows = writeback_rows;
      start = 1;
      @(negedge clk);
      start = 0;
      waited = 0;
      while (done !== 1'b1 && waited < TIMEOUT) begin
        @(negedge clk);
        waited = waited + 1;
      end
      if (done !== 1'b1) begin
        $display("FAIL batch %0d: done never rose in %0d cycles", batch, TIMEOUT);
        errors = errors + 1;
      end else if (cycles !== expected_cycles[batch]) begin
        $display("FAIL batch %0d: %0d cycles, the simulator says %0d", batch, cycles, expected_cycles[batch]);
        errors = errors + 1;
      end
      for (pe = 0; pe < N_PES; pe = pe + 1) begin
        out_pe = pe;
        @(negedge clk);
        for (row = pe; row < n_rows; row = row + N_PES) begin
          out_addr = row / N_PES;
          repeat (READOUT_LATENCY) @(negedge clk);
          if (out_data !== expected_outputs[row_start + row]) begin
            $display("FAIL output row %0d (PE %0d, local row %0d): got %h, expected %h",
                     row_start + row, pe, row / N_PES, out_data, expected_outputs[row_start + row]);
            errors = errors + 1;
          end
        end
      end
    end
  endtask

  initial begin
    $readmemh("inputs.hex", inputs);
    $readmemh("expected_outputs.hex", expected_outputs);
    $readmemh("expected_cycles.hex", expected_cycles);
    repeat (2) @(negedge clk);
    rst = 0;
{runs}
    if (errors == 0) begin
      $display("PASS: %0d outputs and %0d batch cycle count(s) match the simulator", ROWS, N_BATCHES);
      $finish;
    end
    $fatal(1, "FAIL: %0d mismatch(es)", errors);
  end
endmodule
"""
