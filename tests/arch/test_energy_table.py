"""The energy table: strict validation, one supply voltage, small storage by its implementation, the CACTI grid."""

import json
from pathlib import Path

import numpy as np
import pytest

from accel.arch.energy import DEFAULT_TABLE, ITRS_45NM_VOLTS, EnergyTable, SramGrid, mux_tree_transitions
from accel.arch.errors import UserError

TABLE = EnergyTable.load()
PUBLISHED = TABLE.variant(supply_voltage=None)
CACTI = Path(__file__).parents[2] / "reports" / "energy" / "cacti"


def test_default_table_is_predicted_and_every_entry_names_its_unit_source_and_voltage():
    data = json.loads(DEFAULT_TABLE.read_text())
    assert data["kind"] == "predicted" and TABLE.label.startswith("predicted: ") and data["supply_voltage_V"] == 0.9
    for name, entry in data["actions"].items():
        assert entry["unit"] == "pJ" and entry["source"].strip() and entry["energy"] > 0, name
        assert entry["voltage_V"] == (1.1 if entry["source"].startswith("Nangate") else 0.9), name
    assert data["sram"]["unit"] == "pJ" and data["sram"]["leakage_unit"] == "mW" and "CACTI" in data["sram"]["source"]
    assert (data["sram"]["cell_voltage_V"], data["sram"]["periphery_voltage_V"]) == (ITRS_45NM_VOLTS["itrs-lstp"],
                                                                                    ITRS_45NM_VOLTS["itrs-hp"])
    rows = {row["entry"]: row for row in TABLE.entry_rows()}
    assert set(data["actions"]) < set(rows)
    assert all(row["source"] and row["source_voltage_V"] and row["scaling"] > 0 for row in rows.values())


def test_every_action_is_scaled_from_its_source_voltage_to_the_one_supply():
    assert TABLE.actions["int_mult_32"] == PUBLISHED.actions["int_mult_32"] == 3.1            # Horowitz, 0.9 V
    assert TABLE.actions["flop_clock"] == pytest.approx(0.00809 * (0.9 / 1.1) ** 2)              # Nangate, 1.1 V
    assert TABLE.variant(supply_voltage=1.1).actions["flop_clock"] == pytest.approx(0.00809)
    assert TABLE.variant(supply_voltage=1.1).actions["int_mult_32"] == pytest.approx(3.1 * (1.1 / 0.9) ** 2)


def test_sram_energy_is_split_at_the_bit_lines_and_leakage_follows_the_periphery_supply():
    data = json.loads(DEFAULT_TABLE.read_text())["sram"]
    i, j = data["size_bytes"].index(131072), data["width_bits"].index(64)
    read, bitlines = data["read"][i][j], data["read_bitlines"][i][j]
    assert PUBLISHED.sram_read(131072, 64) == pytest.approx(read)
    assert PUBLISHED.sram_leakage_mw(131072, 64) == pytest.approx(data["leakage"][i][j])
    assert TABLE.sram_read(131072, 64) == pytest.approx(bitlines * (0.9 / 1.1) ** 2 + (read - bitlines) * (0.9 / 1.0) ** 2)
    scale = TABLE.sram_read(131072, 64) / read
    assert TABLE.sram_write(131072, 64) == pytest.approx(data["write"][i][j] * scale)
    assert TABLE.sram_leakage_mw(131072, 64) == pytest.approx(data["leakage"][i][j] * 0.9 / 1.0)
    # Half-way in log(width) between 64 and 128 bits: the geometric mean of the two grid values.
    assert PUBLISHED.sram_read(131072, 64 * 2 ** 0.5) == pytest.approx(np.sqrt(read * data["read"][i][j + 1]))


def test_the_tables_sram_grid_is_the_recorded_cacti_run():
    recorded = SramGrid.from_cacti_csv(CACTI / "grid_itrs-lstp_itrs-hp.csv", "itrs-lstp", "itrs-hp")
    assert (recorded.sizes, recorded.widths) == (TABLE.sram.sizes, TABLE.sram.widths)
    for what, grid in recorded.grids.items():
        np.testing.assert_allclose(TABLE.sram.grids[what], grid, rtol=1e-9, err_msg=what)
    devices = (CACTI / "devices.csv").read_text().splitlines()
    assert devices[1].startswith("itrs-lstp,itrs-hp,0.0269497,")      # the grid's 128 KB x 64 point, as devices.sh found it


def test_sram_read_energy_is_sub_linear_in_width():
    # Doubling the width costs less than doubling the energy: decoder and word line are shared.
    for width in (16, 32, 64, 128, 256):
        assert TABLE.sram_read(128 * 1024, 2 * width) < 2 * TABLE.sram_read(128 * 1024, width)


def test_small_storage_is_priced_by_its_implementation_on_either_side_of_the_boundary():
    actions = TABLE.actions
    assert TABLE.small_storage_below_bytes == 1024 and TABLE.small_storage_pricing == "flip-flops"
    assert TABLE.implementation(1023) == "flip-flops" and TABLE.implementation(1024) == "SRAM"
    # 4 entries of 8 bits: two 2:1 levels; a write toggles the D pins of all 4 entries with probability 1/2.
    assert mux_tree_transitions(4) == pytest.approx(2 * 0.5 * 0.5 + 1 * 0.5 * 0.75)
    assert TABLE.storage_read(4, 8) == pytest.approx(8 * 0.875 * actions["mux2_output"])
    assert TABLE.storage_write(4, 8) == pytest.approx(8 * (actions["flop_clock"] + actions["flop_write_bit"]
                                                             + 2 * actions["flop_data_pin"]))
    assert TABLE.storage_read(2048, 16) == TABLE.sram_read(2048, 16)
    assert TABLE.storage_write(2048, 16) == TABLE.sram_write(2048, 16)
    register_file = TABLE.variant(small_storage_pricing="register file")
    assert register_file.storage_read(128, 16) == register_file.storage_write(128, 16) == register_file.register_file(16)
    assert register_file.storage_read(2048, 16) == TABLE.storage_read(2048, 16)


