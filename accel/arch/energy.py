"""Energy tables: per-action energies in pJ, each with its unit and source, and the rules that size them.

A table is a JSON file (``accel/arch/energy_45nm.json`` is the default) that users may replace. Its
``kind`` is ``predicted`` (every number from a published characterisation, nothing fitted to the
EIE paper) or ``calibrated`` (some numbers fitted to the paper; the table must then say how in
``fit``). Every action names its energy in ``pJ`` and its source; the SRAM section is a grid over
size and width (CACTI in the default table) with read and write energy (pJ) and leakage (mW).

Rules for actions the table does not list directly:

* Integer add of ``b`` bits: linear interpolation between the listed 8/16/32-bit adds.
* Integer multiply of ``b`` bits: quadratic in width, ``mult_32 * (b / 32)**2`` (Horowitz's 8-bit
  0.2 pJ and 32-bit 3.1 pJ fit this within 4 %).
* Register file access of ``b`` bits: ``register_file_32 * b / 32``.
* SRAM access or leakage at a size and width between the grid points: interpolated bilinearly in
  log(size), log(width) on the log of the value; outside the grid the edge slope continues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.arch.errors import UserError
from accel.arch.files import read_json

DEFAULT_TABLE = Path(__file__).with_name("energy_45nm.json")
REQUIRED_ACTIONS = ("int_add_8", "int_add_16", "int_add_32", "int_mult_8", "int_mult_32", "float_add_32",
                    "float_mult_32", "register_file_32", "sram_cache_32", "dram_32", "flop_clock",
                    "clock_wire_per_sink", "flop_write_bit")
KINDS = ("predicted", "calibrated")
MAX_PJ = 1e6
"""No single action costs a microjoule; a larger number is a unit mistake."""
MAX_LEAKAGE_MW = 1e4
SRAM_DOMAIN = ((1.0, float(1 << 30)), (1.0, 4096.0))
"""SRAM sizes (bytes) and widths (bits) the models ask prices for: the config's bounds."""
MAX_EXTRAPOLATED = 1e30
"""Largest SRAM price (pJ or mW) the grid may extrapolate to; sums of such prices stay finite."""


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies (pJ) and the SRAM grid, as read from a table file."""

    name: str
    kind: str
    source: str
    actions: dict[str, float]
    sram_sizes: tuple[float, ...]
    sram_widths: tuple[float, ...]
    sram_grids: dict[str, np.ndarray]
    """``read`` and ``write`` (pJ per access) and ``leakage`` (mW per bank), shape (sizes, widths)."""
    fit: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.name}"

    def int_add(self, bits: int) -> float:
        return float(np.interp(bits, [8, 16, 32], [self.actions[f"int_add_{b}"] for b in (8, 16, 32)]))

    def int_mult(self, bits: int) -> float:
        return self.actions["int_mult_32"] * (bits / 32) ** 2

    def register_file(self, bits: int) -> float:
        return self.actions["register_file_32"] * bits / 32

    def sram_read(self, size_bytes: float, bits: int) -> float:
        return self._sram("read", size_bytes, bits)

    def sram_write(self, size_bytes: float, bits: int) -> float:
        return self._sram("write", size_bytes, bits)

    def sram_leakage_mw(self, size_bytes: float, bits: int) -> float:
        return self._sram("leakage", size_bytes, bits)

    def dram(self, bits: int) -> float:
        return self.actions["dram_32"] * bits / 32

    def _sram(self, what: str, size_bytes: float, bits: int) -> float:
        grid = np.log(self.sram_grids[what])
        i, fx = _segment(np.log(self.sram_sizes), math.log(size_bytes))
        j, fy = _segment(np.log(self.sram_widths), math.log(bits))
        low = grid[i, j] + fy * (grid[i, j + 1] - grid[i, j])
        high = grid[i + 1, j] + fy * (grid[i + 1, j + 1] - grid[i + 1, j])
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # a steep grid is refused by its value
            return float(np.exp(low + fx * (high - low)))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "EnergyTable":
        """Read and validate a table file (the predicted 45 nm default when ``path`` is None)."""
        path = Path(path) if path is not None else DEFAULT_TABLE
        data = read_json(path, "energy table", f"start from a copy of {DEFAULT_TABLE}")
        try:
            return cls._parse(data)
        except _TableError as error:
            raise UserError(f"energy table {path}: {error}; follow the layout of {DEFAULT_TABLE}") from None

    @classmethod
    def _parse(cls, data: object) -> "EnergyTable":
        _require(isinstance(data, dict), "the file must hold a JSON object")
        _require(data.get("format") == "eie-energy-table" and data.get("version") == 2,
                 'needs "format": "eie-energy-table" and "version": 2')
        kind = data.get("kind")
        _require(kind in KINDS, f'"kind" must be one of {list(KINDS)} (got {kind!r})')
        fit = data.get("fit", "")
        _require(isinstance(fit, str), '"fit" must be a string')
        _require(kind != "calibrated" or fit.strip(), 'a calibrated table must state what was fitted to what in "fit"')
        for key in ("name", "source"):
            _require(isinstance(data.get(key), str) and data[key].strip(), f'"{key}" must be a non-empty string')
        actions_data = data.get("actions")
        _require(isinstance(actions_data, dict), '"actions" must be an object of name: {energy, unit, source}')
        actions = {name: _action(name, entry) for name, entry in actions_data.items()}
        missing = [name for name in REQUIRED_ACTIONS if name not in actions]
        _require(not missing, f"lacks the actions {missing}")
        sizes, widths, grids = _sram_section(data.get("sram"))
        table = cls(name=data["name"], kind=kind, source=data["source"], actions=actions, sram_sizes=sizes,
                    sram_widths=widths, sram_grids=grids, fit=fit)
        table._check_extrapolation()
        return table

    def _check_extrapolation(self) -> None:
        """Every SRAM price the models can ask for (sizes and widths of SRAM_DOMAIN) is a finite number above 0
        and below MAX_EXTRAPOLATED; beyond the grid the edge slopes continue, so a steep edge can overflow.

        The interpolation is bilinear in the logs, so its extremes lie where the grid lines and the
        domain's edges cross; each of those points is evaluated."""
        (low_size, high_size), (low_width, high_width) = SRAM_DOMAIN
        sizes = [low_size, *self.sram_sizes, high_size]
        widths = [low_width, *self.sram_widths, high_width]
        for what in ("read", "write", "leakage"):
            for size in sizes:
                for width in widths:
                    value = self._sram(what, size, width)
                    _require(math.isfinite(value) and 0.0 < value <= MAX_EXTRAPOLATED,
                             f"sram.{what} extrapolates to {value:g} at {size:g} bytes x {width:g} bits; beyond the grid "
                             f"its edge slopes continue up to {high_size:g} bytes and {high_width:g} bits, and every "
                             f"value must stay above 0 and at most {MAX_EXTRAPOLATED:g}: extend or smooth the grid")


