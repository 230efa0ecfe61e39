"""A second reader of the compressed model file, written from models/FORMAT.md alone: the campaign's oracle.

It shares no code with ``models`` or ``accel.arch.npz`` (only the standard library and numpy's
dtypes and arithmetic), so a decoder that is wrong the same way when writing and reading cannot
hide from it. ``read_model(path)`` returns the model as plain data, or raises ``Refused`` naming
the rule of FORMAT.md the file breaks.

Every metadata field is declared once, in ``TOP_FIELDS`` or ``LAYER_FIELDS``: its JSON types, whether
it may be left out, and its rule. The decoded model carries every declared field, so a new field of
the format is one line there (and its arrays, if any, in ``layer_arrays``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "deep-compression-model"
VERSION = 2
MAX_FILE_BYTES = 2 << 30
MAX_META_BYTES = 16 << 20
MAX_EXPANSION = 1100
MAX_LAYER_WEIGHTS = 1 << 27
MAX_MODEL_WEIGHTS = 1 << 28
MAX_CODE_LENGTH = 62
FLOAT = ("<f4", "<f8")
BYTE = ("|u1",)


class Refused(Exception):
    """The file breaks a rule of FORMAT.md (the message names it)."""


@dataclass(frozen=True)
class Field:
    """One metadata key: its JSON types, whether it may be left out (then None), and a rule on its value."""

    types: tuple[type, ...]
    rule: Callable[[Any, dict], None] | None = None
    optional: bool = False
    storage: bool = False
    """Describes how the file stores the model, not the model (two files of one model may differ in it)."""


def _equals(expected: Any) -> Callable[[Any, dict], None]:
    def rule(value: Any, _: dict) -> None:
        if value != expected:
            raise Refused(f"must be {expected!r}, found {value!r}")
    return rule


def _between(low: int, high: int) -> Callable[[Any, dict], None]:
    def rule(value: Any, _: dict) -> None:
        if not low <= value <= high:
            raise Refused(f"must lie in {low}..{high}, found {value}")
    return rule


def _kind(value: Any, _: dict) -> None:
    if value not in ("linear", "conv2d"):
        raise Refused(f"must be linear or conv2d, found {value!r}")


def _shape(value: Any, layer: dict) -> None:
    dims = {"linear": 2, "conv2d": 4}.get(layer.get("kind"))
    if len(value) != dims or any(type(v) is not int or v < 1 for v in value):
        raise Refused(f"must list {dims} integers >= 1 for kind {layer.get('kind')!r}, found {value}")
    if math.prod(value) > MAX_LAYER_WEIGHTS:
        raise Refused(f"{value} has more than 2^27 weights")


def _entries(value: Any, layer: dict) -> None:
    if not 0 <= value <= math.prod(layer["shape"]):
        raise Refused(f"must lie in 0..weights, found {value}")


TOP_FIELDS = {
    "format": Field((str,), _equals(FORMAT)),
    "version": Field((int,), _equals(VERSION)),
    "network": Field((str, type(None)), optional=True),
    "layers": Field((list,)),
    "arrays": Field((dict,), storage=True),
    "sha256": Field((str,), storage=True),
}
"""The top-level keys of ``meta`` (FORMAT.md, section "meta")."""
LAYER_FIELDS = {
    "name": Field((str,)),
    "module": Field((str,)),
    "module_type": Field((str,)),
    "kind": Field((str,), _kind),
    "shape": Field((list,), _shape),
    "bits": Field((int,), _between(1, 16)),
    "index_bits": Field((int,), _between(1, 16)),
    "relu": Field((bool,)),
    "entries": Field((int,), _entries, storage=True),
    "bias": Field((bool,)),
}
"""The keys of each layer entry, in an order where every rule finds the keys it reads already checked."""


def layer_arrays(index: int, layer: dict) -> dict[str, tuple[tuple[str, ...], tuple[int, ...] | None]]:
    """The arrays layer ``index`` owns: name -> (dtypes, shape or None for any 1-D length)."""
    arrays = {f"codebook{index}": (FLOAT, (1 << layer["bits"],)),
              f"weight{index}_lengths": (BYTE, (1 << layer["bits"],)), f"weight{index}_data": (BYTE, None),
              f"index{index}_lengths": (BYTE, (1 << layer["index_bits"],)), f"index{index}_data": (BYTE, None)}
    if layer["bias"]:
        arrays[f"bias{index}"] = (FLOAT, (layer["shape"][0],))
    return arrays


# Container ------------------------------------------------------------------------------------

def _strict_json(raw: bytes) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict:
        if len({key for key, _ in items}) != len(items):
            raise Refused("metadata has a duplicate key")
        return dict(items)

    def constant(name: str) -> None:
        raise Refused(f"metadata holds {name}")

    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Refused(f"metadata is not strict UTF-8 JSON ({type(error).__name__})") from None


def _npy(data: bytes, where: str) -> np.ndarray:
    """A numeric array from ``.npy`` bytes; its shape must account for every data byte."""
    if data[:6] != b"\x93NUMPY" or len(data) < 10:
        raise Refused(f"{where}: not an .npy array")
    major, minor = data[6], data[7]
    width = {1: 2, 2: 4}.get(major, 0)
    if not width or minor != 0 or len(data) < 8 + width:
        raise Refused(f"{where}: unknown .npy version {major}.{minor}")
    length = int.from_bytes(data[8:8 + width], "little")
    start = 8 + width + length
    try:
        header = ast.literal_eval(data[8 + width:start].decode("latin1"))
        if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
            raise ValueError("header keys")
        dtype = np.dtype(header["descr"]) if isinstance(header["descr"], str) else None
        shape, fortran = header["shape"], header["fortran_order"]
        if dtype is None or not isinstance(shape, tuple) or any(type(v) is not int or v < 0 for v in shape) \
                or type(fortran) is not bool:
            raise ValueError("header values")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, UnicodeDecodeError):
        raise Refused(f"{where}: corrupt .npy header") from None
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"{where}: dtype {dtype} is not numeric")
    if len(data) - start != math.prod(shape) * dtype.itemsize:
        raise Refused(f"{where}: shape {shape} does not match its {len(data) - start} data bytes")
    array = np.frombuffer(data, dtype=dtype, offset=start, count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran else "C")


def _members(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
        raise Refused("missing, or larger than 2 GiB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy") or info.filename[:-4] in members:
                    raise Refused(f"member {info.filename!r} is not a distinct .npy array")
                if info.file_size > MAX_EXPANSION * info.compress_size + 4096:
                    raise Refused(f"member {info.filename!r} declares more than 1100 times its compressed size + 4096")
                data = archive.read(info)
                if len(data) != info.file_size:
                    raise Refused(f"member {info.filename!r} holds {len(data)} bytes, its directory entry says {info.file_size}")
                members[info.filename[:-4]] = _npy(data, info.filename)
            return members
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of the zip layer is a refusal
        raise Refused(f"not a readable zip archive ({type(error).__name__})") from None


def _digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    hasher = hashlib.sha256()
    body = {key: value for key, value in meta.items() if key != "sha256"}
    hasher.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        header = json.dumps([name, array.dtype.str, list(array.shape), array.nbytes]).encode()
        hasher.update(len(header).to_bytes(8, "little") + header + array.tobytes())
    return hasher.hexdigest()


def _fields(data: Any, fields: dict[str, Field], where: str) -> dict:
    if not isinstance(data, dict):
        raise Refused(f"{where} is not an object")
    unknown = set(data) - set(fields)
    if unknown:
        raise Refused(f"{where} has unknown keys {sorted(unknown)}")
    values: dict = {}
    for key, field in fields.items():
        if key not in data:
            if not field.optional:
                raise Refused(f"{where} lacks {key!r}")
            values[key] = None
            continue
        if type(data[key]) not in field.types:
            raise Refused(f"{where}: {key!r} has JSON type {type(data[key]).__name__}")
        values[key] = data[key]
        if field.rule is not None:
            try:
                field.rule(data[key], values)
            except Refused as error:
                raise Refused(f"{where}: {key!r} {error}") from None
    return values


# Decoding -------------------------------------------------------------------------------------

def _kraft(lengths: np.ndarray) -> None:
    if lengths.max(initial=0) > MAX_CODE_LENGTH:
        raise Refused(f"a code length exceeds {MAX_CODE_LENGTH}")
    if sum(1 << (MAX_CODE_LENGTH - int(n)) for n in lengths if n) > 1 << MAX_CODE_LENGTH:
        raise Refused("code lengths break the Kraft inequality")


def _huffman(lengths: np.ndarray, data: np.ndarray, count: int) -> list[int]:
    """Exactly ``count`` symbols of the canonical code, then at most seven zero bits."""
    _kraft(lengths)
    if count == 0:
        if data.size:
            raise Refused("a stream of no symbols holds bits")
        return []
    ranked = sorted((int(n), symbol) for symbol, n in enumerate(lengths) if n)
    first: dict[int, tuple[int, int]] = {}  # length -> (first code, rank of its first symbol)
    code = previous = 0
    for position, (length, _) in enumerate(ranked):
        code = code << (length - previous) if position else 0
        if length not in first:
            first[length] = (code, position)
        code, previous = code + 1, length
    counts = {length: sum(1 for n, _ in ranked if n == length) for length in first}
    if count > 8 * data.size:
        raise Refused("more symbols than bits")
    bits = "".join(f"{byte:08b}" for byte in data.tolist())
    symbols, position = [], 0
    while len(symbols) < count:
        value = length = 0
        while True:
            if position >= len(bits) or length == MAX_CODE_LENGTH:
                raise Refused("a stream ends before its symbols")
            value, length, position = (value << 1) | (bits[position] == "1"), length + 1, position + 1
            if length in first and 0 <= value - first[length][0] < counts[length]:
                symbols.append(ranked[first[length][1] + value - first[length][0]][1])
                break
    if len(bits) - position > 7 or "1" in bits[position:]:
        raise Refused("bits are left after the symbols")
    return symbols


def _layer(index: int, layer: dict, arrays: dict[str, np.ndarray]) -> dict:
    owned = layer_arrays(index, layer)
    for name, (dtypes, shape) in owned.items():
        if name not in arrays:
            raise Refused(f"layer {index} lacks array {name}")
        array = arrays[name]
        if array.dtype.str not in dtypes or (array.shape != shape if shape else array.ndim != 1):
            raise Refused(f"array {name} is {array.dtype.str} {array.shape}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise Refused(f"array {name} holds NaN or infinity")
    codes = _huffman(arrays[f"weight{index}_lengths"], arrays[f"weight{index}_data"], layer["entries"])
    gaps = _huffman(arrays[f"index{index}_lengths"], arrays[f"index{index}_data"], layer["entries"])
    weights = math.prod(layer["shape"])
    flat = np.zeros(weights, dtype=np.int64)
    position = -1
    for code, gap in zip(codes, gaps):
        position += gap + 1
        if position >= weights:
            raise Refused(f"layer {index}: an entry lands outside its {weights} weights")
        flat[position] = code
    bias = arrays.get(f"bias{index}") if layer["bias"] else None
    return {**layer, "codes": flat.reshape(layer["shape"]), "codebook": arrays[f"codebook{index}"].astype(np.float64),
            "bias_values": None if bias is None else bias.astype(np.float64)}


def read_model(path: str | Path, max_weights: int = MAX_MODEL_WEIGHTS) -> dict:
    """The model of a compressed model file as plain data: the top-level fields and each layer's fields and arrays."""
    arrays = _members(Path(path))
    raw = arrays.pop("meta", None)
    if raw is None or raw.dtype.str != "|u1" or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise Refused("no meta member of 1-D uint8 JSON (at most 16 MiB)")
    meta = _strict_json(raw.tobytes())
    top = _fields(meta, TOP_FIELDS, "metadata")
    listed = top["arrays"]
    if set(listed) != set(arrays):
        raise Refused("the archive's arrays differ from the member list")
    for name, array in arrays.items():
        if listed[name] != {"dtype": array.dtype.str, "shape": list(array.shape)}:
            raise Refused(f"array {name} differs from its member list entry")
    if _digest(meta, arrays) != top["sha256"]:
        raise Refused("SHA-256 differs")
    layers = [_fields(entry, LAYER_FIELDS, f"layer {index}") for index, entry in enumerate(top["layers"])]
    if sum(math.prod(layer["shape"]) for layer in layers) > max_weights:
        raise Refused(f"the layers hold more than {max_weights} weights in all")
    owned = set().union(*(layer_arrays(index, layer) for index, layer in enumerate(layers)))
    if set(arrays) != owned:
        raise Refused(f"arrays {sorted(set(arrays) ^ owned)} are not exactly those the layers own")
    decoded = [_layer(index, layer, arrays) for index, layer in enumerate(layers)]
    return {**{key: value for key, value in top.items() if key not in ("layers", "arrays", "sha256")}, "layers": decoded}


def read_or_refusal(path: str | Path) -> dict | str:
    """The decoded model, or the refusal's reason as a string."""
    try:
        return read_model(path)
    except Refused as error:
        return f"refused: {error}"

