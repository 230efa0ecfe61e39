"""Energy tables: per-action energies, each with its unit, source and source voltage, and the rules that price with them.

A table is a JSON file (``accel/arch/energy_45nm.json`` is the default) that users may replace. Its ``kind`` is
``predicted`` (every number from a published characterisation, nothing fitted to the EIE paper) or ``calibrated``
(some numbers fitted to the paper; the table must then say how in ``fit``). Every action names its energy in ``pJ``,
the supply voltage its source characterised it at and the source; the SRAM section is a grid over size and width
(CACTI in the default table) with read and write energy (pJ), the bit-line part of the read and leakage (mW).

**One supply voltage.** The table prices every action at ``supply_voltage_V`` (0.9 V in the default table: the voltage
of Horowitz's 45 nm table, which the EIE paper cites). Dynamic energy scales by (supply / source voltage)^2; leakage
power by supply / source voltage (first order: the leakage current held constant). CACTI charges an SRAM's bit lines
from the bit-cell supply and everything else (decoders, word lines, sense amplifiers, H-tree, output drivers) from the
periphery supply, so a read is split by CACTI's own bit-line figure and each part scaled by its own supply; a write
takes the read's split (CACTI reports no write breakdown); leakage scales with the periphery supply. ``null`` keeps
every source at its own voltage.

**Small storage by its implementation.** Storage smaller than ``small_storage.below_bytes`` is built from clock-gated
flip-flops read through a multiplexer tree; from that size on it is an SRAM priced from the SRAM grid. A flip-flop
array of D entries of w bits, with random data and addresses (``pricing: "flip-flops"``):

* write: w x (flop_clock + flop_write_bit + D/2 x flop_data_pin): the written entry's gated clock pulse and its state
  change, and the write data changing (probability 1/2) at the D pin of every entry, whose master latch is open
  while its gated clock is low;
* read: w x T(D) x mux2_output, T(D) = the sum over the tree's levels k = 1..ceil(log2 D) of ceil(D / 2^k) x 1/2 x
  (1 - 2^-k): the expected number of multiplexer outputs that change when a random entry follows another.

``pricing: "register file"`` prices small storage at Horowitz's register-file figure instead.

Rules for actions the table does not list directly:

* Integer add of ``b`` bits: linear interpolation between the listed 8/16/32-bit adds.
* Integer multiply of ``b`` bits: quadratic in width, ``mult_32 * (b / 32)**2`` (Horowitz's 8-bit
  0.2 pJ and 32-bit 3.1 pJ fit this within 4 %).
* Register file access of ``b`` bits: ``register_file_32 * b / 32``.
* SRAM access or leakage at a size and width between the grid points: interpolated bilinearly in
  log(size), log(width) on the log of the value (after the voltage scaling); outside the grid the edge slope continues.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from accel.arch.errors import UserError
from accel.arch.files import read_json

DEFAULT_TABLE = Path(__file__).with_name("energy_45nm.json")
VERSION = 3
REQUIRED_ACTIONS = ("int_add_8", "int_add_16", "int_add_32", "int_mult_8", "int_mult_32", "float_add_32",
                    "float_mult_32", "register_file_32", "sram_cache_32", "dram_32", "flop_clock",
                    "clock_wire_per_sink", "flop_write_bit", "flop_data_pin", "mux2_output")
KINDS = ("predicted", "calibrated")
PRICINGS = ("flip-flops", "register file")
"""How storage below the boundary is priced: from its standard cells, or at Horowitz's register-file figure."""
ITRS_45NM_VOLTS = {"itrs-hp": 1.0, "itrs-lstp": 1.1, "itrs-lop": 0.7}
"""Supply of each CACTI 7 45 nm device type (CACTI 7 tech_params/45nm.dat, "-Vdd (V)": hp 1, lstp 1.1, lop 0.7)."""
MAX_PJ = 1e6
"""No single action costs a microjoule; a larger number is a unit mistake."""
MAX_LEAKAGE_MW = 1e4
VOLTS = (0.3, 5.0)
"""Supply voltages outside this range are a unit mistake."""
SRAM_GRIDS = ("read", "read_bitlines", "write", "leakage")


