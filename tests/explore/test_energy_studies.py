"""The energy studies: like-for-like metrics, Table II shares, line-span what-if, precision formats, the command."""

import csv
import dataclasses
import json

import numpy as np
import pytest

from accel.arch.benchmarks import TABLE_II_MODULES_MW, TABLE_II_PE_MW, TABLE_II_TYPES_MW, benchmark_layer, structured_layer
from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.cli import main
from accel.explore import energy_studies as studies
from accel.explore.energy_studies import chip_metrics, like_for_like, lines_spanned, width_minima, width_rule_rows
from accel.explore.precision import FixedFormat, integer_bits, precision_study
from accel.sim.energy import EnergyBreakdown, EnergyTerm

CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def test_table_ii_parts_add_up_to_the_pe():
    assert sum(TABLE_II_MODULES_MW.values()) == pytest.approx(TABLE_II_PE_MW, abs=0.01)
    assert sum(TABLE_II_TYPES_MW.values()) == pytest.approx(TABLE_II_PE_MW, abs=0.01)


def test_chip_metrics_are_the_papers_like_for_like_numbers():
    chip = chip_metrics()
    assert chip["energy_uJ"] == pytest.approx(7.198)                       # 0.59 W x 12.2 us
    assert chip["pJ_per_peak_op"] == pytest.approx(5.76, abs=0.01)         # 0.59 W / (64 x 800 MHz x 2)
    assert chip["pJ_per_pe_cycle"] == pytest.approx(11.45, abs=0.01)       # 9.157 mW / 800 MHz


def test_like_for_like_metrics_of_a_known_energy():
    # 64 PEs x 1000 cycles at 800 MHz = 1.25 us; 64 pJ per PE-cycle -> 4.096 uJ, 51.2 mW per PE.
    breakdown = EnergyBreakdown("x", {"pe_cycles": 64_000}, [EnergyTerm("t", "pe_cycles", 64.0, "arithmetic", "clock")], 10)
    metrics = like_for_like(breakdown, 1000, ArchConfig())
    assert metrics["energy_uJ"] == pytest.approx(4.096) and metrics["power_per_pe_mW"] == pytest.approx(51.2)
    assert metrics["pJ_per_pe_cycle"] == pytest.approx(64.0) and metrics["pJ_per_peak_op"] == pytest.approx(32.0)
    assert metrics["frames_per_s"] == pytest.approx(800_000) and metrics["frames_per_J"] == pytest.approx(1 / 4.096e-6)


def test_lines_spanned_counts_every_columns_lines_without_reuse():
    # One PE, two entries per line: column 0 spans addresses 0..4 (lines 0-2), column 1 address 5 (line 2 again).
    codes = np.zeros((6, 2), dtype=np.int64)
    codes[:5, 0] = 1
    codes[5, 1] = 2
    image = build_layer_image(QuantizedLayer(codes=codes, codebook=CODEBOOK), ArchConfig(n_pes=1, line_bits=16))
    assert lines_spanned(image, np.array([256, 256])) == 4   # the simulator, reusing line 2, counts 3
    assert lines_spanned(image, np.array([0, 256])) == 1


def test_width_minimum_per_layer():
    rows = [{"layer": "a", "width_bits": w, "read_energy_uJ": e} for w, e in ((32, 3.0), (64, 2.0), (128, 2.5))]
    assert width_minima(rows) == {"a": 64}


def test_both_line_read_rules_name_their_cheapest_width_and_what_64_bits_costs():
    rows = [{"layer": "a", "width_bits": w, "read_energy_uJ": e, "what_if_no_line_reuse_uJ": n}
            for w, e, n in ((32, 3.0, 1.0), (64, 2.0, 1.5), (128, 1.0, 3.0))]
    by = {row["rule"]: row for row in width_rule_rows(rows)}
    assert (by["lines reused"]["best_width_bits"], by["lines reused"]["64_bit_excess_pct"]) == (128, 100.0)
    assert (by["first line re-read"]["best_width_bits"], by["first line re-read"]["64_bit_excess_pct"]) == (32, 50.0)
    assert by["lines reused"]["64_bit_rank"] == 2 and by["first line re-read"]["64_bit_rank"] == 2


