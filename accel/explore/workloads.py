"""Workloads by name: a benchmark layer (synthetic weights), a layer or compressed-model ``.npz``, or a state_dict.

Loaded layers are kept per process (the same workload recurs across the points of a sweep).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accel.arch.benchmarks import benchmark_layer, synthetic_input_values, synthetic_layer
from accel.arch.errors import UserError
from accel.arch.layer import LAYER_FORMAT, QuantizedLayer
from accel.arch.npz import file_format

if TYPE_CHECKING:
    from accel.models.export import ModelImport

FILE_SUFFIXES = (".npz", ".pt", ".pth")


def is_file_workload(source: str) -> bool:
    return source.endswith(FILE_SUFFIXES)


def load_layers(source: str, seed: int, prune: float | None = None, skip_unsupported: bool = False,
                activations: str | None = None, max_weights: int | None = None
                ) -> tuple[list[QuantizedLayer], np.ndarray | None, "ModelImport | None"]:
    """Layers to simulate, a benchmark layer's synthetic input vector, and a model's import record (with its graph).

    ``max_weights``: the budget of weights decoded from a compressed model (default ``MAX_MODEL_WEIGHTS``).
    """
    path = Path(source)
    if prune is not None and path.suffix not in (".pt", ".pth"):
        raise UserError("--prune applies to a torch state_dict (.pt); benchmark layers, layer files and compressed "
                        "models are already pruned: leave it out")
    if activations is not None and path.suffix not in (".pt", ".pth"):
        raise UserError("--activations declares a state_dict's activations (.pt); a compressed model records its own "
                        "graph, and benchmark layers and layer files carry their ReLU flag: leave it out")
    if not path.exists():
        if source.endswith((".npz", ".pt", ".pth")):
            raise UserError(f"{source} does not exist; check the path")
        spec = benchmark_layer(source)
        return [synthetic_layer(spec, seed=seed)], synthetic_input_values(spec, seed), None
    if path.is_dir():
        raise UserError(f"{source} is a folder; pass a layer .npz, compressed model .npz or state_dict .pt file")
    if path.suffix in (".pt", ".pth"):
        from accel.models.export import import_state_dict
        imported = import_state_dict(path, prune, skip_unsupported, seed=seed, activations=activations)
        return imported.layers, None, imported
    if file_format(path) == LAYER_FORMAT:
        return [QuantizedLayer.load(path)], None, None
    from accel.models.compressed_file import MAX_MODEL_WEIGHTS, CompressedModel
    from accel.models.export import import_compressed
    imported = import_compressed(CompressedModel.load(path, max_weights or MAX_MODEL_WEIGHTS), skip_unsupported)
    return imported.layers, None, imported


@functools.lru_cache(maxsize=4)
def cached_layers(source: str, seed: int, digest: str) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """``load_layers`` kept for the process; ``digest`` (a file's content hash) keys a changed file apart."""
    layers, inputs, _ = load_layers(source, seed)
    return layers, inputs


def random_inputs(length: int, density: float, seed: int) -> np.ndarray:
    """Float inputs in [0.05, 1), each non-zero with probability ``density`` (seeded)."""
    if not 0.0 <= density <= 1.0:  # also refuses NaN
        raise UserError(f"the input density must be a number from 0 to 1, got {density}")
    rng = np.random.default_rng([seed, 7])
    return rng.uniform(0.05, 1.0, length) * (rng.random(length) < density)
