"""Sweep specs: which axes to cross, what is fixed, which metrics to keep (TOML, JSON or YAML files).

A spec (TOML shown; JSON and YAML hold the same keys)::

    kind = "simulate"            # or "synthesis": place and route the PE array for each point
    metrics = ["latency_us", "energy_uJ", "efficiency"]   # default: every metric of the kind; fits_on_chip always
    seed = 0                     # synthetic weights and inputs; may also be an axis
    act_density = 1.0            # non-zero fraction of the random inputs of file workloads

    [base]                       # one value for every point: any axis name
    clock_mhz = 800

    [axes]                       # the points are every combination of these values
    workload = ["Alex-6", "Alex-7", "model.dc.npz", "weights.pt"]
    n_pes = [16, 32, 64]
    fifo_depth = [2, 8]
    energy_table = ["default", "tables/7nm.json"]

Axis names: any ``ArchConfig`` field, and ``workload``, ``energy_table``, ``seed`` (simulate) or
``device``, ``router``, ``seed`` (synthesis, which also takes ``timeout_s``). Paths are relative to
the spec file. Every problem is one ``UserError`` naming the fix.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.explore.workloads import is_file_workload
from accel.sim.results import COUNTER_NAMES

KINDS = ("simulate", "synthesis")
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(ArchConfig))
EXTRA_AXES = {"simulate": ("workload", "energy_table", "seed"), "synthesis": ("device", "router", "seed")}
REQUIRED_AXES = {"simulate": ("workload",), "synthesis": ("device",)}
METRICS = {
    "simulate": ("cycles", "latency_us", "efficiency", "utilisation", "stall_cycles", "energy_uJ", "pJ_per_op", "gop_per_s",
                 "dense_dram_uJ", "stored_entries", "padding_pct", "fits_on_chip", *COUNTER_NAMES),
    "synthesis": ("fits", "fmax_mhz", "luts", "ffs", "brams", "multipliers", "seconds", "message"),
}
ALWAYS_KEPT = "fits_on_chip"
"""Kept by every simulate sweep: its page keeps the designs that do not fit off the Pareto front."""
TOP_KEYS = ("kind", "metrics", "seed", "act_density", "timeout_s", "base", "axes")
DEFAULT_ENERGY_TABLE = "default"
MAX_POINTS = 10_000
"""Default limit on a sweep's points (``accel sweep --max-points`` lifts it): the spec states its size first."""
MAX_SEED = (1 << 32) - 1
MAX_TIMEOUT_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec: the axes in file order, fixed values, and the metrics kept."""

    kind: str
    axes: dict[str, list[Any]]
    base: dict[str, Any]
    metrics: tuple[str, ...]
    act_density: float = 1.0
    timeout_s: float = 3600.0
    folder: str = "."
    """Folder the spec's relative paths start from."""

    @property
    def size(self) -> int:
        """Number of points: the product of the axes' lengths."""
        return math.prod(len(values) for values in self.axes.values())

    def point_values(self) -> list[dict[str, Any]]:
        """Every combination of the axis values, the last axis varying fastest."""
        names = list(self.axes)
        return [dict(zip(names, values)) for values in itertools.product(*(self.axes[n] for n in names))]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "metrics": list(self.metrics), "act_density": self.act_density,
                "timeout_s": self.timeout_s, "base": self.base, "axes": self.axes}


