"""The compressed-layer format: what the compression pipeline hands to the accelerator.

A layer is a matrix of weight codes (``rows x cols``, code 0 = exact zero) into a codebook of
``2**code_bits`` float values whose entry 0 is 0.0, plus an optional bias and a ReLU flag.
Files are ``.npz`` archives read with ``allow_pickle=False`` and validated on load. A layer's codes
are a read-only copy, so its list of non-zeros (``sparse_codes``) is found once and never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accel.arch.errors import UserError
from accel.arch.npz import DIGEST_KEY, FLOAT_DTYPES, MEMBERS_KEY, Schema, check_array, load_npz, save_npz

LAYER_FORMAT = "eie-layer"
LAYER_VERSION = 2


@dataclass(frozen=True)
class SparseCodes:
    """A layer's non-zero codes row by row (CSR): row ``i``'s are ``row_begin[i] .. row_begin[i + 1] - 1``."""

    row_begin: np.ndarray
    """``rows + 1`` offsets into ``columns`` and ``codes``."""
    columns: np.ndarray
    """Each non-zero's column (int32), rising within a row."""
    codes: np.ndarray
    """Each non-zero's code."""


@dataclass
class QuantizedLayer:
    """One fully connected layer quantized for EIE: ``y = act(codebook[codes] @ x + bias)``."""

    codes: np.ndarray
    codebook: np.ndarray
    bias: np.ndarray | None = None
    relu: bool = True
    name: str = "layer"
    notes: dict[str, str] = field(default_factory=dict)
    _sparse: SparseCodes | None = field(default=None, init=False, repr=False, compare=False)
    _code_range: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.codes = np.array(self.codes)
        self.codes.flags.writeable = False
        self.codebook = _real_values(self.codebook, f"layer {self.name!r}: codebook")
        if self.bias is not None:
            self.bias = _real_values(self.bias, f"layer {self.name!r}: bias")
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
        if self._code_range is None:  # the codes are read-only: one scan serves every later check
            self._code_range = int(self.codes.min()), int(self.codes.max())
        low, high = self._code_range
        if low < 0 or high >= self.codebook.size:
            raise UserError(f"{where}: codes must lie in 0..{self.codebook.size - 1}, found {low}..{high}")
        if self.bias is not None and (self.bias.shape != (self.rows,) or not np.all(np.isfinite(self.bias))):
            raise UserError(f"{where}: bias must hold {self.rows} finite values, got shape {self.bias.shape}")

    def sparse_codes(self) -> SparseCodes:
        """The non-zero codes row by row, found on the first call."""
        if self._sparse is None:
            flat = np.flatnonzero(self.codes)
            self._sparse = SparseCodes(row_begin=np.concatenate([[0], np.cumsum(np.count_nonzero(self.codes, axis=1))]),
                                       columns=(flat % self.cols).astype(np.int32), codes=self.codes.ravel()[flat])
        return self._sparse

    @classmethod
    def from_sparse(cls, sparse: SparseCodes, cols: int, codebook: np.ndarray, relu: bool = True, name: str = "layer",
                    notes: dict[str, str] | None = None) -> "QuantizedLayer":
        """A layer from its non-zero codes row by row (``sparse_codes``), which it keeps."""
        rows = sparse.row_begin.size - 1
        codes = np.zeros(rows * cols, dtype=sparse.codes.dtype)
        codes[np.repeat(np.arange(rows, dtype=np.int64) * cols, np.diff(sparse.row_begin)) + sparse.columns] = sparse.codes
        layer = cls(codes=codes.reshape(rows, cols), codebook=codebook, relu=relu, name=name, notes=dict(notes or {}))
        layer._sparse = sparse
        return layer

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
        """Write the layer as an ``eie-layer`` version 2 archive (integrity-checked, see models/FORMAT.md)."""
        meta = {"format": LAYER_FORMAT, "version": LAYER_VERSION, "name": self.name, "relu": bool(self.relu),
                "notes": {str(key): str(value) for key, value in self.notes.items()}}
        arrays = {"codes": self.codes.astype(np.uint8 if self.codebook.size <= 256 else np.uint16), "codebook": self.codebook}
        if self.bias is not None:
            arrays["bias"] = self.bias
        return save_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | Path) -> "QuantizedLayer":
        meta, arrays = load_npz(path, LAYER_FORMAT, LAYER_VERSION, older=_older_layer)
        where = f"{path}: metadata"
        schema = Schema(meta, where).only("format", "version", "name", "relu", "notes", MEMBERS_KEY, DIGEST_KEY)
        notes = Schema(schema.get("notes", dict), f"{where} notes").data
        if any(type(value) is not str for value in notes.values()):
            raise UserError(f"{where}: notes must map names to strings")
        unlisted = sorted(set(arrays) - {"codes", "codebook", "bias"})
        if unlisted or not {"codes", "codebook"} <= set(arrays):
            raise UserError(f"{path}: an eie-layer file holds codes, codebook and optionally bias, found {sorted(arrays)}")
        codes = check_array(str(path), "codes", arrays["codes"], ("|u1", "<u2"), None, ndim=2)
        codebook = check_array(str(path), "codebook", arrays["codebook"], FLOAT_DTYPES, None, ndim=1)
        bias = arrays.get("bias")
        if bias is not None:
            bias = check_array(str(path), "bias", bias, FLOAT_DTYPES, (codes.shape[0],))
        try:
            return cls(codes=codes, codebook=codebook, bias=bias, relu=schema.get("relu", bool),
                       name=schema.get("name", str), notes=dict(notes))
        except UserError as error:
            raise UserError(f"{path}: {error}") from None


def _real_values(values: object, what: str) -> np.ndarray:
    """Real numbers as float64; booleans, strings, complex numbers and dates are refused, not converted."""
    array = np.asarray(values)
    if array.dtype.kind not in "fiu":
        raise UserError(f"{what} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _older_layer(version: int) -> str:
    return (f"eie-layer version {version} files are no longer read: their metadata and member list were covered by "
            "no integrity check, so a damaged file could load as a different layer; re-export the layer "
            "(accel compress, or QuantizedLayer.save)")