class _TableError(ValueError):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _TableError(message)


def _number(value: object, where: str, low: float, high: float) -> float:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool), f"{where} must be a number, got {value!r}")
    _require(math.isfinite(value) and low < value <= high, f"{where} must lie in ({low:g}, {high:g}], got {value!r}")
    return float(value)


def _action(name: str, entry: object) -> float:
    where = f"actions.{name}"
    _require(isinstance(entry, dict), f"{where} must be an object with energy, unit and source")
    _require(entry.get("unit") == "pJ", f'{where} needs "unit": "pJ" (got {entry.get("unit")!r}); convert the energy to pJ')
    _require(isinstance(entry.get("source"), str) and entry["source"].strip(), f'{where} needs a "source"')
    return _number(entry.get("energy"), f"{where}.energy", 0.0, MAX_PJ)


def _axis(values: object, where: str) -> tuple[float, ...]:
    _require(isinstance(values, list) and len(values) >= 2, f"sram.{where} needs two or more values")
    axis = tuple(_number(v, f"sram.{where}", 0.0, 1e12) for v in values)
    _require(all(a < b for a, b in zip(axis, axis[1:])), f"sram.{where} must be increasing")
    return axis


def _sram_section(section: object) -> tuple[tuple[float, ...], tuple[float, ...], dict[str, np.ndarray]]:
    _require(isinstance(section, dict), '"sram" must be an object with size_bytes, width_bits, read, write, leakage')
    _require(section.get("unit") == "pJ" and section.get("leakage_unit") == "mW",
             'sram needs "unit": "pJ" and "leakage_unit": "mW"')
    _require(isinstance(section.get("source"), str) and section["source"].strip(), 'sram needs a "source"')
    sizes, widths = _axis(section.get("size_bytes"), "size_bytes"), _axis(section.get("width_bits"), "width_bits")
    grids = {}
    for what, high in (("read", MAX_PJ), ("write", MAX_PJ), ("leakage", MAX_LEAKAGE_MW)):
        rows = section.get(what)
        _require(isinstance(rows, list) and len(rows) == len(sizes)
                 and all(isinstance(row, list) and len(row) == len(widths) for row in rows),
                 f"sram.{what} must be a list of {len(sizes)} rows (one per size) of {len(widths)} values (one per width)")
        grids[what] = np.array([[_number(v, f"sram.{what}", 0.0, high) for v in row] for row in rows])
    return sizes, widths, grids


def _segment(axis: np.ndarray, x: float) -> tuple[int, float]:
    """Index of the grid segment for ``x`` (the edge one outside) and the fraction along it."""
    i = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])
