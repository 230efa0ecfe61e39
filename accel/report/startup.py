"""The start-up page (``reports/sim/startup.md``): CPU seconds of whole ``accel`` processes, from ``startup.json``."""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.files import write_text_atomic
from accel.report.tables import format_table


def startup_table(record: dict, markdown: bool = True) -> str:
    """One row per command, one column group per measured checkout."""
    runs = record["runs"]
    headers = ["command"] + [f"{run['label']} ({run['commit']}): CPU s median (min-max)" for run in runs]
    rows = []
    for index, row in enumerate(runs[0]["rows"]):
        rows.append([f"accel {row['command']}"] + [
            f"{run['rows'][index]['cpu_s_median']:.2f} ({run['rows'][index]['cpu_s_min']:.2f}-"
            f"{run['rows'][index]['cpu_s_max']:.2f})" for run in runs])
    return format_table(headers, rows, markdown=markdown)


def write_startup_page(folder: Path) -> Path:
    record = json.loads((folder / "startup.json").read_text())
    reference = record["reference"]
    ours = next(row for row in record["runs"][0]["rows"] if row["command"] == reference["command"])
    ratio = ours["cpu_s_median"] / reference["cpu_s"]
    load = max(row["load_average_1min"] for run in record["runs"] for row in run["rows"])
    text = "\n".join([
        "# Start-up: what a command costs as a whole process", "",
        f"`{record['provenance']['command']}` runs each command as a fresh process "
        f"{record['runs'][0]['rows'][0]['runs']} times after a warm-up and records the CPU seconds (user + system) the "
        f"operating system counted for each; 1-minute load average up to {load:.1f} while measuring.", "",
        startup_table(record), "",
        "A warm-up run leaves what an installed tool keeps between runs: Python's bytecode, numba's compiled loops "
        "and the benchmark layer drawn and laid out in the layer cache (`accel.explore.layer_cache`). The row "
        "\"layer cache empty\" gives each run a cache of its own, so every run draws the synthetic weights and lays "
        "them out, as a first run does (a checkout without the cache does that work in both rows). A command that "
        "simulates one layer runs the simulator's loops in numpy and never imports numba.", "",
        f"Reference: {reference['cpu_s']:.2f} s CPU for `{reference['command']}` by {reference['source']}. This "
        f"checkout's median is {ratio:.1f}x that (target: within 3x).", "",
    ])
    return write_text_atomic(folder / "startup.md", text)