def load_spec(path: str | Path, max_points: int = MAX_POINTS) -> SweepSpec:
    """Read and validate a spec file (``.toml``, ``.json``, ``.yaml``/``.yml``) of at most ``max_points`` points."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"sweep spec {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"sweep spec {path} cannot be read ({error}); give a TOML, JSON or YAML text file") from None
    data = _parse(path, text)
    return parse_spec(data, folder=path.parent, where=str(path), max_points=max_points)


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"sweep spec {path} is not valid TOML ({error}); fix the syntax") from None
        except RecursionError:
            raise UserError(f"sweep spec {path} nests too deeply to be read; fix the syntax") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(f"sweep spec {path} is not valid JSON ({error}); fix the syntax") from None
        except RecursionError:
            raise UserError(f"sweep spec {path} nests too deeply to be read; fix the syntax") from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise UserError(f"reading {path} needs PyYAML: pip install pyyaml (or write the spec as TOML)") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            first = str(error).splitlines()[0] if str(error) else "syntax error"
            raise UserError(f"sweep spec {path} is not valid YAML ({first}); fix the syntax") from None
        except RecursionError:
            raise UserError(f"sweep spec {path} nests too deeply to be read; fix the syntax") from None
    raise UserError(f"sweep spec {path} must end in .toml, .json or .yaml; rename it to say its format")


def parse_spec(data: Any, folder: str | Path = ".", where: str = "sweep spec", max_points: int = MAX_POINTS) -> SweepSpec:
    """Validate a spec already read into dicts; ``folder`` anchors relative paths.

    A spec of more than ``max_points`` points is refused, stating its size, before any point is made.
    """
    if not isinstance(data, dict):
        raise UserError(f"{where} must be a table of keys ({', '.join(TOP_KEYS)}), not a {type(data).__name__}")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; known top-level keys: {', '.join(TOP_KEYS)}")
    kind = data.get("kind", "simulate")
    if kind not in KINDS:
        raise UserError(f"{where}: kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    axes_in, base_in = data.get("axes"), data.get("base", {})
    if not isinstance(axes_in, dict) or not axes_in:
        raise UserError(f"{where}: no axes; add an [axes] table with at least one axis, e.g. n_pes = [16, 64]")
    if not isinstance(base_in, dict):
        raise UserError(f"{where}: base must be a table of name = value, e.g. [base] clock_mhz = 800")
    allowed = CONFIG_FIELDS + EXTRA_AXES[kind]
    axes: dict[str, list[Any]] = {}
    for name, values in axes_in.items():
        _known_name(name, allowed, kind, where, "axis")
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}: axis {name!r} must be a non-empty list of values, e.g. {name} = [{_example(name)}]")
        if len({json.dumps(v, sort_keys=True, default=repr) for v in values}) != len(values):
            raise UserError(f"{where}: axis {name!r} repeats a value; list each value once")
        axes[name] = [_check_value(name, value, kind, folder, where) for value in values]
    base: dict[str, Any] = {}
    for name, value in base_in.items():
        _known_name(name, allowed, kind, where, "base key")
        if name in axes:
            raise UserError(f"{where}: {name!r} is both an axis and in base; keep one")
        base[name] = _check_value(name, value, kind, folder, where)
    top_seed = data.get("seed")
    if top_seed is not None:
        if "seed" in axes or "seed" in base:
            raise UserError(f"{where}: seed is given twice (top level and axes/base); keep one")
        base["seed"] = _check_value("seed", top_seed, kind, folder, where)
    base.setdefault("seed", 0 if kind == "simulate" else 1)
    for name in REQUIRED_AXES[kind]:
        if name not in axes and name not in base:
            raise UserError(f"{where}: a {kind} sweep needs {name!r}; add it to [axes] or [base], e.g. {name} = [{_example(name)}]")
    if kind == "simulate":
        base.setdefault("energy_table", DEFAULT_ENERGY_TABLE)
    metrics = data.get("metrics", list(METRICS[kind]))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise UserError(f"{where}: metrics must be a non-empty list of names from: {', '.join(METRICS[kind])}")
    for metric in metrics:
        if metric not in METRICS[kind]:
            raise UserError(f"{where}: unknown metric {metric!r}; {_suggest(metric, METRICS[kind])}known {kind} metrics: "
                            f"{', '.join(METRICS[kind])}")
    if kind == "simulate" and ALWAYS_KEPT not in metrics:
        metrics = [*metrics, ALWAYS_KEPT]
    act_density = _number(data.get("act_density", 1.0), "act_density", where, 0.0, 1.0)
    timeout_s = _number(data.get("timeout_s", 3600.0), "timeout_s", where, 1e-3, MAX_TIMEOUT_S)
    spec = SweepSpec(kind, axes, base, tuple(metrics), act_density, timeout_s, str(folder))
    if spec.size > max_points:
        raise UserError(f"{where}: the spec has {spec.size:,} points "
                        f"({' x '.join(f'{len(v):,} {n}' for n, v in axes.items())}), more than the limit of "
                        f"{max_points:,}; shorten the axes, or lift the limit: --max-points {spec.size}")
    config_axes = {name: values for name, values in axes.items() if name in CONFIG_FIELDS}
    for combination in itertools.product(*config_axes.values()):  # every combination must make a valid config
        values = dict(zip(config_axes, combination))
        try:
            config_of({**base, **values})
        except UserError as error:
            point = ", ".join(f"{k}={v}" for k, v in values.items())
            raise UserError(f"{where}: the point {point or 'of the base values'} is not a valid config: {error}") from None
    return spec


def config_of(values: dict[str, Any]) -> ArchConfig:
    """The ``ArchConfig`` of one point (its config fields over the defaults)."""
    return ArchConfig.from_dict({name: value for name, value in values.items() if name in CONFIG_FIELDS})


def _known_name(name: str, allowed: tuple[str, ...], kind: str, where: str, what: str) -> None:
    if name not in allowed:
        raise UserError(f"{where}: unknown {what} {name!r}; {_suggest(name, allowed)}a {kind} sweep takes ArchConfig "
                        f"fields or {', '.join(EXTRA_AXES[kind])}")


def _suggest(name: str, choices: tuple[str, ...]) -> str:
    import difflib
    close = difflib.get_close_matches(name, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _example(name: str) -> str:
    return {"workload": '"Alex-7"', "energy_table": '"default"', "device": '"ice40-hx8k"', "router": '"router2"'}.get(name, "1, 2")


def _number(value: Any, name: str, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise UserError(f"{where}: {name} must be a finite number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _check_value(name: str, value: Any, kind: str, folder: str | Path, where: str) -> Any:
    """One axis or base value, checked (files must exist; they stay as written, relative to the spec)."""
    if name in CONFIG_FIELDS:  # the type here; each point's whole config below
        want_int = name != "clock_mhz"
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or (want_int and value != int(value))):
            raise UserError(f"{where}: {name} values must be finite {'integers' if want_int else 'numbers'}, got {value!r}")
        return int(value) if want_int else float(value)
    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
            raise UserError(f"{where}: seed values must be integers from 0 to {MAX_SEED}, got {value!r}")
        return value
    if not isinstance(value, str) or not value:
        raise UserError(f"{where}: {name} values must be non-empty strings, got {value!r}")
    if name == "workload":
        if is_file_workload(value):
            return _existing(value, folder, where, name)
        names = [layer.name for layer in BENCHMARK_LAYERS]
        if value not in names:
            raise UserError(f"{where}: workload {value!r} is neither a benchmark layer ({', '.join(names)}) nor a "
                            ".npz/.pt file; fix the name")
        return value
    if name == "energy_table":
        return value if value == DEFAULT_ENERGY_TABLE else _existing(value, folder, where, name)
    if name == "device":
        from accel.hdl.flow.targets import DEVICES
        if value not in DEVICES:
            raise UserError(f"{where}: unknown device {value!r}; choose one of {', '.join(DEVICES)}")
        return value
    if name == "router":
        from accel.hdl.flow.synth import ROUTERS
        if value not in ROUTERS:
            raise UserError(f"{where}: unknown router {value!r}; choose one of {', '.join(ROUTERS)}")
        return value
    raise AssertionError(name)


def _existing(value: str, folder: str | Path, where: str, name: str) -> str:
    path = Path(folder) / value
    if not path.is_file():
        raise UserError(f"{where}: {name} file {value!r} does not exist (looked at {path}); fix the path")
    return value


def resolve(folder: str | Path, value: str) -> str:
    """A spec's relative path as an absolute one (workers may run elsewhere)."""
    return str((Path(folder) / value).resolve())
