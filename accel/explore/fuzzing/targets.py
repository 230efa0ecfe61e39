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
import hashlib
import json
import math
import random
import re
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
from accel.arch.npz import DIGEST_KEY, MEMBERS_KEY, read_input_vector, read_members, save_npz
from accel.explore.fuzzing import folders, mutate, oracle, specs, state_dicts
from accel.models.compressed_file import FORMAT, MAX_LAYER_WEIGHTS, VERSION, CompressedLayer, CompressedModel, compress_module
from accel.models.datasets import FILES, load_idx_dataset, load_npz_dataset
from accel.models.graph import ModelGraph
from accel.models.pruning import make_permanent, prune_by_std
from accel.models.quantization import quantize_model


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
    oracle: Callable[[Path], Any] | None = None
    """A second, independent reader: its fingerprint of the input, or a string saying why it refuses it."""


def _digest(array: np.ndarray) -> str:
    """SHA-256 of an array's values; integer arrays by their non-zeros (a large, mostly empty layer is not copied)."""
    if array.dtype.kind not in "iu":
        return hashlib.sha256(np.ascontiguousarray(array)).hexdigest()
    flat = array.reshape(-1)
    where = np.flatnonzero(flat)
    return hashlib.sha256(where.tobytes() + flat[where].astype(np.int64).tobytes()).hexdigest()


def _arrays_fingerprint(arrays: list[np.ndarray | None]) -> tuple:
    return tuple(None if a is None else (a.dtype.str, a.shape, _digest(a)) for a in arrays)


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


def graph_fingerprint(graph: ModelGraph | None) -> tuple | None:
    """A recorded graph as canonical JSON and its host tensors' values (the oracle's form); None without one."""
    if graph is None:
        return None
    return (json.dumps(graph.to_json(), sort_keys=True, separators=(",", ":")),
            tuple((name, np.asarray(graph.params[name]).astype(np.float64).tobytes(), graph.params[name].shape)
                  for name in sorted(graph.params)))


PRODUCTION_VALUES: dict[str, Callable[[CompressedModel, CompressedLayer | None], Any]] = {
    "format": lambda model, layer: FORMAT, "version": lambda model, layer: VERSION,
    "graph": lambda model, layer: graph_fingerprint(model.graph),
    "shape": lambda model, layer: list(layer.shape), "bias": lambda model, layer: layer.bias is not None,
}
"""How the reader's model gives a metadata field that is not an attribute of the same name."""


def _model_fields(fields: dict[str, oracle.Field]) -> list[str]:
    """The fields that describe the model (not how the file stores it, nor the container's own keys)."""
    return [key for key, spec in fields.items() if not spec.storage and key != "layers"]


def _production(field: str, model: CompressedModel, layer: CompressedLayer | None = None) -> Any:
    if field in PRODUCTION_VALUES:
        return PRODUCTION_VALUES[field](model, layer)
    return getattr(model if layer is None else layer, field)


def compressed_fingerprint(model: CompressedModel) -> tuple:
    """Every field of the model the format declares (oracle.TOP_FIELDS, LAYER_FIELDS) and every decoded array."""
    top = tuple((key, _production(key, model)) for key in _model_fields(oracle.TOP_FIELDS))
    return top + tuple(
        tuple((key, _production(key, model, layer)) for key in _model_fields(oracle.LAYER_FIELDS)) + _arrays_fingerprint(
            [layer.codes.astype(np.int64, copy=False), layer.codebook.astype(np.float64, copy=False),
             None if layer.bias is None else layer.bias.astype(np.float64, copy=False)])
        for layer in model.layers)


def oracle_fingerprint(path: Path) -> tuple | str:
    """The independent reader's fingerprint of a compressed model file (the same form), or its refusal."""
    try:
        decoded = oracle.read_model(path)
    except oracle.Refused as error:
        return f"refused: {error}"
    top = tuple((key, decoded[key]) for key in _model_fields(oracle.TOP_FIELDS))
    return top + tuple(tuple((key, layer[key]) for key in _model_fields(oracle.LAYER_FIELDS)) + _arrays_fingerprint(
        [layer["codes"], layer["codebook"], layer["bias_values"]]) for layer in decoded["layers"])


def compressed_check(model: CompressedModel) -> None:
    """A re-sealed model that loads must survive its own round trip unchanged."""
    buffer_path = Path(mutate.scratch()) / "roundtrip.dc.npz"
    model.save(buffer_path)
    assert compressed_fingerprint(CompressedModel.load(buffer_path)) == compressed_fingerprint(model)


