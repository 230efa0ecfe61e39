"""The sweep engine: every point of a spec as a task, cached by a hash of its inputs, on any executor.

Executors: in this process (``SerialExecutor``), local processes (``ProcessExecutor``, the default)
or a Dask cluster (``DaskExecutor``). Tasks are plain data and results come back as they finish;
each is written to the cache by this process at once, so an interrupted sweep loses only the points
in flight, and a re-run computes only the points missing from the cache. The table is the same on
every executor: rows in point order, and nothing in it depends on where or when a point ran.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from accel.arch.errors import UserError
from accel.arch.extras import require
from accel.arch.files import file_sha256, write_text_atomic
from accel.arch.progress import progress as progress_bar
from accel.explore.sweep_spec import CONFIG_FIELDS, DEFAULT_ENERGY_TABLE, SweepSpec, config_of, resolve
from accel.explore.sweep_tasks import code_version, run_point
from accel.explore.workloads import is_file_workload

RESULTS_CSV = "results.csv"
RECORD_JSON = "sweep.json"


class Executor(Protocol):
    name: str
    workers: int

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(index into tasks, result)`` as each task finishes."""


class SerialExecutor:
    """Every point in this process, one after another."""

    name = "serial"
    workers = 1

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, task in enumerate(tasks):
            yield index, run_point(task)