@dataclass(frozen=True)
class Entry:
    """One action as its source published it: energy (pJ) at the source's supply voltage."""

    energy: float
    voltage: float
    source: str


@dataclass(frozen=True, eq=False)
class SramGrid:
    """SRAM access energies (pJ) and leakage per bank (mW) over size and width, as CACTI published them for one device pair."""

    cells: str
    periphery: str
    cell_voltage: float
    periphery_voltage: float
    sizes: tuple[float, ...]
    widths: tuple[float, ...]
    grids: dict[str, np.ndarray]
    """``read``, ``read_bitlines`` (the bit-line part of the read), ``write`` (pJ) and ``leakage`` (mW), shape (sizes, widths)."""

    @property
    def label(self) -> str:
        return f"{self.cells} cells, {self.periphery} periphery"

    @classmethod
    def from_cacti_csv(cls, path: str | Path, cells: str, periphery: str) -> "SramGrid":
        """The grid ``reports/energy/cacti/run.sh`` records (one row per size and width, energies in nJ)."""
        if cells not in ITRS_45NM_VOLTS or periphery not in ITRS_45NM_VOLTS:
            raise UserError(f"unknown CACTI device pair {cells}/{periphery}; use one of {sorted(ITRS_45NM_VOLTS)}")
        try:
            with Path(path).open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            sizes = tuple(sorted({float(row["size_bytes"]) for row in rows}))
            widths = tuple(sorted({float(row["width_bits"]) for row in rows}))
            cell = {(float(row["size_bytes"]), float(row["width_bits"])): row for row in rows}
            columns = {"read": ("read_nJ", 1e3), "read_bitlines": ("read_bitlines_nJ", 1e3), "write": ("write_nJ", 1e3),
                       "leakage": ("leakage_mW", 1.0)}
            grids = {what: np.array([[float(cell[size, width][column]) * scale for width in widths] for size in sizes])
                     for what, (column, scale) in columns.items()}
        except FileNotFoundError:
            raise UserError(f"CACTI grid {path} does not exist; record it with reports/energy/cacti/run.sh CACTI "
                            f"{cells} {periphery}") from None
        except (KeyError, ValueError) as error:
            raise UserError(f"CACTI grid {path} is not a full grid written by reports/energy/cacti/run.sh ({error}); "
                            "record it again") from None
        return cls(cells, periphery, ITRS_45NM_VOLTS[cells], ITRS_45NM_VOLTS[periphery], sizes, widths, grids)
