"""The Amaranth RTL in Amaranth's own simulator.

The arithmetic and broadcast units alone against the fixed-point and broadcast rules of
accel/arch/TIMING.md, then the whole array on small layers against the cycle-level simulator.
"""

import dataclasses
import gc

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations, saturating_add, scaled_product, write_back
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.array_host import ArrayHost
from accel.hdl.host.cases import prepare_case
from accel.hdl.host.port_link import AmaranthBackend, PortLink
from accel.hdl.protocol.ports import LoadTarget
from accel.hdl.rtl.arithmetic import ArithmeticUnit
from accel.hdl.rtl.broadcast import BroadcastUnit
from accel.hdl.rtl.pe_array import EIEArray
from accel.hdl.rtl.queue import ActivationQueue
from accel.sim import reference

SMALL = dict(spmat_sram_bytes=256, ptr_sram_bytes=128, regfile_entries=8)


def simulate(dut, bench) -> None:
    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("pipeline_latency", [8, 9, 10])
def test_arithmetic_unit_rounds_saturates_and_bypasses(relu, pipeline_latency):
    """Columns of entries back to back (adjacent hits on one row) and with gaps; large values saturate.
    With pipeline_latency 9 the product is registered once more and the add is a cycle later; with 10
    the accumulator write is registered too, and forwarding reaches three entries ahead."""
    config = ArchConfig(acc_bits=18, regfile_entries=8, pipeline_latency=pipeline_latency,
                        **{k: v for k, v in SMALL.items() if k != "regfile_entries"})
    rng = np.random.default_rng(int(relu))
    codebook = np.r_[0, rng.integers(*config.weight_range, 15, endpoint=True)].tolist()
    bias = rng.integers(-5000, 5000, config.regfile_entries)
    columns = []
    for _ in range(40):
        rows = np.sort(rng.choice(config.regfile_entries, rng.integers(1, 4), replace=False))
        act = int(rng.choice([rng.integers(*config.act_range, endpoint=True), rng.integers(-300, 300)]))
        columns.append((act, rows.tolist(), rng.integers(0, 16, rows.size).tolist(), int(rng.integers(0, 3))))  # gap cycles after
    expected = bias.copy()
    bypasses, saturations, previous = 0, 0, None  # previous: (cycle, row) of the last entry
    cycle = 0
    for act, rows, codes, gap in columns:
        for row, code in zip(rows, codes):
            exact = expected[row] + scaled_product(act, codebook[code], config)
            expected[row] = saturating_add(expected[row], scaled_product(act, codebook[code], config), config)
            saturations += exact != expected[row]
            bypasses += previous == (cycle - 1, row)
            previous = (cycle, row)
            cycle += 1
        cycle += gap
    dut = ArithmeticUnit(config)

    async def bench(ctx):
        for index, value in enumerate(codebook):
            ctx.set(dut.load.en, 1), ctx.set(dut.load.target, LoadTarget.CODEBOOK)
            ctx.set(dut.load.addr, index), ctx.set(dut.load.data, int(value))
            await ctx.tick()
        for index, value in enumerate(bias):
            ctx.set(dut.load.target, LoadTarget.ACC), ctx.set(dut.load.addr, index), ctx.set(dut.load.data, int(value))
            await ctx.tick()
        ctx.set(dut.load.en, 0)
        for act, rows, codes, gap in columns:
            previous_row = -1
            for position, (row, code) in enumerate(zip(rows, codes)):
                entry = int(code) | (int(row) - previous_row - 1) << config.code_bits
                ctx.set(dut.valid, 1), ctx.set(dut.first, position == 0), ctx.set(dut.entry, entry), ctx.set(dut.act, act)
                previous_row = row
                await ctx.tick()
            ctx.set(dut.valid, 0)
            for _ in range(gap):
                await ctx.tick()
        for _ in range(pipeline_latency - 4):  # drain: until the last entry has written its accumulator
            await ctx.tick()
        ctx.set(dut.writeback.relu, relu)
        for row in range(config.regfile_entries + 2):  # each output is written two cycles after its read
            ctx.set(dut.writeback.read, row < config.regfile_entries)
            ctx.set(dut.writeback.addr, row % config.regfile_entries)
            await ctx.tick()
        ctx.set(dut.writeback.read, 0)
        outputs = []
        for row in range(config.regfile_entries):
            ctx.set(dut.readout.addr, row)
            await ctx.tick()
            outputs.append(ctx.get(dut.readout.data))
        assert outputs == write_back(expected, relu, config).tolist()
        assert ctx.get(dut.bypasses) == bypasses > 0 and saturations > 0

    simulate(dut, bench)


