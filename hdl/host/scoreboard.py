"""One scoreboard for every host: what the array gave for a batch against what the simulator gave.

The host (``accel.hdl.host.array_host``) hands it a batch's outputs and whatever its link read of
``accel.arch.counters.COMPARED`` (over the UART, cycles only); it names the first differing output (its row, PE and local row, expected and actual, how many more differ) and the
first differing quantity, in ``COMPARED``'s order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from accel.arch.counters import COMPARED, Timing
from accel.sim.results import BatchResult


def compared_values(result: BatchResult) -> dict[str, int | list[int]]:
    """What the co-simulation compares (``accel.arch.counters.COMPARED``), as the simulator has it for one batch."""
    timing = {Timing.CYCLES: result.cycles, Timing.T_ISSUE: result.t_issue, Timing.STALL: result.stall_cycles,
              Timing.BUSY: result.busy.tolist()}
    return {name.value: timing[name] if isinstance(name, Timing) else result.counters[name.value] for name in COMPARED}


def batch_problems(row_start: int, n_pes: int, expected_outputs: Sequence[int], outputs: Sequence[int],
                   expected: Mapping[str, int | list[int]], seen: Mapping[str, int | list[int]]) -> list[str]:
    """The differences between a batch's ``outputs`` and quantities ``seen`` and the simulator's (empty when they
    agree); rows are counted from the batch's first, ``row_start``, of the layer."""
    problems = []
    if len(outputs) != len(expected_outputs):
        problems.append(f"rows {row_start}..: the array gave {len(outputs)} outputs, the simulator {len(expected_outputs)}")
    wrong = [row for row, (want, got) in enumerate(zip(expected_outputs, outputs)) if int(want) != int(got)]
    if wrong:
        row = wrong[0]
        problems.append(f"output row {row_start + row} (PE {row % n_pes}, local row {row // n_pes}): "
                        f"expected {expected_outputs[row]}, got {outputs[row]}"
                        + (f"; {len(wrong) - 1} more outputs differ" if len(wrong) > 1 else ""))
    for name in map(str, COMPARED):
        if name not in seen or seen[name] == expected[name]:
            continue
        want, got = expected[name], seen[name]
        if name == "busy":
            pe = next(index for index, (a, b) in enumerate(zip(got, want)) if a != b)
            problems.append(f"busy cycles of PE {pe}: array {got[pe]}, simulator {want[pe]}")
        else:
            problems.append(f"{name} of the batch at row {row_start}: array {got}, simulator {want}")
        break
    return problems
