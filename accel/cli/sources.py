"""Where a command's layers come from: ``SOURCE`` arguments, and one seeded input vector for a layer.

A source is a layer file (``fc1.npz``), a compressed model (``model.dc.npz``), a torch state_dict
(``weights.pt``, its Linear layers quantized to 4 bits as ``accel.models.export`` does) or a benchmark
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


def load_layers(source: str, seed: int = 0, activations: str | None = None, max_weights: int | None = None,
                chain: bool = False) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """The layers ``source`` names: all of its file, or with ``:NAME`` that one; and a benchmark's own inputs.

    With ``chain`` a model's layers must run one after the other with nothing on the host between them.
    """
    path, name = split_source(source)
    layers, inputs, imported = load_workload(path, seed, activations=activations, max_weights=max_weights)
    if name is None:
        if chain and imported is not None:
            imported.graph.check_chain(f"{path} ")
        return layers, inputs
    chosen = [layer for layer in layers if layer.name == name]
    if not chosen:
        raise UserError(f"{path} has no layer {name!r}; its layers: {', '.join(layer.name for layer in layers)}")
    return chosen, inputs


def load_one_layer(source: str, seed: int = 0, activations: str | None = None, max_weights: int | None = None
                   ) -> tuple[QuantizedLayer, np.ndarray | None]:
    """The one layer ``source`` names; a multi-layer file needs ``:NAME`` and is refused, naming its layers."""
    layers, inputs = load_layers(source, seed, activations, max_weights)
    if len(layers) > 1:
        path = split_source(source)[0]
        raise UserError(f"{path} holds {len(layers)} layers; pick one as {path}:NAME, NAME one of "
                        f"{', '.join(layer.name for layer in layers)}")
    return layers[0], inputs


def model_input(shape: list[int] | None, path: Path | None, density: float | None, seed: int) -> tuple[object, str]:
    """One input of a model (a tensor of its input shape) from ``path``, else seeded random values; and its description."""
    import torch

    from accel.arch.npz import read_npy

    if path is None:
        if shape is None:
            raise UserError("the model does not record its input shape; pass --input x.npy or --data DIR")
        values = layer_input_values(int(np.prod(shape)), density, seed).reshape(shape)
        return torch.from_numpy(values).float(), "synthetic (seeded random values in [0.05, 1))"
    values = read_npy(path)
    if values.dtype.kind not in "iuf" or values.size == 0 or not np.all(np.isfinite(values)):
        raise UserError(f"input file {path} must hold finite real numbers; save one with numpy.save(path, array)")
    if shape is not None:
        if values.size != int(np.prod(shape)):
            raise UserError(f"input file {path} holds {values.size} values; the model takes {int(np.prod(shape))} "
                            f"(shape {'x'.join(map(str, shape))})")
        values = values.reshape(shape)
    return torch.from_numpy(values.astype(np.float32)), str(path)


def shaped_samples(data, split: str, limit: int, shape: list[int] | None, source: Path) -> tuple[object, object]:
    """The first ``limit`` images (``split`` "test" or "train") and labels of a loaded data set (from ``source``),
    shaped as the model's input."""
    images, labels = getattr(data, f"{split}_images")[:limit], getattr(data, f"{split}_labels")[:limit]
    if shape is not None:
        size = int(np.prod(shape))
        if images[0].numel() != size:
            raise UserError(f"{source}: {split} samples hold {images[0].numel()} values ({'x'.join(map(str, images.shape[1:]))}); "
                            f"the model takes {size} ({'x'.join(map(str, shape))}): pass the model's data set")
        images = images.reshape(len(images), *shape)
    return images, labels


def layer_input_values(length: int, density: float | None, seed: int) -> np.ndarray:
    """Seeded random inputs in [0.05, 1), each non-zero with probability ``density`` (default 1)."""
    density = 1.0 if density is None else density
    if not 0.0 <= density <= 1.0:
        raise UserError(f"--act-density must lie between 0 and 1, got {density}")
    return random_inputs(length, density, seed)


def layer_inputs(layer: QuantizedLayer, own: np.ndarray | None, path: Path | None, density: float | None,
                 seed: int) -> np.ndarray:
    """The float input vector for ``layer``: ``path``, else a source's own inputs, else seeded random values."""
    if path is not None:
        return read_input_vector(path, layer.cols)
    if own is not None and density is None:
        return own
    return layer_input_values(layer.cols, density, seed)
