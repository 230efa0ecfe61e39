"""One counter vocabulary (accel.arch.counters) from the simulator to the RTL's ports, the host and the reports."""

import gc

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.arch.config import ArchConfig
from accel.arch.counters import COMPARED, RTL_ARRAY, RTL_PER_PE, Counter, Timing
from accel.arch.energy import EnergyTable
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.array_host import ArrayHost
from accel.hdl.host.cases import prepare_case
from accel.hdl.host.port_link import AmaranthBackend, PortLink
from accel.hdl.protocol.ports import ArrayPort
from accel.hdl.rtl.interface import port_table
from accel.hdl.rtl.pe_array import EIEArray
from accel.sim import simulate_layer
from accel.sim.energy import PER_CYCLE, energy_terms

CONFIG = ArchConfig(n_pes=2, fifo_depth=2, spmat_sram_bytes=256, ptr_sram_bytes=128, regfile_entries=8)


def test_each_counter_keeps_its_name_from_simulator_to_rtl_port_to_host_to_report():
    rng = np.random.default_rng(3)
    layer = QuantizedLayer(codes=(rng.random((7, 6)) < 0.6) * rng.integers(1, 16, (7, 6)),
                           codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="fc")
    inputs = quantize_activations(rng.standard_normal(6), CONFIG)
    rtl = (*RTL_PER_PE, *RTL_ARRAY)

    # The simulator counts every activity under its name.
    result = simulate_layer(build_layer_image(layer, CONFIG), inputs)
    assert list(result.counters) == [counter.value for counter in Counter]

    # The RTL builds one port per counter it keeps, named from the counter.
    dut = EIEArray(CONFIG)
    ports = dut.signature.members
    assert all(counter.port in ports for counter in rtl)
    assert {name for name in ports if name.startswith("stat_")} == {counter.port for counter in rtl if counter is not Timing.CYCLES}

    # The host reads them back under the same names, and the scoreboard compares each with the simulator's.
    case = prepare_case("fc", layer, inputs, CONFIG)
    batch = case.batches[0]
    assert all(str(name) in batch.expected for name in COMPARED)
    seen = []
    host = []

    async def bench(ctx):
        host.append(ArrayHost(PortLink(AmaranthBackend(ctx, dut), CONFIG.n_pes)))
        seen.append(await host[0].run_batch(case, batch))

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    assert set(seen[0].counters) == {counter.value for counter in rtl}
    assert host[0].problems(case, batch, seen[0]) == []
    for counter in rtl:
        value = seen[0].counters[counter.value]
        assert value == batch.expected[str(counter)]
        if isinstance(counter, Counter):
            assert value == result.batches[0].counters[counter.value]

    # The energy table prices counters by the same names (and the PE-cycles of the run).
    activities = {term.activity for term in energy_terms(CONFIG, EnergyTable.load())}
    assert activities - {PER_CYCLE} <= {counter.value for counter in Counter}


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")  # arrays built for their ports only
def test_the_top_level_ports_are_the_port_names_and_the_counters():
    ports = set(EIEArray(CONFIG).signature.members)
    assert ports == {*ArrayPort, *(counter.port for counter in (*RTL_PER_PE, *RTL_ARRAY))}
    assert set(EIEArray(CONFIG, counters=False).signature.members) == set(ArrayPort)
    assert {row[0] for row in port_table(EIEArray(CONFIG))} == {"clk", "rst", *ports}
    assert all("activity counter (" not in row[3] for row in port_table(EIEArray(CONFIG)))  # every port explained
    gc.collect()  # the arrays built for their ports warn when collected: let them do so under this test's filter
