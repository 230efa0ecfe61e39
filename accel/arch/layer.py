"""The compressed-layer format: what the compression pipeline hands to the accelerator.

A layer is a matrix of weight codes (``rows x cols``, code 0 = exact zero) into a codebook of
``2**code_bits`` float values whose entry 0 is 0.0, plus an optional bias and a ReLU flag.
Files are ``.npz`` archives read with ``allow_pickle=False`` and validated on load.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accel.arch.errors import UserError
from accel.arch.files import write_atomic

LAYER_FORMAT = "eie-layer"
LAYER_VERSION = 1


@dataclass
class QuantizedLayer:
    """One fully connected layer quantized for EIE: ``y = act(codebook[codes] @ x + bias)``."""

    codes: np.ndarray
    codebook: np.ndarray
    bias: np.ndarray | None = None
    relu: bool = True
    name: str = "layer"
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes)
        self.codebook = np.asarray(self.codebook, dtype=np.float64)
        if self.bias is not None:
            self.bias = np.asarray(self.bias, dtype=np.float64)
        self.validate()

    @property
    def rows(self) -> int:
        return int(self.codes.shape[0])

    @property
    def cols(self) -> int:
        return int(self.codes.shape[1])

    @property
    def nnz(self) -> int:
        return int(np.count_nonzero(self.codes))

    @property
    def density(self) -> float:
        return self.nnz / max(1, self.codes.size)

    def validate(self, code_bits: int | None = None) -> None:
        """Raise UserError naming what is wrong with this layer."""
        where = f"layer {self.name!r}"
        if self.codes.ndim != 2 or 0 in self.codes.shape:
            raise UserError(f"{where}: codes must be a non-empty 2-D matrix (outputs x inputs), got shape {self.codes.shape}")
        if not np.issubdtype(self.codes.dtype, np.integer):
            raise UserError(f"{where}: codes must be integers, got {self.codes.dtype}")
        if self.codebook.ndim != 1 or self.codebook.size < 2 or self.codebook.size & (self.codebook.size - 1):
            raise UserError(f"{where}: codebook must be a 1-D array whose length is a power of two, got shape {self.codebook.shape}")
        if not np.all(np.isfinite(self.codebook)):
            raise UserError(f"{where}: codebook holds NaN or infinity")
        if self.codebook[0] != 0.0:
            raise UserError(f"{where}: codebook entry 0 must be exactly 0.0 (it encodes pruned weights), got {self.codebook[0]}")
        size = self.codebook.size if code_bits is None else 1 << code_bits
        if self.codebook.size != size:
            raise UserError(f"{where}: the accelerator has {size}-entry codebooks, this layer has {self.codebook.size}; re-quantize with {size.bit_length() - 1} bits")
        low, high = int(self.codes.min()), int(self.codes.max())
        if low < 0 or high >= self.codebook.size:
            raise UserError(f"{where}: codes must lie in 0..{self.codebook.size - 1}, found {low}..{high}")
        if self.bias is not None and (self.bias.shape != (self.rows,) or not np.all(np.isfinite(self.bias))):
            raise UserError(f"{where}: bias must hold {self.rows} finite values, got shape {self.bias.shape}")

    def dense_weights(self) -> np.ndarray:
        """The float weight matrix the codes stand for."""
        return self.codebook[self.codes]

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Float reference: ``act(W @ x + b)``."""
        outputs = self.dense_weights() @ np.asarray(inputs, dtype=np.float64)
        if self.bias is not None:
            outputs = outputs + self.bias
        return np.maximum(outputs, 0.0) if self.relu else outputs

    # Files ----------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        meta = {"format": LAYER_FORMAT, "version": LAYER_VERSION, "name": self.name, "relu": self.relu, "notes": self.notes}
        arrays = {"codes": self.codes.astype(np.uint8 if self.codebook.size <= 256 else np.uint16), "codebook": self.codebook}
        if self.bias is not None:
            arrays["bias"] = self.bias

        def write(file: io.BufferedIOBase) -> None:
            np.savez_compressed(file, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)

        return write_atomic(path, write)

    @classmethod
    def load(cls, path: str | Path) -> "QuantizedLayer":
        arrays = load_npz(path, required=("meta", "codes", "codebook"))
        meta = read_meta(arrays["meta"], path, LAYER_FORMAT, LAYER_VERSION)
        try:
            return cls(codes=arrays["codes"], codebook=arrays["codebook"], bias=arrays.get("bias"),
                       relu=bool(meta.get("relu", True)), name=str(meta.get("name", Path(path).stem)),
                       notes=dict(meta.get("notes", {})))
        except UserError as error:
            raise UserError(f"{path}: {error}") from None


def load_npz(path: str | Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file without pickle; clear errors for missing or broken files."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist; check the path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise UserError(f"{path} is not a readable .npz file (truncated or corrupted?): {error}") from None
    missing = [name for name in required if name not in arrays]
    if missing:
        raise UserError(f"{path} lacks the arrays {missing}; was it written by this tool?")
    return arrays


def read_meta(raw: np.ndarray, path: str | Path, fmt: str, version: int) -> dict:
    """Decode and check the JSON metadata stored as a byte array in an ``.npz`` file."""
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{path}: its metadata is corrupted") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise UserError(f"{path} is not an {fmt} file (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != version:
        raise UserError(f"{path} has {fmt} version {meta.get('version')}, this tool reads version {version}; re-export it")
    return meta