def inflate(rng: random.Random, data: bytes) -> bytes:
    """Re-seal the model with a layer declaring many more weights, or with its layers listed many times over:
    the per-layer limit and the budget of the whole model, at and around their values."""
    path = Path(mutate.scratch()) / "inflate.npz"
    path.write_bytes(data)
    arrays = read_members(path)
    meta = json.loads(arrays.pop("meta").tobytes())
    meta.pop(MEMBERS_KEY, None)
    meta.pop(DIGEST_KEY, None)
    layers = meta["layers"]
    index = rng.randrange(len(layers))
    if rng.random() < 0.5:
        target = rng.choice([1 << 20, 1 << 26, MAX_LAYER_WEIGHTS, MAX_LAYER_WEIGHTS + 1, 1 << 40])
        shape = layers[index]["shape"]
        shape[-1] = max(1, target // math.prod(shape[:-1]))
    else:
        copies = rng.choice([2, 3, 64, 512])
        layer = layers[index]
        layer["shape"] = [1, MAX_LAYER_WEIGHTS] if layer["kind"] == "linear" else [1, 1, 1, MAX_LAYER_WEIGHTS]
        owned = {name for name in arrays if re.fullmatch(rf"[a-z]+{index}(_\w+)?", name)}
        for copy in range(copies):
            number = len(layers)
            layers.append(dict(layer, name=f"{layer['name']}.{copy}"))
            arrays.update({name.replace(str(index), str(number), 1): arrays[name] for name in owned})
    return Path(save_npz(Path(mutate.scratch()) / "inflated.npz", meta, arrays)).read_bytes()


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


# Mutators ---------------------------------------------------------------------------------------

BYTE_MUTATORS = mutate.BYTE_MUTATORS
IDX_MUTATORS = [mutate.idx_header]


def targets() -> list[Target]:
    archive = [mutate.npz_member_bytes, mutate.npz_meta_field, mutate.npz_dtype, mutate.npz_drop_member,
               mutate.npz_recompress, mutate.npz_zip_directory]
    texts = [mutate.json_structure, specs.number_text, specs.number_text]
    return [
        Target("compressed model", compressed_seed, BYTE_MUTATORS + archive, CompressedModel.load,
               compressed_fingerprint, different_allowed=False, oracle=oracle_fingerprint),
        Target("layer file", layer_seed, BYTE_MUTATORS + archive, QuantizedLayer.load, layer_fingerprint,
               different_allowed=False),
        Target("architecture config", config_seed, BYTE_MUTATORS + texts, ArchConfig.load,
               lambda config: config.to_dict(), different_allowed=True, check=config_check),
        Target("energy table", energy_seed, BYTE_MUTATORS + texts, EnergyTable.load,
               energy_fingerprint, different_allowed=True, check=energy_check),
        Target("IDX folder", idx_seed, None, load_idx_dataset, dataset_fingerprint, different_allowed=True,
               check=dataset_check, mutate_path=idx_mutate_path),
        Target("npz data set", npz_dataset_seed, BYTE_MUTATORS + [mutate.npz_member_bytes, mutate.npz_dtype,
               mutate.npz_drop_member, mutate.npz_recompress, mutate.npz_zip_directory], load_npz_dataset,
               dataset_fingerprint, different_allowed=True, check=dataset_check),
        Target("input vector", input_seed, BYTE_MUTATORS + [mutate.npy_header], read_input,
               lambda values: values.tobytes(), different_allowed=True, check=input_check),
        Target("state_dict", state_dicts.state_dict_seed, BYTE_MUTATORS + [state_dicts.state_dict_structure] * 3,
               state_dicts.read_import, state_dicts.import_fingerprint, different_allowed=True,
               check=state_dicts.import_check),
        Target("state_dict into a model", state_dicts.state_dict_seed,
               BYTE_MUTATORS + [state_dicts.state_dict_structure] * 3, state_dicts.read_into_model,
               state_dicts.model_fingerprint, different_allowed=True, check=state_dicts.model_check),
        Target("sweep spec", specs.json_seed(specs.SPEC, "spec.json"), BYTE_MUTATORS + texts, specs.read_spec,
               specs.spec_fingerprint, different_allowed=True, check=specs.spec_check),
        Target("sweep spec, TOML", specs.toml_seed, BYTE_MUTATORS + [specs.number_text] * 5, specs.read_spec,
               specs.spec_fingerprint, different_allowed=True, check=specs.spec_check),
        Target("schedule", specs.json_seed(specs.SCHEDULE, "schedule.json"), BYTE_MUTATORS + texts, specs.read_schedule,
               specs.schedule_fingerprint, different_allowed=True, check=specs.schedule_check),
        Target("output folder (accel check)", folders.folder_seed, None, folders.read_folder, folders.folder_fingerprint,
               different_allowed=True, check=folders.folder_check, mutate_path=folders.folder_mutate_path),
        Target("layer file, re-sealed", layer_seed, [mutate.npz_resealed], QuantizedLayer.load, layer_fingerprint,
               different_allowed=True, check=layer_check),
        # One input in a hundred declares large layers (the slowest inputs: up to 2**27 weights decoded).
        Target("compressed model, re-sealed", compressed_seed, [mutate.npz_resealed] * 99 + [inflate],
               CompressedModel.load, compressed_fingerprint, different_allowed=True, check=compressed_check,
               oracle=oracle_fingerprint),
    ]
