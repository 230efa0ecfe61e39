"""Where a command's layers come from: ``SOURCE`` arguments, and one seeded input vector for a layer.

A source is a layer file (``fc1.npz``), a compressed model (``model.dc.npz``), a torch state_dict
(``weights.pt``, its Linear layers quantized to 4 bits as ``models.export`` does) or a benchmark
layer name (synthetic weights). ``FILE:NAME`` picks one layer of a multi-layer file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from accel.arch.npz import read_input_vector
from accel.explore.workloads import load_layers as load_workload
from accel.explore.workloads import random_inputs

SOURCE_HELP = ("a layer .npz, a compressed model model.dc.npz[:NAME], a torch state_dict .pt[:NAME] "
               f"(quantized to 4 bits), or a benchmark layer ({', '.join(layer.name for layer in BENCHMARK_LAYERS)})")


def split_source(source: str) -> tuple[str, str | None]:
    """``FILE:NAME`` -> (FILE, NAME); a source without ``:NAME`` (or an existing path holding ':') -> (source, None)."""
    if Path(source).exists() or ":" not in source:
        return source, None
    path, name = source.rsplit(":", 1)
    return path, name or None


def load_layers(source: str, seed: int = 0, max_weights: int | None = None) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """The layers ``source`` names: all of its file, or with ``:NAME`` that one; and a benchmark's own inputs."""
    path, name = split_source(source)
    layers, inputs, _ = load_workload(path, seed, max_weights=max_weights)
    if name is None:
        return layers, inputs
    chosen = [layer for layer in layers if layer.name == name]
    if not chosen:
        raise UserError(f"{path} has no layer {name!r}; its layers: {', '.join(layer.name for layer in layers)}")
    return chosen, inputs


def load_one_layer(source: str, seed: int = 0, max_weights: int | None = None) -> tuple[QuantizedLayer, np.ndarray | None]:
    """The one layer ``source`` names; a multi-layer file needs ``:NAME`` and is refused, naming its layers."""
    layers, inputs = load_layers(source, seed, max_weights)
    if len(layers) > 1:
        path = split_source(source)[0]
        raise UserError(f"{path} holds {len(layers)} layers; pick one as {path}:NAME, NAME one of "
                        f"{', '.join(layer.name for layer in layers)}")
    return layers[0], inputs


def layer_inputs(layer: QuantizedLayer, own: np.ndarray | None, path: Path | None, density: float | None,
                 seed: int) -> np.ndarray:
    """The float input vector for ``layer``: ``path``, else a source's own inputs, else seeded random values."""
    if path is not None:
        return read_input_vector(path, layer.cols)
    if own is not None and density is None:
        return own
    density = 1.0 if density is None else density
    if not 0.0 <= density <= 1.0:
        raise UserError(f"--act-density must lie between 0 and 1, got {density}")
    return random_inputs(layer.cols, density, seed)