class ProcessExecutor:
    """Local worker processes (started clean, so no state of this process leaks into them)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.name = f"{self.workers} local processes"

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(min(self.workers, max(1, len(tasks))), mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_one_thread_per_process)
        try:
            futures = {pool.submit(run_point, task): index for index, task in enumerate(tasks)}
            for future in as_completed(futures):
                yield futures[future], _result_of(future)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _one_thread_per_process() -> None:
    """The workers already share the cores: the compiled loops run on one thread each."""
    import numba

    numba.set_num_threads(1)


class DaskExecutor:
    """The workers of a Dask cluster: a scheduler address (``tcp://HOST:8786``) or a ``distributed.Client``."""

    def __init__(self, scheduler: Any):
        require(("distributed",), "dask", "a Dask scheduler")
        import distributed

        if isinstance(scheduler, distributed.Client):
            self.client, self.owned = scheduler, False
        else:
            try:
                self.client, self.owned = distributed.Client(scheduler, timeout="10s"), True
            except (OSError, TimeoutError, ValueError) as error:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({' '.join(str(error).split())[:160]}); "
                                "start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))
        self.name = f"Dask cluster at {self.client.scheduler.address} ({self.workers} workers)"

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        import distributed

        futures = [self.client.submit(run_point, task, key=f"eie-point-{task_key(task)}", pure=False) for task in tasks]
        index = {future.key: position for position, future in enumerate(futures)}
        try:
            for future in distributed.as_completed(futures):
                yield index[future.key], _result_of(future)
        finally:
            self.client.cancel(futures)
            if self.owned:
                self.client.close()


def _result_of(future: Any) -> dict[str, Any]:
    """A finished future's result; a worker that died or a lost task is an error record."""
    try:
        return future.result()
    except Exception as error:
        return {"status": "error", "error": f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"}


@dataclass
class SweepOutcome:
    """The table of a finished sweep and how it was obtained."""

    spec: SweepSpec
    rows: list[dict[str, Any]]
    computed: int
    cached: int
    failed: int
    wall_s: float
    executor: str
    workers: int

    @property
    def points_per_s(self) -> float:
        return self.computed / self.wall_s if self.wall_s > 0 else 0.0


def tasks_of(spec: SweepSpec) -> list[dict[str, Any]]:
    """One task per point: its values with absolute paths, and what else the result depends on."""
    tasks = []
    for point in spec.point_values():
        values = {**spec.base, **point}
        for name in ("workload", "energy_table"):
            if name in values and (name == "energy_table" and values[name] != DEFAULT_ENERGY_TABLE
                                   or name == "workload" and is_file_workload(values[name])):
                values[name] = resolve(spec.folder, values[name])
        tasks.append({"kind": spec.kind, "values": values, "act_density": spec.act_density,
                      "timeout_s": spec.timeout_s, "code_version": code_version()})
    return tasks


def task_key(task: dict[str, Any]) -> str:
    """Hash of everything a point's result depends on: full config, file contents, settings, code version."""
    values = task["values"]
    identity: dict[str, Any] = {"kind": task["kind"], "config": config_of(values).to_dict(), "code": task["code_version"]}
    for name, value in values.items():
        if name in CONFIG_FIELDS:
            continue
        is_file = (name == "workload" and is_file_workload(value)) or (name == "energy_table" and value != DEFAULT_ENERGY_TABLE)
        identity[name] = {"sha256": _file_digest(value, *_stamp(value))} if is_file else value
    if task["kind"] == "simulate":
        identity["act_density"] = task["act_density"]
    else:
        identity["timeout_s"] = task["timeout_s"]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _stamp(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    """A file's SHA-256, computed once per version of the file (the points of a sweep share a few files)."""
    return file_sha256(path)


class Cache:
    """Finished points as small JSON files named by their key (written atomically)."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        try:
            return json.loads(self.path(key).read_text())["result"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None

    def put(self, key: str, task: dict[str, Any], result: dict[str, Any]) -> None:
        if self.folder is not None:
            write_text_atomic(self.path(key), json.dumps({"task": task, "result": result}, sort_keys=True) + "\n")


def run_sweep(spec: SweepSpec, executor: Executor | None = None, cache: Path | None = None,
              retry_failed: bool = False, progress: bool = True,
              announce: Callable[[str], None] | None = None) -> SweepOutcome:
    """Compute the points of ``spec`` missing from ``cache`` on ``executor`` and return the whole table.

    ``announce`` receives one line before the points start: how many there are, how many are cached,
    and the expected time (simulate sweeps first compute two points here and time the second).
    """
    executor = executor or ProcessExecutor()
    store = Cache(cache)
    tasks = tasks_of(spec)
    keys = [task_key(task) for task in tasks]
    results: list[dict[str, Any] | None] = [store.get(key) for key in keys]
    if retry_failed:
        results = [None if r is not None and r["status"] != "ok" else r for r in results]
    missing = [index for index, result in enumerate(results) if result is None]
    computed = len(missing)
    start = time.perf_counter()
    if announce is not None:
        announce(_plan(spec, tasks, missing, results, keys, store, executor))
    left = [index for index in missing if results[index] is None]
    with progress_bar(total=len(tasks), initial=len(tasks) - len(left), description="sweep", unit="point",
                      enabled=progress) as bar:
        for position, result in executor.run([tasks[index] for index in left]):
            index = left[position]
            results[index] = result
            store.put(keys[index], tasks[index], result)
            bar.update(1)
    wall = time.perf_counter() - start
    rows = [table_row(spec, number, point, result) for number, (point, result)
            in enumerate(zip(spec.point_values(), results))]
    failed = sum(row["status"] != "ok" for row in rows)
    return SweepOutcome(spec, rows, computed, len(tasks) - computed, failed, wall, executor.name, executor.workers)


def _plan(spec: SweepSpec, tasks: list[dict[str, Any]], missing: list[int], results: list[dict[str, Any] | None],
          keys: list[str], store: "Cache", executor: Executor) -> str:
    """The sweep's size and expected time; a simulate sweep computes (and caches) its first two missing points
    here to time one."""
    shape = " x ".join(f"{len(values):,} {name}" for name, values in spec.axes.items())
    line = f"{len(tasks):,} points ({shape}): {len(tasks) - len(missing):,} cached, {len(missing):,} to compute on {executor.name}"
    if not missing:
        return line
    if spec.kind != "simulate":
        bound = spec.timeout_s * -(-len(missing) // executor.workers)
        return f"{line}; each synthesis point may take up to {spec.timeout_s:g} s: at most {_duration(bound)}"
    for index in missing[:2]:  # the first point pays for the imports and compilation; the second is timed
        began = time.perf_counter()
        results[index] = run_point(tasks[index])
        store.put(keys[index], tasks[index], results[index])
        each = time.perf_counter() - began
    rest = each * max(0, len(missing) - 2) / executor.workers
    return f"{line}; a point takes {each:.2f} s here: about {_duration(rest)} for the rest"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def table_row(spec: SweepSpec, number: int, point: dict[str, Any], result: dict[str, Any] | None) -> dict[str, Any]:
    """One tidy row: the point's number, its axis values, status, the spec's metrics and any error."""
    assert result is not None
    metrics = result.get("metrics", {})
    return {"point": number, **point, "status": result["status"],
            **{name: metrics.get(name) for name in spec.metrics}, "error": result.get("error", "")}


def write_results(folder: Path, outcome: SweepOutcome, name: str, command: str) -> Path:
    """``results.csv`` (the tidy table) and ``sweep.json`` (spec, code version, counts, timing) in ``folder``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(outcome.rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in outcome.rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    write_text_atomic(folder / RESULTS_CSV, buffer.getvalue())
    record = {"name": name, "command": command, "spec": outcome.spec.to_dict(), "code_version": code_version(), "points": len(outcome.rows),
              "computed": outcome.computed, "cached": outcome.cached, "failed": outcome.failed,
              "wall_s": outcome.wall_s, "points_per_s": outcome.points_per_s, "executor": outcome.executor,
              "workers": outcome.workers,
              "load_average_1min": os.getloadavg()[0], "cpu_cores": os.cpu_count()}
    return write_text_atomic(folder / RECORD_JSON, json.dumps(record, indent=2) + "\n")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
