"""Text files of settings as fuzz targets: sweep specs (JSON and TOML) and compression schedules (JSON)."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
from pathlib import Path
from typing import Any

from accel.explore.sweep_spec import CONFIG_FIELDS, SweepSpec, config_of, load_spec
from accel.models.compression import Schedule
from accel.models.user_model import load_schedule

SPEC = {"kind": "simulate", "metrics": ["cycles", "latency_us", "energy_uJ"], "seed": 3, "act_density": 0.5,
        "base": {"clock_mhz": 400.0, "pipeline_latency": 8},
        "axes": {"workload": ["NT-We", "Alex-8"], "n_pes": [4, 16], "fifo_depth": [2, 8]}}
SPEC_TOML = """kind = "simulate"
metrics = ["cycles", "latency_us", "energy_uJ"]
seed = 3
act_density = 0.5
timeout_s = 60.0

[base]
clock_mhz = 400.0
pipeline_latency = 8

[axes]
workload = ["NT-We", "Alex-8"]
n_pes = [4, 16]
fifo_depth = [2, 8]
"""
ODD_NUMBERS = ["nan", "inf", "-inf", "+nan", "1e308", "1e999", "-1", "0", "0.5", "18446744073709551616", "-0.0",
               "4097", "1e-300", "2.5", "true", '"4"', "[]", "{}", "1979-05-27"]
"""Replacements for a number in a text spec: NaN and infinity as TOML and JSON spell them, extremes, other types."""
SCHEDULE = {"prune": [{"1": 0.5, "*": 0.6}], "bits": "hardware", "index_bits": 5, "retrain_epochs": 1,
            "finetune_epochs": 1, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0001, "dropout": 0.0, "seed": 0}


def json_seed(document: dict, name: str):
    def seed(folder: Path) -> Path:
        path = folder / name
        path.write_text(json.dumps(document, indent=1))
        return path
    return seed


def toml_seed(folder: Path) -> Path:
    path = folder / "spec.toml"
    path.write_text(SPEC_TOML)
    return path


def number_text(rng: random.Random, data: bytes) -> bytes:
    """Replace one number of a JSON or TOML text with NaN, infinity, an extreme or a value of another type."""
    text = data.decode("utf-8", errors="replace")
    numbers = list(re.finditer(r"(?<![\w.\"-])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.\"])", text))
    if not numbers:
        return data
    match = rng.choice(numbers)
    return (text[:match.start()] + rng.choice(ODD_NUMBERS) + text[match.end():]).encode()


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        return [number for item in value.values() for number in _numbers(item)]
    if isinstance(value, list):
        return [number for item in value for number in _numbers(item)]
    return []


def spec_fingerprint(spec: SweepSpec) -> str:
    return json.dumps(spec.to_dict(), sort_keys=True, default=repr)


def spec_check(spec: SweepSpec) -> None:
    """Every number is finite, the density a fraction, the time limit positive, and every point a valid config."""
    assert all(math.isfinite(number) for number in _numbers(spec.to_dict())), spec.to_dict()
    assert 0.0 <= spec.act_density <= 1.0 and 0 < spec.timeout_s < math.inf
    for point in spec.point_values():
        config_of({**spec.base, **point})
        values = {**spec.base, **point}
        assert all(name in CONFIG_FIELDS or name in ("workload", "energy_table", "seed") for name in values)
        assert 0 <= values["seed"] < 1 << 32


def schedule_fingerprint(schedule: Schedule) -> str:
    return json.dumps(dataclasses.asdict(schedule), sort_keys=True, default=repr)


def schedule_check(schedule: Schedule) -> None:
    values = dataclasses.asdict(schedule)
    assert all(math.isfinite(number) for number in _numbers(values)), values
    schedule.validate()


def read_spec(path: Path) -> SweepSpec:
    return load_spec(path)


def read_schedule(path: Path) -> Schedule:
    return load_schedule(path)