SRAM_DOMAIN = ((1.0, float(1 << 30)), (1.0, 4096.0))
"""SRAM sizes (bytes) and widths (bits) the models ask prices for: the config's bounds."""
MAX_EXTRAPOLATED = 1e30
"""Largest SRAM price (pJ or mW) the grid may extrapolate to; sums of such prices stay finite."""


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies as published and the rules that price them at one supply voltage."""

    name: str
    kind: str
    source: str
    supply_voltage: float | None
    """The one supply every action is priced at (V); None keeps each source at its own voltage."""
    entries: dict[str, Entry]
    sram: SramGrid
    small_storage_below_bytes: float
    small_storage_pricing: str
    rules: dict[str, str]
    """The table's own statement of its supply-voltage and small-storage rules."""
    fit: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.name}"

    def variant(self, **changes) -> "EnergyTable":
        """The same table with some fields replaced (a supply voltage, an SRAM device pair, a small-storage pricing)."""
        return dataclasses.replace(self, **changes)

    def dynamic_scale(self, source_voltage: float) -> float:
        return 1.0 if self.supply_voltage is None else (self.supply_voltage / source_voltage) ** 2

    def leakage_scale(self, source_voltage: float) -> float:
        return 1.0 if self.supply_voltage is None else self.supply_voltage / source_voltage

    @cached_property
    def actions(self) -> dict[str, float]:
        """Energy of every action (pJ) at the table's supply voltage."""
        return {name: entry.energy * self.dynamic_scale(entry.voltage) for name, entry in self.entries.items()}

    def int_add(self, bits: int) -> float:
        return float(np.interp(bits, [8, 16, 32], [self.actions[f"int_add_{b}"] for b in (8, 16, 32)]))

    def int_mult(self, bits: int) -> float:
        return self.actions["int_mult_32"] * (bits / 32) ** 2

    def register_file(self, bits: int) -> float:
        return self.actions["register_file_32"] * bits / 32

    def dram(self, bits: int) -> float:
        return self.actions["dram_32"] * bits / 32

    def sram_read(self, size_bytes: float, bits: int) -> float:
        return self._sram("read", size_bytes, bits)

    def sram_write(self, size_bytes: float, bits: int) -> float:
        return self._sram("write", size_bytes, bits)

    def sram_leakage_mw(self, size_bytes: float, bits: int) -> float:
        return self._sram("leakage", size_bytes, bits)

    def implementation(self, size_bytes: float) -> str:
        """How storage of ``size_bytes`` is built and priced: ``SRAM``, or the small-storage pricing below the boundary."""
        return "SRAM" if size_bytes >= self.small_storage_below_bytes else self.small_storage_pricing

    def storage_access(self, size_bytes: float, bits: int, write: bool = False) -> float:
        """One read (or write) of ``bits`` in storage of ``size_bytes`` (pJ), by its implementation."""
        implementation = self.implementation(size_bytes)
        if implementation == "SRAM":
            return (self.sram_write if write else self.sram_read)(size_bytes, bits)
        if implementation == "register file":
            return self.register_file(bits)
        depth, actions = _depth(size_bytes, bits), self.actions
        if write:
            return bits * (actions["flop_clock"] + actions["flop_write_bit"] + depth / 2 * actions["flop_data_pin"])
        return bits * mux_tree_transitions(depth) * actions["mux2_output"]

    def storage_read(self, size_bytes: float, bits: int) -> float:
        return self.storage_access(size_bytes, bits)

    def storage_write(self, size_bytes: float, bits: int) -> float:
        return self.storage_access(size_bytes, bits, write=True)

    @cached_property
    def _sram_grids(self) -> dict[str, np.ndarray]:
        """The SRAM grids at the supply voltage: read and write split by the bit-line fraction, leakage with the periphery."""
        grids = self.sram.grids
        bitline = grids["read_bitlines"] / grids["read"]
        dynamic = (bitline * self.dynamic_scale(self.sram.cell_voltage)
                   + (1 - bitline) * self.dynamic_scale(self.sram.periphery_voltage))
        return {"read": grids["read"] * dynamic, "write": grids["write"] * dynamic,
                "leakage": grids["leakage"] * self.leakage_scale(self.sram.periphery_voltage)}

    def _sram(self, what: str, size_bytes: float, bits: int) -> float:
        grid = np.log(self._sram_grids[what])
        i, fx = _segment(np.log(self.sram.sizes), math.log(size_bytes))
        j, fy = _segment(np.log(self.sram.widths), math.log(bits))
        low = grid[i, j] + fy * (grid[i, j + 1] - grid[i, j])
        high = grid[i + 1, j] + fy * (grid[i + 1, j + 1] - grid[i + 1, j])
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # a steep grid is refused by its value
            return float(np.exp(low + fx * (high - low)))

    def entry_rows(self) -> list[dict]:
        """Every action as published and as priced: source voltage, the scaling applied, energy at the supply."""
        rows = [{"entry": name, "published_pJ": entry.energy, "source_voltage_V": entry.voltage,
                 "scaling": self.dynamic_scale(entry.voltage), "pJ_at_supply": self.actions[name], "source": entry.source}
                for name, entry in self.entries.items()]
        sram = self.sram
        for part, voltage in (("bit lines", sram.cell_voltage), ("periphery", sram.periphery_voltage)):
            rows.append({"entry": f"SRAM read and write, {part} ({sram.label})", "published_pJ": "",
                         "source_voltage_V": voltage, "scaling": self.dynamic_scale(voltage), "pJ_at_supply": "",
                         "source": "CACTI 7 grid"})
        rows.append({"entry": f"SRAM leakage ({sram.label})", "published_pJ": "", "source_voltage_V": sram.periphery_voltage,
                     "scaling": self.leakage_scale(sram.periphery_voltage), "pJ_at_supply": "", "source": "CACTI 7 grid"})
        return rows

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
        _require(data.get("format") == "eie-energy-table" and data.get("version") == VERSION,
                 f'needs "format": "eie-energy-table" and "version": {VERSION} (version 2 tables lack the source '
                 'voltages: add "voltage_V" to every action, "supply_voltage_V", the SRAM voltages and "small_storage")')
        kind = data.get("kind")
        _require(kind in KINDS, f'"kind" must be one of {list(KINDS)} (got {kind!r})')
        fit = data.get("fit", "")
        _require(isinstance(fit, str), '"fit" must be a string')
        _require(kind != "calibrated" or fit.strip(), 'a calibrated table must state what was fitted to what in "fit"')
        for key in ("name", "source"):
            _require(isinstance(data.get(key), str) and data[key].strip(), f'"{key}" must be a non-empty string')
        supply = data.get("supply_voltage_V", "missing")
        _require(supply is None or (isinstance(supply, (int, float)) and not isinstance(supply, bool)),
                 '"supply_voltage_V" must be a number of volts or null (each source at its own voltage)')
        supply = None if supply is None else _number(supply, "supply_voltage_V", *VOLTS)
        supply_rule = _text(data, "supply_voltage_rule", "the table")
        actions_data = data.get("actions")
        _require(isinstance(actions_data, dict), '"actions" must be an object of name: {energy, unit, voltage_V, source}')
        entries = {name: _entry(name, entry) for name, entry in actions_data.items()}
        missing = [name for name in REQUIRED_ACTIONS if name not in entries]
        _require(not missing, f"lacks the actions {missing}")
        below, pricing, storage_rule = _small_storage(data.get("small_storage"))
        table = cls(name=data["name"], kind=kind, source=data["source"], supply_voltage=supply, entries=entries,
                    sram=_sram_section(data.get("sram")), small_storage_below_bytes=below, small_storage_pricing=pricing,
                    rules={"supply voltage": supply_rule, "small storage": storage_rule}, fit=fit)
        table.check_extrapolation()
        return table

    def check_extrapolation(self) -> None:
        """Every SRAM price the models can ask for (sizes and widths of SRAM_DOMAIN) is a finite number above 0
        and below MAX_EXTRAPOLATED; beyond the grid the edge slopes continue, so a steep edge can overflow.

        The interpolation is bilinear in the logs, so its extremes lie where the grid lines and the
        domain's edges cross; each of those points is evaluated."""
        (low_size, high_size), (low_width, high_width) = SRAM_DOMAIN
        sizes = [low_size, *self.sram.sizes, high_size]
        widths = [low_width, *self.sram.widths, high_width]
        for what in ("read", "write", "leakage"):
            for size in sizes:
                for width in widths:
                    value = self._sram(what, size, width)
                    _require(math.isfinite(value) and 0.0 < value <= MAX_EXTRAPOLATED,
                             f"sram.{what} extrapolates to {value:g} at {size:g} bytes x {width:g} bits; beyond the grid "
                             f"its edge slopes continue up to {high_size:g} bytes and {high_width:g} bits, and every "
                             f"value must stay above 0 and at most {MAX_EXTRAPOLATED:g}: extend or smooth the grid")