def test_activation_queue_keeps_only_arrivals_not_taken_and_never_overwrites_a_full_queue():
    dut = ActivationQueue(width=8, depth=3)

    async def bench(ctx):
        async def step(arrive=0, keep=1, data=0, take=0):
            ctx.set(dut.arrive, arrive), ctx.set(dut.keep, keep), ctx.set(dut.data, data), ctx.set(dut.take, take)
            await ctx.tick()

        await step(arrive=1, keep=0, data=9)            # taken at once: written, but does not stay
        assert not ctx.get(dut.nonempty)
        for value in (1, 2, 3):
            await step(arrive=1, data=value)
        await step(arrive=1, data=7)                    # full: the head is not overwritten
        taken = []
        while ctx.get(dut.nonempty):
            taken.append(ctx.get(dut.head))
            await step(take=1)
        assert taken == [1, 2, 3]
        await step(arrive=1, data=4)                    # the pointers wrap
        assert ctx.get(dut.head) == 4

    simulate(dut, bench)


def test_broadcast_unit_sends_non_zeros_in_order_when_ready():
    config = ArchConfig(**SMALL)
    rng = np.random.default_rng(3)
    inputs = rng.integers(-3, 4, 20) * (rng.random(20) < 0.5)
    dut = BroadcastUnit(config)

    async def bench(ctx):
        for restart in range(2):  # the same queue broadcast twice (two batches)
            if not restart:
                ctx.set(dut.clear, 1)
                await ctx.tick()
                ctx.set(dut.clear, 0)
                for index, value in enumerate(inputs):
                    ctx.set(dut.write, 1), ctx.set(dut.index, index), ctx.set(dut.value, int(value))
                    await ctx.tick()
                ctx.set(dut.write, 0)
            assert ctx.get(dut.nonzeros) == np.count_nonzero(inputs)
            ctx.set(dut.restart, 1)
            await ctx.tick()
            ctx.set(dut.restart, 0)
            ctx.set(dut.run, 1)
            sent = []
            for _ in range(4 * inputs.size):
                ready = bool(rng.random() < 0.6)
                ctx.set(dut.broadcast.ready, ready)
                valid = ctx.get(dut.broadcast.valid)
                assert valid == (len(sent) < np.count_nonzero(inputs))
                if valid and ready:
                    sent.append((ctx.get(dut.broadcast.payload.col), ctx.get(dut.broadcast.payload.act)))
                await ctx.tick()
            ctx.set(dut.run, 0)
            assert not ctx.get(dut.pending)
            assert sent == [(int(j), int(inputs[j])) for j in np.flatnonzero(inputs)]

    simulate(dut, bench)


def check_against_simulator(layer, inputs, config):
    """Every batch through the host over the ports in Amaranth's simulator; the scoreboard must find nothing."""
    case = prepare_case(layer.name, layer, inputs, config)
    dut = EIEArray(config)
    problems = []

    async def bench(ctx):
        problems.extend((await ArrayHost(PortLink(AmaranthBackend(ctx, dut), config.n_pes)).run_case(case))[1])

    simulate(dut, bench)
    assert problems == []
    expected = reference.simulate_layer(build_layer_image(layer, config), inputs)
    assert expected.outputs.tolist() == case.expected_outputs
    return expected


CODEBOOK = np.r_[0.0, np.linspace(-2, 2, 15)]


@pytest.mark.parametrize("n_pes, depth, empty_cycles, broadcast, pipeline, register",
                         [(1, 1, 1, 1, 8, 0), (2, 2, 1, 0, 9, 0), (4, 8, 1, 1, 8, 0), (1, 1, 0, 1, 10, 0), (3, 2, 0, 2, 9, 0),
                          (5, 3, 1, 3, 10, 0), (1, 1, 1, 0, 8, 1), (3, 2, 1, 2, 10, 1)])
def test_random_layer_matches_simulator(n_pes, depth, empty_cycles, broadcast, pipeline, register):
    rng = np.random.default_rng(n_pes)
    codes = (rng.random((13, 11)) < 0.4) * rng.integers(1, 16, (13, 11))
    codes[:, 3] = 0  # an empty column
    layer = QuantizedLayer(codes=codes, codebook=CODEBOOK, bias=rng.standard_normal(13))
    config = ArchConfig(n_pes=n_pes, fifo_depth=depth, empty_column_cycles=empty_cycles, broadcast_latency=broadcast,
                        pipeline_latency=pipeline, length_register=register, **SMALL)
    inputs = quantize_activations(rng.standard_normal(11) * (rng.random(11) < 0.7), config)
    check_against_simulator(layer, inputs, config)


