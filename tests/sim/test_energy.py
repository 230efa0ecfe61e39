"""Activity x table by module and type: every storage priced by its implementation, nothing uncounted costs 0."""

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.sim import simulate_layer
from accel.sim.energy import (
    PER_CYCLE,
    EnergyBreakdown,
    EnergyTerm,
    clock_sinks,
    compressed_in_dram_energy,
    dense_in_dram_energy,
    eie_energy,
    energy_terms,
    recompute_total,
    storages,
    useful_macs,
)

TABLE = EnergyTable.load()
CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


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
    macs = useful_macs(layer, inputs)
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
    eie = eie_energy(result, TABLE, useful_macs(layer, np.full(10, 256)))
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



def test_a_term_whose_activity_is_not_counted_raises_instead_of_costing_nothing():
    with pytest.raises(ValueError, match=r"price the activities \['writebackz'\], which are not counted"):
        EnergyBreakdown("x", {"writebacks": 3}, [EnergyTerm("t", "writebackz", 1.0, "arithmetic", "register")], 0)
    record = {"activity": {"writebacks": 3}, "terms": [{"activity": "writebackz", "pJ": 1.0}]}
    with pytest.raises(UserError, match="which the record does not count"):
        recompute_total(record)


def test_the_chips_small_storage_is_flip_flops_and_its_memories_are_srams():
    terms = {term.name: term for term in energy_terms(ArchConfig(acc_bits=16), TABLE)}
    assert terms["destination register write"].storage == "destination registers: flip-flops, 64 x 16 bits"
    assert terms["destination register write"].kind == "register" and terms["destination register read"].kind == "combinational"
    assert terms["destination register read"].pj == pytest.approx(TABLE.storage_read(128, 16))
    assert terms["activation FIFO push"].storage == "activation queue: flip-flops, 8 x 32 bits"
    assert terms["codebook read"].storage == "codebook: flip-flops, 16 x 16 bits"
    assert terms["sparse-matrix line read"].kind == "memory" and terms["sparse-matrix line read"].storage.startswith(
        "sparse-matrix memory: SRAM")
    assert terms["pointer read (even and odd bank)"].pj == pytest.approx(2 * TABLE.sram_read(16 * 1024, 16))
    leaking = sorted(name for name in terms if name.startswith("leakage"))
    assert leaking == ["leakage: activation memory", "leakage: pointer banks", "leakage: sparse-matrix memory"]


def test_the_storage_boundary_applies_to_every_config_a_sweep_visits():
    # 1024 register-file entries of 16 bits (2 KB) cross the boundary: an SRAM, with its leakage.
    big = ArchConfig(regfile_entries=1024, acc_bits=16)
    assert storages(big)["destination registers"].size_bytes == 2048
    terms = {term.name: term for term in energy_terms(big, TABLE)}
    assert terms["destination register write"].kind == "memory"
    assert terms["destination register write"].pj == pytest.approx(TABLE.sram_write(2048, 16))
    assert "leakage: destination registers" in terms
    # A queue of 64 entries of 32 bits (256 B) stays flip-flops, and its write costs more than a queue of 8.
    deep = {term.name: term for term in energy_terms(ArchConfig(fifo_depth=64), TABLE)}
    assert deep["activation FIFO push"].storage == "activation queue: flip-flops, 64 x 32 bits"
    assert deep["activation FIFO push"].pj > energy_terms(ArchConfig(), TABLE)[0].pj