def mux_tree_transitions(depth: int) -> float:
    """Expected multiplexer outputs that change per bit when a random entry of ``depth`` is read after another.

    A level-k output (one per 2^k entries) shows a random entry of its subtree: a new one with probability
    1 - 2^-k, holding a different random bit with probability 1/2.
    """
    levels = math.ceil(math.log2(depth)) if depth > 1 else 0
    return sum(math.ceil(depth / 2 ** k) * 0.5 * (1 - 2 ** -k) for k in range(1, levels + 1))


def _depth(size_bytes: float, bits: int) -> int:
    return max(1, round(size_bytes * 8 / bits))


class _TableError(ValueError):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _TableError(message)


def _number(value: object, where: str, low: float, high: float, allow_low: bool = False) -> float:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool), f"{where} must be a number, got {value!r}")
    _require(math.isfinite(value) and (low <= value if allow_low else low < value) and value <= high,
             f"{where} must lie in {'[' if allow_low else '('}{low:g}, {high:g}], got {value!r}")
    return float(value)


def _text(entry: dict, key: str, where: str) -> str:
    _require(isinstance(entry.get(key), str) and entry[key].strip(), f'{where} needs a "{key}"')
    return entry[key]


def _entry(name: str, entry: object) -> Entry:
    where = f"actions.{name}"
    _require(isinstance(entry, dict), f"{where} must be an object with energy, unit, voltage_V and source")
    _require(entry.get("unit") == "pJ", f'{where} needs "unit": "pJ" (got {entry.get("unit")!r}); convert the energy to pJ')
    source = _text(entry, "source", where)
    _require("voltage_V" in entry, f'{where} needs "voltage_V", the supply voltage its source characterised it at')
    return Entry(_number(entry.get("energy"), f"{where}.energy", 0.0, MAX_PJ),
                 _number(entry["voltage_V"], f"{where}.voltage_V", *VOLTS), source)


