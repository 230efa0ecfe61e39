"""Host <-> UART bits <-> bridge <-> array in Amaranth's simulator, against the cycle-level simulator."""

import asyncio

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from hdl.host.uart_host import ArrayRun, EIEHost, differences, run_and_check
from hdl.host.uart_sim import run_over_uart
from hdl.protocol.uart_protocol import BridgeProtocol, Command
from sim import simulate_layer

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

    [check] = run_over_uart(TINY, lambda host: run_and_check(host, [layer], inputs), divisor=4)
    run = check.run
    assert check.problems == [] and check.expected.outputs.tolist() == expected.outputs.tolist()
    assert run.cycles == [batch.cycles for batch in expected.batches] and run.outputs.tolist() == expected.outputs.tolist()
    wrong = ArrayRun(outputs=run.outputs + np.eye(1, 6, 4, dtype=np.int64)[0], cycles=[run.cycles[0] + 1, run.cycles[1]])
    found = differences(wrong, expected)
    assert len(found) == 2 and any(line.startswith("output row 4 (PE ") for line in found), found
    assert any(line.startswith("cycles of the batch at row 0: array ") for line in found), found


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
        asyncio.run(EIEHost(CannedLine(other), TINY).check_bridge())
    with pytest.raises(UserError, match="no EIE bridge"):
        asyncio.run(EIEHost(CannedLine(b"\xff" * 8), TINY).check_bridge())
    line = CannedLine(BridgeProtocol(TINY).info_answer())
    asyncio.run(EIEHost(line, TINY).check_bridge())
    assert line.sent == bytes([Command.INFO])