@pytest.fixture(scope="module")
def alex7():
    """Alex-7 at the chip's config, simulated once for the band and structure tests."""
    return studies.simulate_alex7(0)


def test_the_band_spans_every_parameter_and_contains_the_nominal_prediction(alex7):
    table = EnergyTable.load()
    other = dataclasses.replace(table.sram, cells="itrs-lop", grids={k: v * 1.5 for k, v in table.sram.grids.items()})
    points = studies.band_points(alex7[0], alex7[1], table, [other])
    assert len(points) == len(studies.BAND_VOLTAGES) * 2 * 2 * len(studies.READINGS)
    nominal = {reading: studies.band_quantities(model)
               for reading, model in studies.priced(alex7[0], alex7[1], table).items()}
    summary = studies.band_summary(points, nominal)
    assert all(row["low"] <= row["nominal"] <= row["high"] for row in summary)
    assert all(row["low"] < row["high"] for row in summary if row["quantity"].startswith("power per PE"))
    power = {(p["supply_V"], p["sram"], p["small_storage"], p["reading"]): p["power per PE (mW)"] for p in points}
    label = table.sram.label
    assert power[1.1, label, "flip-flops", "dynamic only"] > power[0.9, label, "flip-flops", "dynamic only"]
    assert power[0.9, other.label, "flip-flops", "with leakage"] > power[0.9, label, "flip-flops", "with leakage"]
    assert power[0.9, label, "flip-flops", "dynamic only"] == pytest.approx(nominal["dynamic only"]["power per PE (mW)"])


def test_the_structure_check_is_fitted_to_the_type_rows_only(alex7, monkeypatch):
    model = studies.priced(alex7[0], alex7[1], EnergyTable.load())["dynamic only"]
    check = studies.structure_check(model)
    calibrated_types = {kind: sum(row["calibrated_by_type_mW"][kind] for row in check["modules"]) for kind in studies.PE_TYPES}
    assert calibrated_types == pytest.approx(TABLE_II_TYPES_MW)
    assert sum(row["calibrated_mW"] for row in check["modules"]) == pytest.approx(sum(TABLE_II_TYPES_MW.values()))
    assert check["kind"] == "calibrated" and "module rows are not used" in check["fit"]
    # Different module rows in the paper change the comparison, never the fit.
    monkeypatch.setattr(studies, "TABLE_II_MODULES_MW", {module: 1.0 for module in TABLE_II_MODULES_MW})
    again = studies.structure_check(model)
    assert again["factors"] == check["factors"]
    assert [row["calibrated_mW"] for row in again["modules"]] == [row["calibrated_mW"] for row in check["modules"]]
    assert [row["paper_mW"] for row in again["modules"]] == [1.0] * 5


def test_the_previous_rules_keep_each_source_voltage_and_price_small_storage_as_a_register_file():
    previous = studies.previous_rules(EnergyTable.load())
    assert previous.supply_voltage is None and previous.small_storage_pricing == "register file"
    assert previous.storage_write(128, 16) == 0.5 and previous.actions["flop_clock"] == 0.00809


def test_structured_layer_keeps_the_density_and_varies_row_lengths():
    spec = benchmark_layer("NT-We")
    layer = structured_layer(spec, seed=1)
    lengths = np.count_nonzero(layer.codes, axis=1)
    assert np.count_nonzero(layer.codes) / layer.codes.size == pytest.approx(spec.weight_density, rel=0.02)
    assert lengths.std() / lengths.mean() > 0.5 and "structured" in layer.notes["weights"]
    assert np.array_equal(layer.codes, structured_layer(spec, seed=1).codes)