def test_a_flip_flop_read_tree_costs_more_the_deeper_it_is():
    assert mux_tree_transitions(1) == 0 and mux_tree_transitions(2) == 0.25
    depths = [2, 4, 8, 16, 64, 256]
    assert all(mux_tree_transitions(a) < mux_tree_transitions(b) for a, b in zip(depths, depths[1:]))
    assert TABLE.storage_read(128, 16) < TABLE.storage_read(512, 16)      # 64 and 256 entries of 16 bits


def test_a_cacti_grid_that_is_not_there_or_not_whole_is_named(tmp_path):
    with pytest.raises(UserError, match="record it with reports/energy/cacti/run.sh"):
        SramGrid.from_cacti_csv(tmp_path / "missing.csv", "itrs-lop", "itrs-hp")
    (tmp_path / "short.csv").write_text("size_bytes,width_bits,read_nJ\n2048,8,0.001\n")
    with pytest.raises(UserError, match="not a full grid"):
        SramGrid.from_cacti_csv(tmp_path / "short.csv", "itrs-lop", "itrs-hp")
    with pytest.raises(UserError, match="unknown CACTI device pair"):
        SramGrid.from_cacti_csv(tmp_path / "short.csv", "itrs-xyz", "itrs-hp")


def _table_with(tmp_path, change):
    data = json.loads(DEFAULT_TABLE.read_text())
    change(data)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["actions"]["dram_32"].pop("unit"), "unit"),
    (lambda d: d["actions"]["dram_32"].update(unit="nJ"), "convert the energy to pJ"),
    (lambda d: d["actions"]["dram_32"].pop("voltage_V"), '"voltage_V", the supply voltage its source'),
    (lambda d: d["actions"]["dram_32"].update(voltage_V=900), "voltage_V must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy=-1), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy=0), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy=1e9), "must lie in"),
    (lambda d: d["actions"]["int_add_8"].update(energy="a lot"), "must be a number"),
    (lambda d: d["actions"]["int_add_8"].update(energy=True), "must be a number"),
    (lambda d: d["actions"].pop("dram_32"), "lacks the actions ['dram_32']"),
    (lambda d: d["actions"].pop("mux2_output"), "lacks the actions ['mux2_output']"),
    (lambda d: d.pop("sram"), '"sram" must be an object'),
    (lambda d: d.pop("supply_voltage_V"), '"supply_voltage_V" must be a number of volts or null'),
    (lambda d: d.update(supply_voltage_V="0.9"), '"supply_voltage_V" must be a number of volts or null'),
    (lambda d: d.pop("supply_voltage_rule"), 'needs a "supply_voltage_rule"'),
    (lambda d: d["small_storage"].update(pricing="latches"), "small_storage.pricing must be one of"),
    (lambda d: d["small_storage"].pop("rule"), 'small_storage needs a "rule"'),
    (lambda d: d.update(kind="guessed"), '"kind" must be one of'),
    (lambda d: d.update(kind="calibrated"), 'must state what was fitted'),
    (lambda d: d.update(version=2), "version 2 tables lack the source voltages"),
    (lambda d: d["sram"].update(size_bytes=list(reversed(d["sram"]["size_bytes"]))), "increasing"),
    (lambda d: d["sram"]["read"].pop(), "must be a list of"),
    (lambda d: d["sram"]["read_bitlines"][0].__setitem__(0, 1e3), "read_bitlines must not exceed sram.read"),
    (lambda d: d["sram"].pop("periphery_voltage_V"), "sram.periphery_voltage_V must be a number"),
    (lambda d: d["sram"]["leakage"][0].__setitem__(0, -1.0), "sram.leakage must lie in"),
    (lambda d: d["sram"].update(leakage_unit="W"), '"leakage_unit": "mW"'),
    (lambda d: d.update(actions=[1, 2]), '"actions" must be an object'),
    (lambda d: [d["sram"][grid][0].__setitem__(0, 1e-300) for grid in ("read", "read_bitlines")],
     "sram.read extrapolates to 0 at 1 bytes"),
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


def test_a_table_may_keep_every_source_at_its_own_voltage(tmp_path):
    table = EnergyTable.load(_table_with(tmp_path, lambda d: d.update(supply_voltage_V=None)))
    assert table.supply_voltage is None and table.actions["flop_clock"] == 0.00809
    assert table.sram_read(131072, 64) == pytest.approx(26.9497)


def test_a_calibrated_table_states_its_fit_and_is_labelled(tmp_path):
    def calibrate(data):
        data.update(kind="calibrated", fit="sram.read scaled by 0.5 to match something")
        for grid in ("read", "read_bitlines"):
            data["sram"][grid] = [[value / 2 for value in row] for row in data["sram"][grid]]
    table = EnergyTable.load(_table_with(tmp_path, calibrate))
    assert table.label.startswith("calibrated: ") and table.fit
    assert table.sram_read(128 * 1024, 64) == pytest.approx(TABLE.sram_read(128 * 1024, 64) / 2)
