"""The energy table (strict validation, SRAM size/width grid) and activity x table by module and type."""

import json

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from sim import simulate_layer
from sim.energy import (
    PER_CYCLE,
    clock_sinks,
    compressed_in_dram_energy,
    dense_in_dram_energy,
    eie_energy,
    energy_terms,
    recompute_total,
    useful_macs,
)

TABLE = EnergyTable.load()
CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def test_default_table_is_predicted_and_every_number_has_unit_and_source():
    data = json.loads(DEFAULT_TABLE.read_text())
    assert data["kind"] == "predicted" and TABLE.label.startswith("predicted: ")
    for name, entry in data["actions"].items():
        assert entry["unit"] == "pJ" and entry["source"].strip() and entry["energy"] > 0, name
    assert data["sram"]["unit"] == "pJ" and data["sram"]["leakage_unit"] == "mW" and "CACTI" in data["sram"]["source"]


def test_sram_grid_points_are_returned_exactly_and_interpolated_between():
    data = json.loads(DEFAULT_TABLE.read_text())["sram"]
    i, j = data["size_bytes"].index(131072), data["width_bits"].index(64)
    assert TABLE.sram_read(131072, 64) == pytest.approx(data["read"][i][j])
    assert TABLE.sram_write(131072, 64) == pytest.approx(data["write"][i][j])
    assert TABLE.sram_leakage_mw(131072, 64) == pytest.approx(data["leakage"][i][j])
    # Half-way in log(width) between 64 and 128 bits: the geometric mean of the two grid values.
    assert TABLE.sram_read(131072, 64 * 2 ** 0.5) == pytest.approx(np.sqrt(data["read"][i][j] * data["read"][i][j + 1]))


def test_sram_read_energy_is_sub_linear_in_width():
    # Doubling the width costs less than doubling the energy: decoder and word line are shared.
    for width in (16, 32, 64, 128, 256):
        assert TABLE.sram_read(128 * 1024, 2 * width) < 2 * TABLE.sram_read(128 * 1024, width)


def _table_with(tmp_path, change):
    data = json.loads(DEFAULT_TABLE.read_text())
    change(data)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["actions"]["dram_32"].pop("unit"), "unit"),
    (lambda d: d["actions"]["dram_32"].update(unit="nJ"), "convert the energy to pJ"),
    (lambda d: d["actions"]["int_add_8"].update(energy=-1), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy=0), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy=1e9), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy="a lot"), "must be a number"),
    (lambda d: d["actions"]["int_add_8"].update(energy=True), "must be a number"),
    (lambda d: d["actions"].pop("dram_32"), "lacks the actions ['dram_32']"),
    (lambda d: d.pop("sram"), '"sram" must be an object'),
    (lambda d: d.update(kind="guessed"), '"kind" must be one of'),
    (lambda d: d.update(kind="calibrated"), 'must state what was fitted'),
    (lambda d: d.update(version=1), '"version": 2'),
    (lambda d: d["sram"].update(size_bytes=list(reversed(d["sram"]["size_bytes"]))), "increasing"),
    (lambda d: d["sram"]["read"].pop(), "must be a list of"),
    (lambda d: d["sram"]["leakage"][0].__setitem__(0, -1.0), "sram.leakage must lie in"),
    (lambda d: d["sram"].update(leakage_unit="W"), '"leakage_unit": "mW"'),
    (lambda d: d.update(actions=[1, 2]), '"actions" must be an object'),
    (lambda d: d["sram"]["read"][0].__setitem__(0, 1e-300), "sram.read extrapolates to 0 at 1 bytes"),
    (lambda d: d["sram"]["write"][-1].__setitem__(-1, 1e6), "sram.write extrapolates to"),
])
def test_bad_tables_are_refused_with_one_line_naming_the_fix(tmp_path, change, message):
    with pytest.raises(UserError) as error:
        EnergyTable.load(_table_with(tmp_path, change))
    text = str(error.value)
    assert message in text and ("follow the layout of" in text or "start from a copy of" in text) and "\n" not in text


def test_non_finite_energies_are_refused_in_one_line(tmp_path):
    with pytest.raises(UserError) as error:
        EnergyTable.load(_table_with(tmp_path, lambda d: d["actions"]["int_add_8"].update(energy=float("nan"))))
    assert "NaN" in str(error.value) and "\n" not in str(error.value)


