"""The sweep engine: the same table on every executor, resuming after an interruption, failures recorded."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accel.arch.errors import UserError
from accel.explore.sweep import SerialExecutor, run_sweep, task_key, tasks_of
from accel.explore.sweep_spec import load_spec, parse_spec

SMALL = {"metrics": ["cycles", "latency_us", "energy_uJ", "efficiency", "bypasses"],
         "axes": {"workload": ["NT-We", "NT-LSTM"], "n_pes": [8, 32], "fifo_depth": [1, 4]}}


def test_two_dask_workers_give_the_serial_table():
    distributed = pytest.importorskip("distributed")
    from accel.explore.sweep import DaskExecutor

    spec = parse_spec(SMALL)
    serial = run_sweep(spec, SerialExecutor(), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = run_sweep(spec, DaskExecutor(client), progress=False)
    assert dask.rows == serial.rows and dask.computed == len(serial.rows) == 8
    assert all(row["status"] == "ok" and row["cycles"] > 0 for row in serial.rows)


class Interrupting(SerialExecutor):
    """Stops (as Ctrl-C would) after ``after`` points; records which points it was handed."""

    def __init__(self, after=None):
        self.after, self.handed = after, []

    def run(self, tasks):
        for done, (index, result) in enumerate(super().run(tasks)):
            self.handed.append(task_key(tasks[index]))
            yield index, result
            if self.after is not None and done + 1 == self.after:
                raise KeyboardInterrupt


def test_an_interrupted_sweep_resumes_without_recomputing(tmp_path):
    spec = parse_spec(SMALL)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, Interrupting(after=3), cache=tmp_path, progress=False)
    finished = {path.stem for path in tmp_path.rglob("*.json")}
    assert len(finished) == 3
    resumed = Interrupting()
    outcome = run_sweep(spec, resumed, cache=tmp_path, progress=False)
    assert (outcome.cached, outcome.computed) == (3, 5) and not finished & set(resumed.handed)
    assert outcome.rows == run_sweep(spec, SerialExecutor(), progress=False).rows


def test_a_killed_sweep_resumes_without_recomputing(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(
        {"metrics": ["cycles"], "axes": {"workload": ["NT-We", "NT-LSTM"], "n_pes": [4, 8, 16, 32, 64], "fifo_depth": [2, 8]}}))
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", "import sys; from accel.cli import main; sys.exit(main())", "sweep", str(tmp_path / "spec.json"), "--serial", "--out",
               str(tmp_path / "out"), "--cache", str(cache)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(cache.rglob("*.json"))) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = {path.stem: path.stat().st_mtime_ns for path in cache.rglob("*.json")}
    assert 2 <= len(finished) < 20  # a temporary file of the write the kill interrupted may remain until the next run
    resumed = Interrupting()
    outcome = run_sweep(load_spec(tmp_path / "spec.json"), resumed, cache=cache, progress=False)
    assert outcome.cached == len(finished) and outcome.computed == 20 - len(finished)
    assert not [path for path in cache.rglob("*") if ".tmp" in path.name]
    assert not set(finished) & set(resumed.handed)
    assert all(path.stat().st_mtime_ns == finished[path.stem] for path in cache.rglob("*.json") if path.stem in finished)


def test_a_failing_point_is_recorded_and_the_rest_run(tmp_path):
    spec = parse_spec({"base": {"line_bits": 48, "workload": "NT-We"}, "axes": {"code_bits": [2, 4]}})
    outcome = run_sweep(spec, SerialExecutor(), cache=tmp_path, progress=False)
    failed, ok = outcome.rows
    assert failed["status"] == "error" and "code" in failed["error"] and failed["cycles"] is None
    assert ok["status"] == "ok" and ok["cycles"] > 0 and outcome.failed == 1
    again = run_sweep(spec, SerialExecutor(), cache=tmp_path, retry_failed=True, progress=False)
    assert (again.computed, again.cached) == (1, 1)


def test_cache_keys_follow_inputs_not_spelling(tmp_path):
    plain = tasks_of(parse_spec({"axes": {"workload": ["NT-We"], "n_pes": [64]}}))[0]
    explicit = tasks_of(parse_spec({"base": {"fifo_depth": 8}, "axes": {"workload": ["NT-We"]}}))[0]
    other = tasks_of(parse_spec({"axes": {"workload": ["NT-We"], "fifo_depth": [4]}}))[0]
    assert task_key(plain) == task_key(explicit) != task_key(other)
    table = tmp_path / "table.json"
    shutil.copy(Path("accel/arch/energy_45nm.json"), table)
    with_file = tasks_of(parse_spec({"axes": {"workload": ["NT-We"], "energy_table": ["table.json"]}}, folder=tmp_path))[0]
    before = task_key(with_file)
    table.write_text(table.read_text().replace('"name"', '"name" ', 1))
    assert task_key(with_file) != before  # a changed file is a new point


def test_toml_json_and_yaml_specs_read_the_same(tmp_path):
    (tmp_path / "s.toml").write_text('metrics = ["cycles"]\n[axes]\nworkload = ["NT-We"]\nn_pes = [4, 8]\n')
    (tmp_path / "s.json").write_text('{"metrics": ["cycles"], "axes": {"workload": ["NT-We"], "n_pes": [4, 8]}}')
    specs = [load_spec(tmp_path / "s.toml"), load_spec(tmp_path / "s.json")]
    if pytest.importorskip("yaml"):
        (tmp_path / "s.yaml").write_text("metrics: [cycles]\naxes:\n  workload: [NT-We]\n  n_pes: [4, 8]\n")
        specs.append(load_spec(tmp_path / "s.yaml"))
    assert all(spec == specs[0] for spec in specs) and len(specs[0].point_values()) == 2


@pytest.mark.parametrize("data, message", [
    ({"axes": {}}, "no axes; add an \\[axes\\] table"),
    ({"axes": {"workload": ["NT-We"], "n_pe": [4]}}, "unknown axis 'n_pe'; did you mean 'n_pes'"),
    ({"axes": {"workload": ["NT-We"], "n_pes": []}}, "axis 'n_pes' must be a non-empty list"),
    ({"axes": {"workload": ["NT-We"], "n_pes": [0]}}, "point n_pes=0 is not a valid config: .*between 1 and 4096"),
    ({"axes": {"workload": ["NT-We"], "fifo_depth": [2.5]}}, "fifo_depth values must be finite integers, got 2.5"),
    ({"axes": {"workload": ["Alex-9"]}}, "workload 'Alex-9' is neither a benchmark layer"),
    ({"axes": {"workload": ["missing.npz"]}}, "workload file 'missing.npz' does not exist"),
    ({"axes": {"n_pes": [4]}}, "needs 'workload'"),
    ({"axes": {"workload": ["NT-We"]}, "metrics": ["latency"]}, "unknown metric 'latency'; did you mean 'latency_us'"),
    ({"axes": {"workload": ["NT-We"]}, "speed": 1}, "unknown key 'speed'"),
    ({"axes": {"workload": ["NT-We"], "n_pes": [4, 4]}}, "repeats a value"),
    ({"axes": {"workload": ["NT-We"]}, "kind": "train"}, "kind 'train' is unknown"),
    ({"axes": {"workload": ["NT-We"], "line_bits": [60]}}, "multiple of the entry width"),
    ({"kind": "synthesis", "axes": {"device": ["ice40-hx1k"]}}, "unknown device 'ice40-hx1k'"),
    ({"axes": {"workload": ["NT-We"]}, "act_density": float("nan")}, "act_density must be a finite number from 0 to 1"),
    ({"axes": {"workload": ["NT-We"]}, "timeout_s": float("inf")}, "timeout_s must be a finite number"),
    ({"axes": {"workload": ["NT-We"], "n_pes": [float("nan")]}}, "n_pes values must be finite integers, got nan"),
    ({"axes": {"workload": ["NT-We"]}, "base": {"clock_mhz": float("-inf")}}, "clock_mhz values must be finite"),
    ({"axes": {"workload": ["NT-We"]}, "seed": 1 << 32}, "seed values must be integers from 0 to 4294967295"),
    ({"axes": {"workload": ["NT-We"], "n_pes": list(range(1, 101)), "fifo_depth": list(range(1, 102))}},
     r"10,100 points \(1 workload x 100 n_pes x 101 fifo_depth\), more than the limit of 10,000.*--max-points 10100"),
])
def test_bad_specs_are_one_line_naming_the_fix(data, message):
    with pytest.raises(UserError, match=message) as raised:
        parse_spec(data)
    assert "\n" not in str(raised.value)


def test_bench_sweeps_are_specs_whose_points_match_the_simulator():
    from accel.arch.benchmarks import BENCHMARK_LAYERS, benchmark_layer, synthetic_inputs, synthetic_layer
    from accel.arch.config import ArchConfig
    from accel.arch.images import build_layer_image
    from accel.explore.sweep_tasks import run_point
    from accel.explore.sweeps import fifo_spec, pe_spec
    from accel.sim.fast import simulate_layer

    config = ArchConfig(n_pes=16, clock_mhz=500.0)
    spec = fifo_spec(config, seed=3, depths=(1, 8))
    assert spec.axes == {"workload": [layer.name for layer in BENCHMARK_LAYERS], "fifo_depth": [1, 8]}
    assert spec.base["n_pes"] == 16 and spec.base["seed"] == 3 and "n_pes" in pe_spec(config).axes
    task = next(t for t in tasks_of(spec) if t["values"]["workload"] == "NT-We" and t["values"]["fifo_depth"] == 1)
    layer = benchmark_layer("NT-We")
    direct = simulate_layer(build_layer_image(synthetic_layer(layer, seed=3), config.replace(fifo_depth=1)),
                            synthetic_inputs(layer, config, 3))
    metrics = run_point(task)["metrics"]
    assert (metrics["cycles"], metrics["efficiency"], metrics["stall_cycles"]) == (direct.cycles, direct.efficiency,
                                                                                   direct.stall_cycles)


def test_file_workloads_and_energy_tables_as_axes(tmp_path):
    import numpy as np
    import torch

    from accel.arch.layer import QuantizedLayer

    QuantizedLayer(codes=np.eye(8, dtype=np.uint8) * 3, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="eye").save(
        tmp_path / "eye.npz")
    torch.save({"fc1.weight": torch.ones(6, 8), "fc2.weight": torch.ones(3, 6)}, tmp_path / "net.pt")
    table = json.loads(Path("accel/arch/energy_45nm.json").read_text())
    table["actions"]["dram_32"]["energy"] *= 2
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "double_dram.json").write_text(json.dumps(table))
    spec = parse_spec({"act_density": 0.5, "metrics": ["cycles", "energy_uJ", "dense_dram_uJ"],
                       "axes": {"workload": ["eye.npz", "net.pt"], "energy_table": ["default", "tables/double_dram.json"]}},
                      folder=tmp_path)
    rows = run_sweep(spec, SerialExecutor(), progress=False).rows
    assert [row["status"] for row in rows] == ["ok"] * 4 and rows[0]["workload"] == "eye.npz"
    assert rows[1]["dense_dram_uJ"] > rows[0]["dense_dram_uJ"] and rows[1]["energy_uJ"] == rows[0]["energy_uJ"]
    assert rows[2]["cycles"] > rows[0]["cycles"]  # two chained layers


def test_a_sweep_states_its_size_and_expected_time_before_it_starts(tmp_path):
    lines = []
    outcome = run_sweep(parse_spec(SMALL), SerialExecutor(), cache=tmp_path, progress=False, announce=lines.append)
    assert len(lines) == 1 and lines[0].startswith("8 points (2 workload x 2 n_pes x 2 fifo_depth): 0 cached, 8 to compute")
    assert "a point takes" in lines[0] and outcome.computed == 8 and outcome.failed == 0
    lines.clear()
    assert run_sweep(parse_spec(SMALL), SerialExecutor(), cache=tmp_path, progress=False, announce=lines.append).cached == 8
    assert lines[0].endswith("8 cached, 0 to compute on serial")


def test_nan_densities_are_refused_through_the_python_api():
    from accel.explore.workloads import random_inputs

    with pytest.raises(UserError, match="density must be a number from 0 to 1"):
        random_inputs(8, float("nan"), 0)
