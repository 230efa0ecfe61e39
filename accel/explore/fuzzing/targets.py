"""The readers under test: for each, a seed input, mutators, the reader and the comparison with the original.

Every target reads one damaged input and is classified by ``classify``:

- ``clean error``: the reader raised UserError (one line for the user);
- ``accepted-identical``: it loaded and decodes to exactly the original;
- ``accepted-different``: it loaded and decodes to something else. For the integrity-checked
  formats (compressed model, layer file) read as damaged this is a failure. For formats without
  integrity by design (JSON config, IDX, input vectors, state_dicts) and for re-sealed archives
  (a forger recomputes the digest) a different but *valid* content is expected; ``check`` then
  verifies the invariants an accepted input must meet, and a violation counts as ``invalid``;
- ``uncaught``: any other exception (a traceback for the user);
- ``slow``: longer than the time limit.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from accel.arch.config import ArchConfig
from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.layer import QuantizedLayer
from accel.arch.npz import read_input_vector
from accel.explore.fuzzing import mutate
from models.compressed_file import CompressedModel, compress_module
from models.datasets import FILES, load_idx_dataset, load_npz_dataset
from models.export import import_state_dict
from models.pruning import make_permanent, prune_by_std
from models.quantization import quantize_model


@dataclass
class Target:
    """One reader: how to make its seed files, mutate them, read them and compare the result."""

    name: str
    seed: Callable[[Path], Path]
    """Write the original input under the folder; return its path."""
    mutators: list[Callable[[random.Random, bytes], bytes]] | None
    """Byte-level and structure-aware mutations of the seed's bytes (None: ``mutate_path`` does it)."""
    read: Callable[[Path], Any]
    fingerprint: Callable[[Any], Any]
    """A comparable summary of everything the reader returned."""
    different_allowed: bool
    """Whether a different accepted content is legitimate (no integrity by design, or re-sealed)."""
    check: Callable[[Any], None] | None = None
    """Invariants an accepted input must meet (raises AssertionError)."""
    mutate_path: Callable[[random.Random, Path, Path], Path] | None = None
    """For folder targets: write a mutated copy of the seed under the second path."""


def _arrays_fingerprint(arrays: list[np.ndarray | None]) -> tuple:
    return tuple(None if a is None else (a.dtype.str, a.shape, a.tobytes()) for a in arrays)


# Compressed model ------------------------------------------------------------------------------

def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 24), nn.ReLU(), nn.Linear(24, 10))
    for module in (model[0], model[2], model[4]):
        prune_by_std(module, 0.8)
    make_permanent(model)
    quantize_model(model, {"0": 4, "2": 4, "4": 4})
    return model


def compressed_seed(folder: Path) -> Path:
    return compress_module(_tiny_model(), None, index_bits=3).save(folder / "model.dc.npz")


def compressed_fingerprint(model: CompressedModel) -> tuple:
    return (model.network,) + tuple(
        (layer.name, layer.module, layer.module_type, layer.kind, tuple(layer.shape), layer.bits, layer.index_bits,
         bool(layer.relu)) + _arrays_fingerprint([layer.codes.astype(np.int64), layer.codebook.astype(np.float64),
                                                  None if layer.bias is None else layer.bias.astype(np.float64)])
        for layer in model.layers)


def compressed_check(model: CompressedModel) -> None:
    """A re-sealed model that loads must survive its own round trip unchanged."""
    buffer_path = Path(mutate.scratch()) / "roundtrip.dc.npz"
    model.save(buffer_path)
    assert compressed_fingerprint(CompressedModel.load(buffer_path)) == compressed_fingerprint(model)


# Layer file ------------------------------------------------------------------------------------

def layer_seed(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    codes = (rng.random((12, 9)) < 0.4) * rng.integers(1, 16, (12, 9))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], bias=np.linspace(-0.5, 0.5, 12),
                           relu=True, name="fc", notes={"weights": "synthetic"})
    return layer.save(folder / "layer.npz")


def layer_fingerprint(layer: QuantizedLayer) -> tuple:
    return (layer.name, bool(layer.relu), tuple(sorted(layer.notes.items()))) + _arrays_fingerprint(
        [layer.codes.astype(np.int64), layer.codebook, layer.bias])


def layer_check(layer: QuantizedLayer) -> None:
    path = Path(mutate.scratch()) / "roundtrip.npz"
    layer.save(path)
    assert layer_fingerprint(QuantizedLayer.load(path)) == layer_fingerprint(layer)


# Config ----------------------------------------------------------------------------------------

CONFIG = {"n_pes": 16, "fifo_depth": 4, "act_bits": 16, "act_frac": 8, "clock_mhz": 400.0, "spmat_sram_bytes": 8192}


