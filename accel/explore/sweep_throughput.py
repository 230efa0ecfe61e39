"""Sweep throughput: the same spec serially, on local processes and on a local Dask cluster, in points per second."""

from __future__ import annotations

import os
import time
from typing import Any

from accel.arch.errors import UserError
from accel.explore.sweep import DaskExecutor, ProcessExecutor, SerialExecutor, SweepOutcome, run_sweep
from accel.explore.sweep_spec import SweepSpec


def measure_throughput(spec: SweepSpec, workers: int = 2) -> dict[str, Any]:
    """Run every point of ``spec`` three ways with no cache; the tables must be identical.

    Wall times include starting the worker processes (a pool, or the Dask workers of a
    ``distributed.LocalCluster`` with one thread each), not starting the cluster's scheduler.
    """
    try:
        import distributed
    except ImportError:
        raise UserError("measuring Dask throughput needs dask.distributed: pip install 'eie-accel[dask]'") from None
    outcomes: list[tuple[str, int, SweepOutcome]] = [("serial", 1, run_sweep(spec, SerialExecutor(), progress=False)),
                                                     ("local processes", workers,
                                                      run_sweep(spec, ProcessExecutor(workers), progress=False))]
    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        cluster_start_s = time.perf_counter() - start
        outcomes.append(("Dask LocalCluster", workers, run_sweep(spec, DaskExecutor(client), progress=False)))
    first = outcomes[0][2].rows
    if any(outcome.rows != first for _, _, outcome in outcomes):
        raise RuntimeError("executors gave different tables for the same spec")  # pragma: no cover
    return {"spec": spec.to_dict(), "points": len(first), "failed": outcomes[0][2].failed, "identical_tables": True,
            "runs": [{"executor": name, "workers": count, "wall_s": outcome.wall_s, "points_per_s": outcome.points_per_s}
                     for name, count, outcome in outcomes],
            "dask_cluster_start_s": cluster_start_s, "load_average_1min": os.getloadavg()[0], "cpu_cores": os.cpu_count()}