def _small_storage(section: object) -> tuple[float, str, str]:
    _require(isinstance(section, dict), '"small_storage" must be an object with below_bytes, pricing and rule')
    rule = _text(section, "rule", "small_storage")
    pricing = section.get("pricing")
    _require(pricing in PRICINGS, f'small_storage.pricing must be one of {list(PRICINGS)} (got {pricing!r})')
    return _number(section.get("below_bytes"), "small_storage.below_bytes", 0.0, 1e12, allow_low=True), pricing, rule


def _axis(values: object, where: str) -> tuple[float, ...]:
    _require(isinstance(values, list) and len(values) >= 2, f"sram.{where} needs two or more values")
    axis = tuple(_number(v, f"sram.{where}", 0.0, 1e12) for v in values)
    _require(all(a < b for a, b in zip(axis, axis[1:])), f"sram.{where} must be increasing")
    return axis


def _sram_section(section: object) -> SramGrid:
    _require(isinstance(section, dict),
             '"sram" must be an object with cells, periphery, their voltages, size_bytes, width_bits and the grids')
    _require(section.get("unit") == "pJ" and section.get("leakage_unit") == "mW",
             'sram needs "unit": "pJ" and "leakage_unit": "mW"')
    _text(section, "source", "sram")
    cells, periphery = _text(section, "cells", "sram"), _text(section, "periphery", "sram")
    volts = {key: _number(section.get(key), f"sram.{key}", *VOLTS) for key in ("cell_voltage_V", "periphery_voltage_V")}
    sizes, widths = _axis(section.get("size_bytes"), "size_bytes"), _axis(section.get("width_bits"), "width_bits")
    grids = {}
    for what in SRAM_GRIDS:
        rows = section.get(what)
        _require(isinstance(rows, list) and len(rows) == len(sizes)
                 and all(isinstance(row, list) and len(row) == len(widths) for row in rows),
                 f"sram.{what} must be a list of {len(sizes)} rows (one per size) of {len(widths)} values (one per width)")
        high = MAX_LEAKAGE_MW if what == "leakage" else MAX_PJ
        grids[what] = np.array([[_number(v, f"sram.{what}", 0.0, high, allow_low=what == "read_bitlines") for v in row]
                                for row in rows])
    _require(bool(np.all(grids["read_bitlines"] <= grids["read"])), "sram.read_bitlines must not exceed sram.read")
    return SramGrid(cells, periphery, volts["cell_voltage_V"], volts["periphery_voltage_V"], sizes, widths, grids)


def _segment(axis: np.ndarray, x: float) -> tuple[int, float]:
    """Index of the grid segment for ``x`` (the edge one outside) and the fraction along it."""
    i = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])