def config_seed(folder: Path) -> Path:
    path = folder / "arch.json"
    path.write_text(json.dumps(CONFIG, indent=1))
    return path


def config_check(config: ArchConfig) -> None:
    assert ArchConfig.from_dict(config.to_dict()) == config
    assert np.isfinite(config.cycle_ns) and config.cycle_ns > 0
    assert config.act_bits + config.weight_bits <= 40 and config.acc_bits <= 48
    assert all(getattr(config, key) > 0 for key in ("spmat_sram_bytes", "ptr_sram_bytes", "act_sram_bytes"))


# Energy table ----------------------------------------------------------------------------------

def energy_seed(folder: Path) -> Path:
    path = folder / "energy.json"
    path.write_bytes(DEFAULT_TABLE.read_bytes())
    return path


def energy_fingerprint(table: EnergyTable) -> tuple:
    sram = table.sram
    return (table.name, table.kind, table.source, table.fit, table.supply_voltage, tuple(sorted(table.entries.items())),
            table.small_storage_below_bytes, table.small_storage_pricing, tuple(sorted(table.rules.items())),
            sram.cells, sram.periphery, sram.cell_voltage, sram.periphery_voltage, sram.sizes, sram.widths,
            tuple((what, grid.tobytes()) for what, grid in sorted(sram.grids.items())))


def energy_check(table: EnergyTable) -> None:
    """Every price the energy model asks for is a finite, positive number, inside and outside the SRAM grid (a read of
    one-entry flip-flop storage passes no multiplexer and may cost nothing)."""
    prices, storage = [table.int_add(16), table.int_mult(16), table.register_file(16), table.dram(32)], []
    for size in (64, 8192, 131072, 1 << 24):
        for bits in (1, 16, 64, 512):
            prices += [table.sram_read(size, bits), table.sram_write(size, bits), table.sram_leakage_mw(size, bits),
                       table.storage_write(size, bits)]
            storage.append(table.storage_read(size, bits))
    assert all(np.isfinite(price) and price > 0 for price in prices), prices
    assert all(np.isfinite(price) and price >= 0 for price in storage), storage


# Input vector ----------------------------------------------------------------------------------

INPUT_LENGTH = 24


def input_seed(folder: Path) -> Path:
    path = folder / "x.npy"
    np.save(path, np.linspace(-1, 1, INPUT_LENGTH))
    return path


def read_input(path: Path) -> np.ndarray:
    return read_input_vector(path, INPUT_LENGTH)


def input_check(values: np.ndarray) -> None:
    assert values.dtype == np.float64 and values.shape == (INPUT_LENGTH,) and np.all(np.isfinite(values))


# IDX folder ------------------------------------------------------------------------------------