def test_a_calibrated_table_states_its_fit_and_is_labelled(tmp_path):
    def calibrate(data):
        data.update(kind="calibrated", fit="sram.read scaled by 0.5 to match something")
        data["sram"]["read"] = [[value / 2 for value in row] for row in data["sram"]["read"]]
    table = EnergyTable.load(_table_with(tmp_path, calibrate))
    assert table.label.startswith("calibrated: ") and table.fit
    assert table.sram_read(128 * 1024, 64) == pytest.approx(TABLE.sram_read(128 * 1024, 64) / 2)


def _run(codes, inputs, config):
    layer = QuantizedLayer(codes=codes, codebook=CODEBOOK)
    result = simulate_layer(build_layer_image(layer, config), np.asarray(inputs))
    return layer, result


def test_breakdown_is_activity_times_terms():
    rng = np.random.default_rng(0)
    codes = (rng.random((40, 30)) < 0.3) * rng.integers(1, 16, (40, 30))
    inputs = (rng.random(30) < 0.5) * 256
    config = ArchConfig(n_pes=4)
    layer, result = _run(codes, inputs, config)
    macs = useful_macs(codes, inputs)
    eie = eie_energy(result, TABLE, macs)
    assert eie.activity[PER_CYCLE] == 4 * result.cycles
    expected = sum(eie.activity[term.activity] * term.pj for term in eie.terms)
    assert eie.total_pj == pytest.approx(expected) == pytest.approx(sum(eie.components.values()))
    assert eie.total_pj == pytest.approx(sum(eie.by_type.values())) and eie.components["DRAM"] == 0
    line = next(term for term in eie.terms if term.activity == "spmat_line_reads" and term.kind == "memory")
    assert line.pj == pytest.approx(TABLE.sram_read(128 * 1024, 64))
    assert eie.operations == 2 * macs == 2 * int(np.count_nonzero(codes[:, inputs != 0]))
    assert recompute_total(eie.to_dict()) == pytest.approx(eie.total_pj)

    dram = compressed_in_dram_energy(result, TABLE, macs)
    assert dram.components["DRAM"] == pytest.approx(640 * (2 * result.counters["spmat_line_reads"] + result.counters["ptr_reads"]))
    assert dram.components["arithmetic"] == pytest.approx(eie.components["arithmetic"])

    dense = dense_in_dram_energy(40, 30, TABLE, macs)
    assert dense.components["DRAM"] == pytest.approx(40 * 30 * 640)
    assert dense.components["arithmetic"] == pytest.approx(40 * 30 * (3.7 + 0.9))
    assert dense.total_pj > dram.total_pj > eie.total_pj


def test_activation_sram_accesses_are_priced_from_the_counters():
    config = ArchConfig(n_pes=2, regfile_entries=2)
    layer, result = _run(np.ones((5, 10), dtype=np.int64), np.full(10, 256), config)
    eie = eie_energy(result, TABLE, useful_macs(layer.codes, np.full(10, 256)))
    sram = {term.activity: eie.term_pj(term) for term in eie.terms if term.name.startswith("activation SRAM")}
    assert sram == {"act_sram_reads": pytest.approx(12 * TABLE.sram_read(2048, 16)),
                    "act_sram_writes": pytest.approx(4 * TABLE.sram_write(2048, 16))}


def test_clock_and_leakage_are_per_pe_cycle_and_leakage_can_be_left_out():
    config = ArchConfig()
    terms = energy_terms(config, TABLE)
    per_sink = TABLE.actions["flop_clock"] + TABLE.actions["clock_wire_per_sink"]
    clock = sum(term.pj for term in terms if term.kind == "clock")
    assert clock == pytest.approx(sum(clock_sinks(config).values()) * per_sink)
    assert all(term.activity == PER_CYCLE for term in terms if term.kind == "clock" or term.name.startswith("leakage"))
    leakage = sum(term.pj for term in terms if term.name.startswith("leakage"))
    assert leakage == pytest.approx(config.cycle_ns * (TABLE.sram_leakage_mw(128 * 1024, 64) + 2 * TABLE.sram_leakage_mw(16 * 1024, 16)
                                                       + TABLE.sram_leakage_mw(2048, 16)))
    assert not any(term.name.startswith("leakage") for term in energy_terms(config, TABLE, leakage=False))


def test_narrower_destination_registers_cost_less():
    wide, narrow = (sum(term.pj for term in energy_terms(ArchConfig(acc_bits=bits), TABLE) if term.activity == "acc_writes")
                    for bits in (32, 16))
    assert narrow == pytest.approx(wide / 2)

