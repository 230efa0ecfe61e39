"""Energy tables: per-action energies in pJ, each with its unit and source, and the rules that size them.

A table is a JSON file (``accel/arch/energy_45nm.json`` is the default); every entry names its unit,
which must be ``pJ``, and its source. Rules for actions the table does not list directly:

* Integer add of ``b`` bits: linear interpolation between the listed 8/16/32-bit adds.
* Integer multiply of ``b`` bits: quadratic in width, ``mult_32 * (b / 32)**2`` (Horowitz's 8-bit
  0.2 pJ and 32-bit 3.1 pJ fit this within 4 %).
* Register file access of ``b`` bits: ``register_file_32 * b / 32``.
* SRAM read of ``b`` bits from an SRAM of ``S`` bytes: the 64-bit read energy interpolated
  log-log over the listed sizes (extrapolated with the nearest slope), times ``b / 64``.
  Writes cost the same as reads.

``sim/energy.py`` applies these rules to the memories of ``ArchConfig`` (45 nm values at the
defaults): sparse-matrix SRAM 128 KB, 64-bit line 38.1 pJ; pointer SRAM as two 16 KB banks,
16-bit pointer 3.54 pJ each (7.07 pJ per column); activation SRAM 2 KB, 16-bit 1.25 pJ;
register files (source/destination activations, FIFOs, 16-entry codebook, accumulators) at
``register_file_32`` scaled by width (16-bit 0.5 pJ).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.arch.errors import UserError
from accel.arch.files import read_json

DEFAULT_TABLE = Path(__file__).with_name("energy_45nm.json")
REQUIRED_ACTIONS = ("int_add_8", "int_add_16", "int_add_32", "int_mult_32", "float_add_32", "float_mult_32",
                    "register_file_32", "sram_cache_32", "dram_32")


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies (pJ) and the SRAM size curve, as read from a table file."""

    name: str
    source: str
    actions: dict[str, float]
    sram_sizes: tuple[float, ...]
    sram_energies: tuple[float, ...]

    def int_add(self, bits: int) -> float:
        return float(np.interp(bits, [8, 16, 32], [self.actions[f"int_add_{b}"] for b in (8, 16, 32)]))

    def int_mult(self, bits: int) -> float:
        return self.actions["int_mult_32"] * (bits / 32) ** 2

    def register_file(self, bits: int) -> float:
        return self.actions["register_file_32"] * bits / 32

    def sram_read(self, size_bytes: float, bits: int) -> float:
        sizes, energies = np.log(self.sram_sizes), np.log(self.sram_energies)
        x = np.log(size_bytes)
        if x <= sizes[0]:
            slope = (energies[1] - energies[0]) / (sizes[1] - sizes[0])
            log_energy = energies[0] + slope * (x - sizes[0])
        elif x >= sizes[-1]:
            slope = (energies[-1] - energies[-2]) / (sizes[-1] - sizes[-2])
            log_energy = energies[-1] + slope * (x - sizes[-1])
        else:
            log_energy = np.interp(x, sizes, energies)
        return float(np.exp(log_energy)) * bits / 64

    def dram(self, bits: int) -> float:
        return self.actions["dram_32"] * bits / 32

    @classmethod
    def load(cls, path: str | Path | None = None) -> "EnergyTable":
        """Read and validate a table file (the 45 nm default when ``path`` is None)."""
        path = Path(path) if path is not None else DEFAULT_TABLE
        data = read_json(path, "energy table", f"start from a copy of {DEFAULT_TABLE}")
        try:
            actions = {name: _energy(entry, f"actions.{name}") for name, entry in data["actions"].items()}
            curve = data["sram_read_64"]
            _check_unit(curve, "sram_read_64")
            sizes, energies = tuple(map(float, curve["size_bytes"])), tuple(map(float, curve["energy"]))
        except KeyError as error:
            raise UserError(f"energy table {path} lacks the key {error}; follow the layout of {DEFAULT_TABLE}") from None
        except (TypeError, ValueError, AttributeError) as error:
            raise UserError(f"energy table {path} is malformed ({error}); follow the layout of {DEFAULT_TABLE}") from None
        missing = [name for name in REQUIRED_ACTIONS if name not in actions]
        if missing:
            raise UserError(f"energy table {path} lacks the actions {missing}; see {DEFAULT_TABLE}")
        if (len(sizes) < 2 or len(sizes) != len(energies) or list(sizes) != sorted(set(sizes))
                or min(sizes + energies) <= 0 or not np.all(np.isfinite(sizes + energies))):
            raise UserError(f"energy table {path}: sram_read_64 needs two or more increasing positive sizes with positive energies")
        return cls(name=str(data.get("name", path.stem)), source=str(data.get("source", "")), actions=actions,
                   sram_sizes=sizes, sram_energies=energies)


def _energy(entry: dict, where: str) -> float:
    if "source" not in entry or not str(entry["source"]).strip():
        raise ValueError(f"{where} needs a 'source'")
    _check_unit(entry, where)
    value = float(entry["energy"])
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{where}.energy must be a non-negative number")
    return value


def _check_unit(entry: dict, where: str) -> None:
    if entry.get("unit") != "pJ":
        raise ValueError(f"{where} needs \"unit\": \"pJ\" (got {entry.get('unit')!r}); convert the energy to pJ")
