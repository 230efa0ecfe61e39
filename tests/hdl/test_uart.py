"""Host <-> UART bits <-> bridge <-> array in Amaranth's simulator, against the cycle-level simulator."""

import asyncio

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.array_host import ArrayHost, BatchSeen
from accel.hdl.host.cases import prepare_case
from accel.hdl.host.uart_link import UartLink
from accel.hdl.host.uart_sim import run_over_uart
from accel.hdl.protocol.uart_protocol import BridgeProtocol, Command
from accel.sim import simulate_layer

# Two PEs with two rows each: a 6-row layer runs in two batches (the second one partly filled).
TINY = ArchConfig(n_pes=2, regfile_entries=2, line_bits=16, spmat_sram_bytes=32, ptr_sram_bytes=64, fifo_depth=2)


def test_a_layer_over_the_uart_matches_the_simulator():
    rng = np.random.default_rng(1)
    codes = (rng.random((6, 10)) < 0.4) * rng.integers(1, 16, (6, 10))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-2, 2, 15)], bias=rng.standard_normal(6),
                           relu=True, name="tiny")
    image = build_layer_image(layer, TINY)
    inputs = quantize_activations(rng.standard_normal(10) * (rng.random(10) < 0.7), TINY)
    assert len(image.batches) == 2 and 0 < np.count_nonzero(inputs) < inputs.size
    expected = simulate_layer(image, inputs)
    assert np.count_nonzero(expected.outputs) >= 3

    [check] = run_over_uart(TINY, lambda host: host.run_layers([layer], inputs, TINY), divisor=4)
    assert check.problems == [] and check.expected_cycles == [batch.cycles for batch in expected.batches]
    assert check.cycles == check.expected_cycles and check.outputs.tolist() == expected.outputs.tolist()
    # The same scoreboard as over the ports: a wrong output and a wrong cycle count are named.
    case = prepare_case("tiny", layer, inputs, TINY)
    first, second = case.batches
    wrong_output = BatchSeen(second.expected_cycles, [second.expected_outputs[0] + 1, *second.expected_outputs[1:]])
    assert ArrayHost.problems(case, second, wrong_output)[0].startswith("output row 4 (PE 0, local row 0): expected ")
    late = BatchSeen(first.expected_cycles + 1, list(first.expected_outputs))
    assert ArrayHost.problems(case, first, late) == [f"cycles of the batch at row 0: array {first.expected_cycles + 1}, "
                                                    f"simulator {first.expected_cycles}"]


class CannedLine:
    """A transport that records what the host sends and answers with fixed bytes."""

    def __init__(self, answer: bytes) -> None:
        self.answer, self.sent = answer, b""

    async def write(self, data: bytes) -> None:
        self.sent += data

    async def read(self, count: int) -> bytes:
        return self.answer[:count]


def test_the_host_refuses_a_bridge_of_another_size():
    other = BridgeProtocol(TINY.replace(n_pes=4)).info_answer()
    with pytest.raises(UserError, match="4 PEs x 2 rows.*--config"):
        asyncio.run(UartLink(CannedLine(other), TINY).connect())
    with pytest.raises(UserError, match="no EIE bridge"):
        asyncio.run(UartLink(CannedLine(b"\xff" * 8), TINY).connect())
    line = CannedLine(BridgeProtocol(TINY).info_answer())
    asyncio.run(UartLink(line, TINY).connect())
    assert line.sent == bytes([Command.INFO])