def test_fixed_formats_round_half_up_and_saturate():
    q = FixedFormat(bits=8, frac=4)
    assert q.quantize(np.array([0.03125, -0.03125, 100.0, -100.0])).tolist() == [0.0625, 0.0, 127 / 16, -8.0]
    assert (integer_bits(0.83), integer_bits(1.0), integer_bits(40.0), integer_bits(0.0)) == (1, 2, 7, 1)


def test_precision_study_on_a_small_network():
    rng = np.random.default_rng(0)
    layers = [QuantizedLayer(codes=rng.integers(0, 16, (20, 30)), codebook=CODEBOOK * 0.3, relu=True, name="fc1"),
              QuantizedLayer(codes=rng.integers(0, 16, (4, 20)), codebook=CODEBOOK * 0.3, name="fc2")]
    train, test = rng.normal(size=(200, 30)), rng.normal(size=(100, 30))
    from accel.explore.precision import float_forward
    labels = np.argmax(float_forward(layers, test), axis=1)   # labels the float network gets all right
    rows = precision_study(layers, train, test, labels, EnergyTable.load())
    assert [r["format"] for r in rows] == ["32-bit float", "32-bit fixed", "16-bit fixed", "8-bit fixed"]
    assert rows[0]["accuracy_pct"] == 100.0 and rows[1]["accuracy_pct"] == 100.0
    assert rows[3]["accuracy_loss_points"] >= rows[2]["accuracy_loss_points"] >= 0
    assert rows[0]["multiply_pJ"] == 3.7 and rows[3]["multiply_pJ"] < rows[2]["multiply_pJ"] < rows[1]["multiply_pJ"]


def test_energy_command_writes_labelled_reports(tmp_path, capsys):
    assert main(["energy", "--quick", "--no-precision", "--out", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert "kind **predicted**" in readme and "### Targets" in readme and "synthetic" in readme.lower()
    for section in ("## Outcome", "## The rules, fixed before the comparison", "## Uncertainty band", "## Structure check",
                    "both line-read rules"):
        assert section in readme
    record = json.loads((tmp_path / "energy.json").read_text())
    comparison = record["alex7"]
    assert comparison["outputs_equal_with_32_bit_accumulators"] is True
    assert record["band"]["devices"][0] == "itrs-lstp cells, itrs-hp periphery" and len(record["band"]["devices"]) == 3
    assert all(row["low"] <= row["nominal"] <= row["high"] for row in record["band"]["summary"])
    assert all(entry["source"] and entry["source_voltage_V"] for entry in record["table"]["entries"])
    assert set(comparison["previous"]["models"]) == set(comparison["models"]) == {"dynamic only", "with leakage"}
    for model in [*comparison["models"].values(), *comparison["previous"]["models"].values()]:
        energy = model["energy"]
        total = sum(energy["activity"][term["activity"]] * term["pJ"] for term in energy["terms"])
        assert total == pytest.approx(model["metrics"]["energy_uJ"] * 1e6)
        assert sum(model["module_share_pct"].values()) == pytest.approx(100)
    with (tmp_path / "shares.csv").open() as handle:
        modules = [row for row in csv.DictReader(handle) if row["group"] == "module"]
    assert sum(float(row["paper_mW"]) for row in modules) == pytest.approx(TABLE_II_PE_MW, abs=0.01)
    power = comparison["models"]["dynamic only"]["metrics"]["power_per_pe_mW"]
    assert sum(float(row["dynamic only_mW"]) for row in modules) == pytest.approx(power)
    with (tmp_path / "sram_width.csv").open() as handle:
        widths = sorted({int(row["width_bits"]) for row in csv.DictReader(handle)})
    assert widths == [32, 64, 128, 256, 512]
    for name in ("shares.png", "sram_width.png", "pe_padding.png", "band.png", "metrics.csv", "table_v.csv", "band.csv",
                 "band_points.csv", "structure.csv", "table_entries.csv", "sram_width_rules.csv"):
        assert (tmp_path / name).stat().st_size > 0
