"""Where a command's layers come from: ``SOURCE`` arguments, and one seeded input vector for a layer.

A source is a layer file (``fc1.npz``), a compressed model (``model.dc.npz``), a torch state_dict
(``weights.pt``, its Linear layers quantized to 4 bits as ``models.export`` does) or a benchmark
layer name (synthetic weights). ``FILE:NAME`` picks one layer of a multi-layer file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from accel.arch.benchmarks import BENCHMARK_LAYERS, benchmark_layer, synthetic_input_values, synthetic_layer
from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer, load_npz

SOURCE_HELP = ("a layer .npz, a compressed model model.dc.npz[:NAME], a torch state_dict .pt[:NAME] "
               f"(quantized to 4 bits), or a benchmark layer ({', '.join(layer.name for layer in BENCHMARK_LAYERS)})")


def split_source(source: str) -> tuple[str, str | None]:
    """``FILE:NAME`` -> (FILE, NAME); a source without ``:NAME`` (or an existing path holding ':') -> (source, None)."""
    if Path(source).exists() or ":" not in source:
        return source, None
    path, name = source.rsplit(":", 1)
    return path, name or None


def load_source(source: str, seed: int = 0) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """Every layer of ``source`` (without ``:NAME``) and, for a benchmark layer, its synthetic float inputs."""
    path = Path(source)
    if not path.exists():
        if source.endswith((".npz", ".pt", ".pth")):
            raise UserError(f"{source} does not exist; check the path")
        spec = benchmark_layer(source)
        return [synthetic_layer(spec, seed=seed)], synthetic_input_values(spec, seed)
    if path.suffix in (".pt", ".pth"):
        from models.export import layers_from_state_dict
        return layers_from_state_dict(path), None
    if _npz_format(path) == "eie-layer":
        return [QuantizedLayer.load(path)], None
    from models.export import layers_from_compressed_file
    return layers_from_compressed_file(path), None


def load_layers(source: str, seed: int = 0) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """The layers ``source`` names: all of its file, or with ``:NAME`` that one; and a benchmark's own inputs."""
    path, name = split_source(source)
    layers, inputs = load_source(path, seed)
    if name is None:
        return layers, inputs
    chosen = [layer for layer in layers if layer.name == name]
    if not chosen:
        raise UserError(f"{path} has no layer {name!r}; its layers: {', '.join(layer.name for layer in layers)}")
    return chosen, inputs


def load_one_layer(source: str, seed: int = 0) -> tuple[QuantizedLayer, np.ndarray | None]:
    """The one layer ``source`` names; a multi-layer file needs ``:NAME`` and is refused, naming its layers."""
    layers, inputs = load_layers(source, seed)
    if len(layers) > 1:
        path = split_source(source)[0]
        raise UserError(f"{path} holds {len(layers)} layers; pick one as {path}:NAME, NAME one of "
                        f"{', '.join(layer.name for layer in layers)}")
    return layers[0], inputs


def random_inputs(length: int, seed: int, density: float = 1.0) -> np.ndarray:
    """A seeded float input vector in [0.05, 1), each value non-zero with probability ``density``."""
    if not 0.0 <= density <= 1.0:
        raise UserError(f"the input density must lie between 0 and 1, got {density}")
    rng = np.random.default_rng([seed, 7])
    return rng.uniform(0.05, 1.0, length) * (rng.random(length) < density)


def read_inputs(path: Path, length: int) -> np.ndarray:
    """A float input vector of ``length`` values from a ``.npy`` file."""
    try:
        values = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"input file {path} does not exist") from None
    except (ValueError, OSError) as error:
        raise UserError(f"input file {path} is not a .npy array: {error}") from None
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size != length:
        raise UserError(f"input file {path} holds {values.size} values; the layer takes {length}")
    if not np.all(np.isfinite(values)):
        raise UserError(f"input file {path} holds NaN or infinity")
    return values


def layer_inputs(layer: QuantizedLayer, own: np.ndarray | None, path: Path | None, density: float | None,
                 seed: int) -> np.ndarray:
    """The float input vector for ``layer``: ``path``, else a source's own inputs, else seeded random values."""
    if path is not None:
        return read_inputs(path, layer.cols)
    if own is not None and density is None:
        return own
    return random_inputs(layer.cols, seed, 1.0 if density is None else density)


def _npz_format(path: Path) -> str | None:
    arrays = load_npz(path, required=("meta",))
    try:
        return json.loads(arrays["meta"].tobytes().decode()).get("format")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise UserError(f"{path}: its metadata is corrupted") from None