@pytest.mark.parametrize("pipeline", [8, 9, 10])
def test_padding_chain_bypass_and_saturation(pipeline):
    config = ArchConfig(n_pes=1, fifo_depth=2, acc_bits=18, spmat_sram_bytes=256, ptr_sram_bytes=128, regfile_entries=64,
                        pipeline_latency=pipeline)
    codes = np.zeros((40, 4), dtype=np.int64)
    codes[0, 0] = 15    # the same row as the next column's first entry: bypass
    codes[0, 1] = 15
    codes[:, 2] = 15    # a dense column driving accumulators to saturation
    codes[39, 3] = 1    # 39 zeros before it: two padding entries
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-7.9, 7.9, 15)], relu=False)
    inputs = quantize_activations(np.array([100.0, 100.0, 120.0, 3.0]), config)
    result = check_against_simulator(layer, inputs, config)
    assert result.counters["bypasses"] >= 1 and result.outputs.max() == 32767


def test_all_zero_input_and_multiple_batches():
    config = ArchConfig(n_pes=2, fifo_depth=1, spmat_sram_bytes=256, ptr_sram_bytes=128, regfile_entries=2)
    codes = np.ones((9, 3), dtype=np.int64) * 5
    layer = QuantizedLayer(codes=codes, codebook=CODEBOOK, bias=np.linspace(-1, 1, 9))
    check_against_simulator(layer, np.zeros(3, dtype=np.int64), config)
    check_against_simulator(layer, quantize_activations(np.array([0.5, 0, 1.5]), config), config)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_rtl_refuses_a_shorter_pipeline():
    with pytest.raises(UserError, match="pipeline_latency"):
        EIEArray(ArchConfig(pipeline_latency=6, **SMALL))
    gc.collect()  # the half-built array warns when collected: let it do so under this test's filter


@pytest.mark.parametrize("pipeline", [8, 9, 10])
def test_most_negative_operands_multiply_exactly(pipeline):
    """(-2^15) x (-2^15) = 2^30 needs the product's full 32 bits; one bit fewer flips its sign (at every
    pipeline latency: from 9 on the product passes a register of its own)."""
    config = ArchConfig(n_pes=1, fifo_depth=2, pipeline_latency=pipeline, **SMALL)
    low_weight, high_weight = (np.array(config.weight_range) / (1 << config.weight_frac)).tolist()
    codes = np.array([[1], [2], [0]])
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, low_weight, high_weight, np.zeros(13)], relu=False)
    inputs = quantize_activations(np.array([-1000.0]), config)  # saturates to the most negative activation
    assert inputs[0] == config.act_range[0]
    result = check_against_simulator(layer, inputs, config)
    assert result.outputs.tolist() == [config.act_range[1], config.act_range[0], 0]


def test_scoreboard_names_the_first_wrong_output_and_counter():
    config = ArchConfig(n_pes=2, fifo_depth=2, **SMALL)
    rng = np.random.default_rng(5)
    layer = QuantizedLayer(codes=(rng.random((6, 5)) < 0.6) * rng.integers(1, 16, (6, 5)), codebook=CODEBOOK, name="fc")
    case = prepare_case("fc", layer, quantize_activations(rng.standard_normal(5), config), config)
    batch = case.batches[0]
    outputs, expected = list(batch.expected_outputs), dict(batch.expected)
    outputs[3] += 1
    outputs[5] += 1
    expected["fifo_pops"] += 1
    expected["busy"] = [busy + (pe == 1) for pe, busy in enumerate(expected["busy"])]
    batch = dataclasses.replace(batch, expected_outputs=tuple(outputs), expected=expected)
    dut = EIEArray(config)
    found = []

    async def bench(ctx):
        host = ArrayHost(PortLink(AmaranthBackend(ctx, dut), config.n_pes))
        found.extend(host.problems(case, batch, await host.run_batch(case, batch)))

    simulate(dut, bench)
    assert found[0].startswith("output row 3 (PE 1, local row 1): expected ") and "1 more outputs differ" in found[0]
    assert found[1].startswith("busy cycles of PE 1: array ") and len(found) == 2  # busy comes before fifo_pops
