"""A self-contained design folder: the Verilog, its interface README and, for a layer, a testbench kit.

With a layer the folder also holds what a user of any Verilog simulator needs to run it: one
``load.hex`` of load-port writes per batch (plus one ``$readmemh`` file per PE memory), the input
vector, the simulator's expected outputs and cycle counts, the self-checking ``tb_eie.v`` and
``run_icarus.sh``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.files import write_text_atomic
from accel.arch.images import LayerImage, build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.cases import LayerCase, prepare_case
from accel.hdl.host.testbench import TESTBENCH, testbench_verilog
from accel.hdl.protocol.contents import batch_contents
from accel.hdl.protocol.load_word import LOAD_TARGETS, LoadWordLayout
from accel.hdl.protocol.loading import memory_files
from accel.hdl.protocol.sizes import RTLSizes
from accel.hdl.rtl.interface import port_table
from accel.hdl.rtl.pe_array import READOUT_LATENCY, EIEArray
from accel.hdl.rtl.verilog import TOP, array_verilog

RUN_ICARUS = f"""\
#!/bin/sh
# Build and run the self-checking testbench under Icarus Verilog; exit status 0 only on PASS.
set -e
cd "$(dirname "$0")"
echo "compiling {TOP}.v and {TESTBENCH}.v with iverilog (a large array takes minutes)" >&2
iverilog -g2012 -o {TESTBENCH}.vvp -s {TESTBENCH} {TESTBENCH}.v {TOP}.v
echo "simulating: the boot run, then every batch through the load port" >&2
vvp -n {TESTBENCH}.vvp | tee {TESTBENCH}.log
grep -q '^PASS' {TESTBENCH}.log
"""


TIMING_DIAGRAM = r'''```
cycle      |load  |load  |clear |input |input |start |0     |...   |N-1   |N     |ask   |ask   |ask   |      |      |      |      |      |
clk        /"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__/"""\__
load_en    """"""""""""""\_______________________________________________________________________________________________________________
load_*     Xw0    Xw1    X---------------------------------------------------------------------------------------------------------------
act_clear  ______________/""""""\________________________________________________________________________________________________________
act_en     _____________________/"""""""""""""\__________________________________________________________________________________________
act_*      X--------------------X0     X1     X------------------------------------------------------------------------------------------
start      ___________________________________/""""""\___________________________________________________________________________________
busy       __________________________________________/""""""""""""""""""""\______________________________________________________________
done       """"""""""""""""""""""""""""""""""""""""""\____________________/""""""""""""""""""""""""""""""""""""""""""""""""""""""""""""""
cycles     Xprev                                     X0     X...   XN-1   XN
out_pe     X---------------------------------------------------------------------Xp0    Xp1    Xp2    X----------------------------------
out_addr   X---------------------------------------------------------------------Xr0    Xr1    Xr2    X----------------------------------
out_data   X--------------------------------------------------------------------------------------------------------Xy0    Xy1    Xy2
```
'''


def _hex_lines(values, bits: int) -> str:
    digits = -(-bits // 4)
    mask = (1 << bits) - 1
    return "".join(f"{int(value) & mask:0{digits}x}\n" for value in values)


def write_design_folder(config: ArchConfig, out: Path, layer: QuantizedLayer | None = None,
                        inputs_fixed: np.ndarray | None = None, record: dict | None = None,
                        image: LayerImage | None = None) -> list[Path]:
    """Write the folder; ``record`` (e.g. provenance) is added to ``design.json``; ``image`` is the layer
    already laid out for ``config``."""
    if layer is not None:
        image = image or build_layer_image(layer, config)
    array = EIEArray(config, contents=batch_contents(image, image.batches[0]) if image is not None else None)
    sizes = RTLSizes(config)
    layout = LoadWordLayout(config)
    design = {"top": TOP, "rtl": {"spmat_lines": sizes.spmat_lines, "ptr_bank_depth": sizes.ptr_bank_depth,
                                  "max_cols": sizes.max_cols, "col_bits": sizes.col_bits},
              "load_word": dict(layout.fields), **(record or {})}
    written = [write_text_atomic(out / f"{TOP}.v", array_verilog(array, for_simulation=True)),
               write_text_atomic(out / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")]
    case = None
    if layer is not None:
        case = prepare_case(layer.name, layer, inputs_fixed, config, image)
        for index, (batch, expected) in enumerate(zip(image.batches, case.batches)):
            words = [layout.pack(write) for write in expected.writes]
            written.append(write_text_atomic(out / f"batch{index}" / "load.hex", _hex_lines(words, layout.width)))
            for name, text in memory_files(image, batch).items():
                written.append(write_text_atomic(out / f"batch{index}" / name, text))
        outputs = case.expected_outputs
        written += [
            write_text_atomic(out / "inputs.hex", _hex_lines(case.inputs, config.act_bits)),
            write_text_atomic(out / "expected_outputs.hex", _hex_lines(outputs, config.act_bits)),
            write_text_atomic(out / "expected_cycles.hex", _hex_lines([b.expected_cycles for b in case.batches], 32)),
            write_text_atomic(out / f"{TESTBENCH}.v", testbench_verilog(array, case)),
            write_text_atomic(out / "run_icarus.sh", RUN_ICARUS),
        ]
        (out / "run_icarus.sh").chmod(0o755)
        design["layer"] = {"name": layer.name, "rows": layer.rows, "cols": layer.cols, "relu": layer.relu,
                           "inputs": list(case.inputs), "expected_outputs": outputs,
                           "batches": [{"row_start": b.row_start, "writeback_rows": b.rows, "load_writes": len(b.writes),
                                        "expected_cycles": b.expected_cycles} for b in case.batches]}
    written.append(write_text_atomic(out / "design.json", json.dumps(design, indent=2) + "\n"))
    written.append(write_text_atomic(out / "README.md", design_readme(array, layout, case)))
    return written


def design_readme(array: EIEArray, layout: LoadWordLayout, case: LayerCase | None) -> str:
    """The folder's README: files, port table, load targets, load word, timing diagram, how to run."""
    config = array.config
    ports = "\n".join(f"| `{name}` | {direction} | {width} | {meaning} |" for name, direction, width, meaning in port_table(array))
    targets = "\n".join(f"| {code} | `{name}` | {meaning} |" for code, (name, meaning) in LOAD_TARGETS.items())
    fields, low = [], 0
    for name, width in layout.fields:
        fields.append(f"| `{name}` | {low + width - 1}:{low} |")
        low += width
    kit = ""
    boot = ""
    if array.contents is not None:
        boot = f"""
**This design boots holding layer `{case.name}`.** Every memory and the codebook are declared with
the contents of batch 0 (block RAM initialisation in synthesis, `initial` values in simulation), so
after configuration steps 2-5 below compute batch 0 with no load-port writes. The load port is needed
for the other batches, and to run batch 0 again once its accumulators have been used.
"""
    if case is not None:
        batches = case.batches
        kit = f"""
## The testbench kit: layer `{case.name}`

| file | holds |
|---|---|
| `batchK/load.hex` | every load-port write of batch K, one packed load word per line, in order ({', '.join(str(len(b.writes)) for b in batches)} writes) |
| `batchK/<memory>_peP.hex`, `batchK/codebook.hex` | the same contents per memory (`$readmemh` images, e.g. for initialised RAMs) |
| `inputs.hex` | the input vector, {len(case.inputs)} values, {config.act_bits}-bit two's complement, Q.{config.act_frac} |
| `expected_outputs.hex` | the simulator's outputs in row order, {config.act_bits}-bit two's complement |
| `expected_cycles.hex` | the simulator's cycle count of each batch ({', '.join(str(b.expected_cycles) for b in batches)}) |
| `tb_eie.v` | self-checking testbench: plays every batch, compares `cycles` and every output, prints `PASS` or `FAIL` (`$fatal(1)`) |
| `run_icarus.sh` | `iverilog` + `vvp`; exit status 0 only on PASS |
| `design.json` | the same numbers in JSON, RTL sizes, the load-word layout and how the folder was made |

Run `./run_icarus.sh` (Icarus Verilog 11 or later). Other simulators: compile `{TOP}.v` and `tb_eie.v`
with top `tb_eie` and run from this folder (the testbench reads the `.hex` files by relative path).
The `initial #0` lines in `{TOP}.v` only help event-driven simulators start the combinational logic;
synthesis ignores them. `accel synth --gate-sim FOLDER` runs the same testbench on yosys's iCE40
netlist of this folder (the synthesised gates and initialised block RAMs).
"""
    return f"""# EIE array: `{TOP}.v`

