"""Workloads by name: a benchmark layer (synthetic weights), a layer or compressed-model ``.npz``, or a state_dict.

Loaded layers are kept per process (the same workload recurs across the points of a sweep).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from accel.arch.benchmarks import benchmark_layer, synthetic_input_values, synthetic_layer
from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer, load_npz

FILE_SUFFIXES = (".npz", ".pt", ".pth")


def is_file_workload(source: str) -> bool:
    return source.endswith(FILE_SUFFIXES)


def load_layers(source: str, seed: int) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """Layers to simulate and, for a benchmark layer, its synthetic input vector (float)."""
    path = Path(source)
    if not path.exists():
        if is_file_workload(source):
            raise UserError(f"{source} does not exist; check the path")
        spec = benchmark_layer(source)
        return [synthetic_layer(spec, seed=seed)], synthetic_input_values(spec, seed)
    if path.suffix in (".pt", ".pth"):
        from models.export import layers_from_state_dict
        return layers_from_state_dict(path), None
    if npz_format(path) == "eie-layer":
        return [QuantizedLayer.load(path)], None
    from models.export import layers_from_compressed_file
    return layers_from_compressed_file(path), None


@functools.lru_cache(maxsize=4)
def cached_layers(source: str, seed: int, digest: str) -> tuple[list[QuantizedLayer], np.ndarray | None]:
    """``load_layers`` kept for the process; ``digest`` (a file's content hash) keys a changed file apart."""
    return load_layers(source, seed)


def random_inputs(length: int, density: float, seed: int) -> np.ndarray:
    """Float inputs in [0.05, 1), each non-zero with probability ``density`` (seeded)."""
    rng = np.random.default_rng([seed, 7])
    return rng.uniform(0.05, 1.0, length) * (rng.random(length) < density)


def npz_format(path: Path) -> str | None:
    arrays = load_npz(path, required=("meta",))
    try:
        return json.loads(arrays["meta"].tobytes().decode()).get("format")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise UserError(f"{path}: its metadata is corrupted") from None


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: the identity of a file workload or energy table in a cache key."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; check the path") from None
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror}); check the path") from None
