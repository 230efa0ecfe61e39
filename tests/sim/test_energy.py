"""The energy table (validation, SRAM size/width rule) and counts x table by component."""

import json
import math

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from sim import simulate_layer
from sim.energy import (
    COMPONENTS,
    activation_sram_accesses,
    compressed_in_dram_energy,
    dense_in_dram_energy,
    eie_energy,
    per_action_energy,
    useful_macs,
)

TABLE = EnergyTable.load()
CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def test_every_entry_has_energy_unit_and_source():
    data = json.loads(DEFAULT_TABLE.read_text())
    for name, entry in data["actions"].items():
        assert entry["unit"] == "pJ" and entry["source"].strip() and entry["energy"] >= 0, name
    assert TABLE.actions["dram_32"] == 640.0 and TABLE.actions["register_file_32"] == 1.0


def test_sram_rule_interpolates_log_log_and_scales_with_width():
    assert TABLE.sram_read(8 * 1024, 64) == pytest.approx(10.0)
    assert TABLE.sram_read(1024 * 1024, 16) == pytest.approx(25.0)
    # 128 KB lies two octaves above 32 KB on the 32 KB -> 1 MB segment (5x over 32x in size).
    assert TABLE.sram_read(128 * 1024, 64) == pytest.approx(20.0 * 4 ** (math.log(5) / math.log(32)))
    # Below 8 KB: the 8 KB -> 32 KB slope (energy ~ sqrt(size)) continues: 2 KB, 16 bits = 5 / 4.
    assert TABLE.sram_read(2 * 1024, 16) == pytest.approx(1.25)
    assert TABLE.sram_read(4 * 1024 * 1024, 64) == pytest.approx(100.0 * 4 ** (math.log(5) / math.log(32)))


def test_per_action_energies_of_the_chip():
    energy = per_action_energy(ArchConfig(), TABLE)
    assert energy["spmat_line_reads"] == pytest.approx(TABLE.sram_read(128 * 1024, 64)) and 38 < energy["spmat_line_reads"] < 38.2
    assert energy["ptr_reads"] == pytest.approx(2 * TABLE.sram_read(16 * 1024, 16))
    assert energy["codebook_reads"] == pytest.approx(0.5) and energy["acc_reads"] == pytest.approx(1.0)
    assert energy["multiplies"] == pytest.approx(3.1 / 4) and energy["adds"] == pytest.approx(0.1)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["actions"]["dram_32"].pop("unit"), "unit"),
    (lambda d: d["actions"]["dram_32"].update(unit="nJ"), "convert the energy to pJ"),
    (lambda d: d["actions"]["int_add_8"].update(energy=-1), "non-negative"),
    (lambda d: d["actions"]["int_add_8"].update(energy="a lot"), "malformed"),
    (lambda d: d["actions"].pop("dram_32"), "lacks the actions ['dram_32']"),
    (lambda d: d.pop("sram_read_64"), "lacks the key 'sram_read_64'"),
    (lambda d: d["sram_read_64"].update(size_bytes=[32768, 8192, 1048576]), "increasing"),
    (lambda d: d["sram_read_64"].update(energy=[10.0, 20.0]), "increasing positive sizes"),
    (lambda d: d.update(actions=[1, 2]), "malformed"),
])
def test_bad_tables_are_refused_with_the_reason(tmp_path, change, message):
    data = json.loads(DEFAULT_TABLE.read_text())
    change(data)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        EnergyTable.load(path)


def test_a_user_table_changes_the_prices(tmp_path):
    data = json.loads(DEFAULT_TABLE.read_text())
    data["sram_read_64"]["energy"] = [20.0, 40.0, 200.0]
    path = tmp_path / "double.json"
    path.write_text(json.dumps(data))
    assert EnergyTable.load(path).sram_read(128 * 1024, 64) == pytest.approx(2 * TABLE.sram_read(128 * 1024, 64))


def _run(codes, inputs, config):
    layer = QuantizedLayer(codes=codes, codebook=CODEBOOK)
    result = simulate_layer(build_layer_image(layer, config), np.asarray(inputs))
    return layer, result


def test_breakdown_is_counts_times_table():
    rng = np.random.default_rng(0)
    codes = (rng.random((40, 30)) < 0.3) * rng.integers(1, 16, (40, 30))
    inputs = (rng.random(30) < 0.5) * 256
    config = ArchConfig(n_pes=4)
    layer, result = _run(codes, inputs, config)
    macs = useful_macs(codes, inputs)
    eie = eie_energy(result, TABLE, macs)
    energy = per_action_energy(config, TABLE)
    expected = sum(count * energy[name] for name, count in result.counters.items())
    assert set(eie.components) == set(COMPONENTS)
    assert eie.total_pj == pytest.approx(expected) and eie.components["DRAM"] == 0
    assert eie.components["SRAM: sparse matrix"] == pytest.approx(result.counters["spmat_line_reads"] * energy["spmat_line_reads"])
    assert eie.operations == 2 * macs == 2 * int(np.count_nonzero(codes[:, inputs != 0]))

    dram = compressed_in_dram_energy(result, TABLE, macs)
    assert dram.components["SRAM: sparse matrix"] == 0 and dram.components["codebook"] == eie.components["codebook"]
    assert dram.components["DRAM"] == pytest.approx(640 * (2 * result.counters["spmat_line_reads"] + result.counters["ptr_reads"]))

    dense = dense_in_dram_energy(40, 30, TABLE, macs)
    assert dense.components["DRAM"] == pytest.approx(40 * 30 * 640)
    assert dense.components["arithmetic"] == pytest.approx(40 * 30 * (3.7 + 0.9))
    assert dense.total_pj > dram.total_pj > eie.total_pj


def test_inputs_beyond_the_register_files_come_from_activation_sram():
    # 2 PEs x 2 register-file entries hold 4 of the 10 inputs; 5 rows make two batches (4 + 1).
    config = ArchConfig(n_pes=2, regfile_entries=2)
    layer, result = _run(np.ones((5, 10), dtype=np.int64), np.full(10, 256), config)
    assert activation_sram_accesses(result) == (2 * 6, 4)
    eie = eie_energy(result, TABLE, useful_macs(layer.codes, np.full(10, 256)))
    assert eie.components["SRAM: activations"] == pytest.approx(16 * TABLE.sram_read(2048, 16))
    register = (2 * 4) * 0.5 + 5 * 0.5  # LNZD reads from the register files, write-backs
    assert eie.components["activations (LNZD, register files)"] == pytest.approx(register)