{config.n_pes} PEs, activation FIFO depth {config.fifo_depth}, {config.regfile_entries} rows per PE and batch,
sparse-matrix memory {RTLSizes(config).spmat_lines} lines of {config.line_bits} bits per PE, pipeline latency
{config.pipeline_latency}. `config.json` holds the architecture (`accel synth --config config.json`,
`accel simulate --config config.json` use it); accel/arch/TIMING.md defines the arithmetic and the cycle count.

## Ports

| port | dir | width | meaning |
|---|---|---|---|
{ports}

## Load targets (`load_target`)

| code | memory | a write there holds |
|---|---|---|
{targets}

Before a batch the host writes every memory of every PE: the codebook (broadcast), then per PE the
sparse-matrix lines, both pointer banks, and the bias of every accumulator row (0 for rows without one:
the accumulators are not cleared by `start`).
{boot}
## Load word (`batchK/load.hex`, one per line)

| field | bits |
|---|---|
{chr(10).join(fields)}

## Timing: load, start, read-out

Each column is one clock cycle, from a rising edge to the next; an input shown in a column is sampled
at the rising edge that ends it (`tb_eie.v` drives inputs at falling edges). `N` is the batch's cycle count.

{TIMING_DIAGRAM}
1. Load: hold `load_en` high and present one write per cycle (each lands in its PE two cycles later).
2. Input vector: pulse `act_clear`, then hold `act_en` high and present the columns 0 .. cols-1 in order.
3. Set `relu` and `rows`, pulse `start`. Cycle 0 of the batch is the next cycle; `done` falls then.
4. Wait for `done`; `cycles` then holds the batch's cycle count N.
5. Read-out: ask for one output per cycle by setting `out_pe` and `out_addr`; each answer appears on
   `out_data` {READOUT_LATENCY} cycles after its question (the diagram asks for p0, p1, p2 at local rows r0,
   r1, r2). Output row `row_start + r * {config.n_pes} + pe` of the layer lives at (`pe`, `r`).
6. A layer taller than {config.n_pes * config.regfile_entries} rows runs in batches: repeat 1-5 per batch.
{kit}"""