def idx_seed(folder: Path) -> Path:
    data = folder / "idx"
    data.mkdir()
    rng = np.random.default_rng(0)
    for key, stem in FILES.items():
        count = 6 if key.startswith("train") else 4
        array = rng.integers(0, 256, (count, 5, 5), dtype=np.uint8) if key.endswith("images") else \
            np.arange(count, dtype=np.uint8) % 3
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        raw = header + array.tobytes()
        if key.startswith("train"):
            (data / f"{stem}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (data / stem).write_bytes(raw)
    return data


def idx_mutate_path(rng: random.Random, seed: Path, out: Path) -> Path:
    """Copy the IDX folder with one of its four files mutated (byte level or header aware)."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(seed.iterdir())
    victim = rng.choice(files)
    for file in files:
        data = file.read_bytes()
        if file == victim:
            if file.suffix == ".gz" and rng.random() < 0.5:
                data = gzip.compress(rng.choice(IDX_MUTATORS)(rng, gzip.decompress(data)), mtime=0)
            else:
                data = rng.choice(IDX_MUTATORS + BYTE_MUTATORS)(rng, data)
        (out / file.name).write_bytes(data)
    return out


def dataset_fingerprint(dataset) -> tuple:
    return tuple((t.dtype, tuple(t.shape), t.numpy().tobytes()) for t in
                 (dataset.train_images, dataset.train_labels, dataset.test_images, dataset.test_labels))


def dataset_check(dataset) -> None:
    for tensor in (dataset.train_images, dataset.test_images):
        assert tensor.ndim >= 2 and tensor.shape[0] > 0 and bool(torch.isfinite(tensor).all())
    assert dataset.train_images.shape[1:] == dataset.test_images.shape[1:]
    assert dataset.train_labels.shape[0] == dataset.train_images.shape[0]
    assert int(dataset.test_labels.max()) < dataset.classes <= 100


def npz_dataset_seed(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    path = folder / "data.npz"
    np.savez_compressed(path, train_images=rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
                        train_labels=np.arange(6, dtype=np.int64) % 3,
                        test_images=rng.integers(0, 256, (4, 4, 4), dtype=np.uint8),
                        test_labels=np.arange(4, dtype=np.int64) % 3)
    return path


# State dict ------------------------------------------------------------------------------------

def state_dict_seed(folder: Path) -> Path:
    torch.manual_seed(0)
    path = folder / "m.pt"
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(),
                             nn.Linear(8, 4)).state_dict(), path)
    return path


def state_dict_fingerprint(imported) -> tuple:
    return tuple((layer.name, bool(layer.relu)) + _arrays_fingerprint([layer.codes.astype(np.int64), layer.codebook,
                                                                       layer.bias]) for layer in imported.layers)


def state_dict_check(imported) -> None:
    for first, second in zip(imported.layers, imported.layers[1:]):
        assert first.rows == second.cols
    for layer in imported.layers:
        assert np.all(np.isfinite(layer.codebook)) and layer.codebook[0] == 0.0 and layer.codebook.size == 16


def state_dict_structure(rng: random.Random, data: bytes) -> bytes:
    """Re-save the state_dict with one entry changed in dtype, shape, value or kind."""
    state = torch.load(io.BytesIO(data), weights_only=True)
    keys = list(state)
    key = rng.choice(keys)
    tensor = state[key]
    choice = rng.randrange(9)
    if choice == 0:
        state[key] = tensor.to(rng.choice([torch.int32, torch.bool, torch.complex64, torch.float16, torch.float64, torch.uint8]))
    elif choice == 1:
        state[key] = tensor.flatten()[: max(0, tensor.numel() - rng.randrange(1, 5))]
    elif choice == 2:
        state[key] = tensor.reshape(-1, 1) if tensor.dim() == 1 else tensor.t().contiguous()
    elif choice == 3:
        state[key] = tensor.clone().fill_(rng.choice([float("nan"), float("inf"), 1e38, 0.0, -1e-45]))
    elif choice == 4:
        del state[key]
    elif choice == 5:
        state[rng.choice(["", "x", "1.weight.extra", "norm.running_mean", "0.weight"])] = torch.randn(rng.randrange(1, 5))
    elif choice == 6:
        state[key] = rng.choice([3, "text", None, {"nested": tensor}, [tensor]])
    elif choice == 7:
        state = {f"{k}.{rng.randrange(3)}" if rng.random() < 0.3 else k: v for k, v in state.items()}
    else:
        state["conv.weight"] = torch.randn(2, 1, 3, 3)
        state = dict(sorted(state.items(), key=lambda item: rng.random()))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


# Mutators ---------------------------------------------------------------------------------------

BYTE_MUTATORS = mutate.BYTE_MUTATORS
IDX_MUTATORS = [mutate.idx_header]


def targets() -> list[Target]:
    archive = [mutate.npz_member_bytes, mutate.npz_meta_field, mutate.npz_dtype, mutate.npz_drop_member,
               mutate.npz_recompress, mutate.npz_zip_directory]
    return [
        Target("compressed model", compressed_seed, BYTE_MUTATORS + archive, CompressedModel.load,
               compressed_fingerprint, different_allowed=False),
        Target("layer file", layer_seed, BYTE_MUTATORS + archive, QuantizedLayer.load, layer_fingerprint,
               different_allowed=False),
        Target("architecture config", config_seed, BYTE_MUTATORS + [mutate.json_structure], ArchConfig.load,
               lambda config: config.to_dict(), different_allowed=True, check=config_check),
        Target("energy table", energy_seed, BYTE_MUTATORS + [mutate.json_structure], EnergyTable.load,
               energy_fingerprint, different_allowed=True, check=energy_check),
        Target("IDX folder", idx_seed, None, load_idx_dataset, dataset_fingerprint, different_allowed=True,
               check=dataset_check, mutate_path=idx_mutate_path),
        Target("npz data set", npz_dataset_seed, BYTE_MUTATORS + [mutate.npz_member_bytes, mutate.npz_dtype,
               mutate.npz_drop_member, mutate.npz_recompress, mutate.npz_zip_directory], load_npz_dataset,
               dataset_fingerprint, different_allowed=True, check=dataset_check),
        Target("input vector", input_seed, BYTE_MUTATORS + [mutate.npy_header], read_input,
               lambda values: values.tobytes(), different_allowed=True, check=input_check),
        Target("state_dict", state_dict_seed, BYTE_MUTATORS + [state_dict_structure], import_state_dict,
               state_dict_fingerprint, different_allowed=True, check=state_dict_check),
        Target("layer file, re-sealed", layer_seed, [mutate.npz_resealed], QuantizedLayer.load, layer_fingerprint,
               different_allowed=True, check=layer_check),
        Target("compressed model, re-sealed", compressed_seed, [mutate.npz_resealed], CompressedModel.load,
               compressed_fingerprint, different_allowed=True, check=compressed_check),
    ]

