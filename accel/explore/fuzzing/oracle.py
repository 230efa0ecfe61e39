"""A second reader of the compressed model file, written from models/FORMAT.md alone: the campaign's oracle.

It shares no code with ``accel.models`` or ``accel.arch.npz`` (only the standard library and numpy's
dtypes and arithmetic), so a decoder that is wrong the same way when writing and reading cannot
hide from it. ``read_model(path)`` returns the model as plain data, or raises ``Refused`` naming
the rule of FORMAT.md the file breaks.

Every metadata field is declared once, in ``TOP_FIELDS`` or ``LAYER_FIELDS``: its JSON types, whether
it may be left out, and its rule. The decoded model carries every declared field, so a new field of
the format is one line there (and its arrays, if any, in ``layer_arrays``). The graph of version 3 is
checked by its own rules (FORMAT.md, "The graph"), the host operations it may call among the lists
written there.
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
VERSIONS = (2, 3)
GRAPH_ORIGINS = ("traced", "exported", "declared", "assumed")
GRAPH_OPS = ("input", "output", "linear", "lstm", "lstm_cell", "conv2d", "param", "function", "method")
MAX_NODES = 10_000
MAX_VALUE_DEPTH = 8
MAX_HOST_VALUES = 1 << 27
HOST_FUNCTIONS = frozenset({
    "getattr", "operator.add", "operator.floordiv", "operator.getitem", "operator.iadd", "operator.imul",
    "operator.matmul", "operator.mul", "operator.neg", "operator.pow", "operator.sub", "operator.truediv", "slice",
    "torch.abs", "torch.add", "torch.amax", "torch.bmm", "torch.cat", "torch.chunk", "torch.clamp",
    "torch.clamp_min", "torch.div", "torch.erf", "torch.exp", "torch.flatten", "torch.log_softmax", "torch.matmul",
    "torch.maximum", "torch.mean", "torch.minimum", "torch.mul", "torch.neg",
    "torch.nn.functional.adaptive_avg_pool1d", "torch.nn.functional.adaptive_avg_pool2d",
    "torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional.avg_pool1d", "torch.nn.functional.avg_pool2d",
    "torch.nn.functional.batch_norm", "torch.nn.functional.conv1d", "torch.nn.functional.conv2d",
    "torch.nn.functional.elu", "torch.nn.functional.gelu", "torch.nn.functional.hardtanh",
    "torch.nn.functional.layer_norm", "torch.nn.functional.leaky_relu", "torch.nn.functional.linear",
    "torch.nn.functional.log_softmax", "torch.nn.functional.max_pool1d", "torch.nn.functional.max_pool2d",
    "torch.nn.functional.normalize", "torch.nn.functional.pad", "torch.nn.functional.relu",
    "torch.nn.functional.relu6", "torch.nn.functional.scaled_dot_product_attention", "torch.nn.functional.silu",
    "torch.nn.functional.softmax", "torch.permute", "torch.pow", "torch.relu", "torch.relu_", "torch.reshape",
    "torch.rsqrt", "torch.sigmoid", "torch.softmax", "torch.split", "torch.sqrt", "torch.squeeze", "torch.stack",
    "torch.sub", "torch.sum", "torch.tanh", "torch.transpose", "torch.unsqueeze", "torch.where"
})
"""The functions a graph may call, as FORMAT.md lists them ("The graph")."""
HOST_METHODS = frozenset({
    "abs", "add", "add_", "amax", "chunk", "clamp", "clamp_", "clamp_min", "clamp_min_", "contiguous", "dim", "div",
    "exp", "expand", "expand_as", "flatten", "float", "log_softmax", "matmul", "mean", "mul", "mul_", "neg",
    "new_zeros", "permute", "pow", "relu", "relu_", "reshape", "reshape_as", "rsqrt", "select", "sigmoid", "size",
    "softmax", "split", "sqrt", "squeeze", "sub", "sum", "t", "tanh", "transpose", "unbind", "unflatten",
    "unsqueeze", "view", "view_as"
})
"""The tensor methods a graph may call, as FORMAT.md lists them."""
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


def _version(value: Any, _: dict) -> None:
    if value not in VERSIONS:
        raise Refused(f"must be one of {VERSIONS}, found {value!r}")


TOP_FIELDS = {
    "format": Field((str,), _equals(FORMAT)),
    "version": Field((int,), _version, storage=True),
    "network": Field((str, type(None)), optional=True),
    "layers": Field((list,)),
    "graph": Field((dict,), optional=True),
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
    if (top["graph"] is None) != (top["version"] == 2):
        raise Refused("a version 3 file has a graph and a version 2 file none")
    owned = set().union(*(layer_arrays(index, layer) for index, layer in enumerate(layers)))
    if top["graph"] is not None and not (isinstance(top["graph"], dict) and isinstance(top["graph"].get("params"), list)):
        raise Refused("the graph is not an object with a list of params")
    graph_arrays = {} if top["graph"] is None else {f"param{j}": name for j, name in enumerate(top["graph"]["params"])
                                                    if isinstance(name, str)}
    if set(arrays) != owned | set(graph_arrays):
        raise Refused(f"arrays {sorted(set(arrays) ^ (owned | set(graph_arrays)))} are not exactly those the layers and "
                      "the graph own")
    decoded = [_layer(index, layer, arrays) for index, layer in enumerate(layers)]
    graph = None if top["graph"] is None else _graph(top["graph"], layers, {name: arrays[key] for key, name in
                                                                             graph_arrays.items()})
    return {**{key: value for key, value in top.items() if key not in ("layers", "arrays", "sha256")}, "graph": graph,
            "layers": decoded}


# The graph --------------------------------------------------------------------------------------

def _graph(graph: dict, layers: list[dict], params: dict[str, np.ndarray]) -> tuple[str, tuple]:
    """The graph (FORMAT.md, "The graph") as canonical JSON without null shapes, and its host tensors."""
    if set(graph) != {"origin", "input_shape", "params", "nodes"}:
        raise Refused("the graph's keys are not origin, input_shape, params, nodes")
    shape, names, nodes = graph["input_shape"], graph["params"], graph["nodes"]
    if graph["origin"] not in GRAPH_ORIGINS:
        raise Refused(f"graph origin {graph['origin']!r}")
    if shape is not None and not (isinstance(shape, list) and all(type(v) is int and v >= 1 for v in shape)):
        raise Refused("graph input_shape")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or names != sorted(set(names)):
        raise Refused("graph params are not distinct names, sorted")
    for name, array in params.items():
        if array.dtype.str not in FLOAT or not np.isfinite(array).all():
            raise Refused(f"host tensor {name} is not finite float32/float64")
    if sum(array.size for array in params.values()) > MAX_HOST_VALUES:
        raise Refused("the host tensors hold more than 2^27 values")
    if not isinstance(nodes, list) or not 2 <= len(nodes) <= MAX_NODES:
        raise Refused("graph nodes are not a list of 2 to 10,000")
    kinds = {layer["name"]: layer["kind"] for layer in layers}
    relus = {layer["name"]: layer["relu"] for layer in layers}
    seen, used, gates = set(), set(), set()
    canonical = []
    for index, node in enumerate(nodes):
        canonical.append(_node(node, index, len(nodes), seen, kinds, relus, names, used, gates))
    if used != set(names):
        raise Refused("a stored host tensor is used by no node")
    if {name for name, kind in kinds.items() if kind == "linear"} - gates:
        raise Refused("a fully connected layer appears in no graph node")
    text = json.dumps({**graph, "nodes": canonical}, sort_keys=True, separators=(",", ":"))
    return text, tuple((name, params[name].astype(np.float64).tobytes(), params[name].shape) for name in names)


def _node(node: Any, index: int, count: int, seen: set, kinds: dict, relus: dict, params: list, used: set,
          gates: set) -> dict:
    keys = {"name", "op", "target", "args", "kwargs"}
    if not isinstance(node, dict) or not keys <= set(node) <= keys | {"shape"}:
        raise Refused(f"graph node {index} has other keys")
    name, op, target, args, kwargs = (node[key] for key in ("name", "op", "target", "args", "kwargs"))
    if not isinstance(name, str) or not name or name in seen or op not in GRAPH_OPS or not isinstance(target, str):
        raise Refused(f"graph node {index}: name, op or target")
    if (op == "input") != (index == 0) or (op == "output") != (index == count - 1):
        raise Refused("the graph does not start with its input and end with its output")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise Refused(f"graph node {name!r}: args or kwargs")
    _values([args, list(kwargs.values())], seen, 0)
    shape = node.get("shape")
    if shape is not None and not (isinstance(shape, list) and all(type(v) is int and v >= 0 for v in shape)):
        raise Refused(f"graph node {name!r}: shape")
    if op in ("input", "param") and (args or kwargs):
        raise Refused(f"graph node {name!r}: a {op} takes no arguments")
    if op in ("output", "linear", "conv2d") and len(args) != 1:
        raise Refused(f"graph node {name!r}: a {op} takes one argument")
    if op == "function" and target not in HOST_FUNCTIONS or op == "method" and target not in HOST_METHODS:
        raise Refused(f"graph node {name!r}: {target!r} is not a host operation")
    if op == "param":
        if target not in params:
            raise Refused(f"graph node {name!r}: host tensor {target!r} is not stored")
        used.add(target)
    if op in ("linear", "conv2d") and kinds.get(target) != op:
        raise Refused(f"graph node {name!r}: {target!r} is not a {op} layer")
    if op == "linear":
        if set(kwargs) - {"relu"} or type(kwargs.get("relu", False)) is not bool or kwargs.get("relu", False) != relus[target]:
            raise Refused(f"graph node {name!r}: relu differs from the layer's")
        gates.add(target)
    if op == "conv2d" and not set(kwargs) <= {"stride", "padding", "dilation", "groups"}:
        raise Refused(f"graph node {name!r}: conv2d keywords")
    if op in ("lstm", "lstm_cell"):
        layers = kwargs.get("layers")
        if (set(kwargs) != {"layers", "hidden_size", "batch_first"} or not isinstance(layers, list) or not layers
                or type(kwargs["hidden_size"]) is not int or kwargs["hidden_size"] < 1
                or type(kwargs["batch_first"]) is not bool or (op == "lstm_cell" and len(layers) != 1)
                or any(kinds.get(layer) != "linear" for layer in layers)):
            raise Refused(f"graph node {name!r}: {op} keywords")
        gates.update(layers)
    seen.add(name)
    return {key: value for key, value in node.items() if not (key == "shape" and value is None)}


def _values(value: Any, seen: set, depth: int) -> None:
    """The JSON values and tagged objects a graph may hold, naming only earlier nodes."""
    if depth > MAX_VALUE_DEPTH:
        raise Refused("graph arguments nested too deep")
    if value is None or type(value) in (bool, int, str):
        return
    if type(value) is float:
        if not math.isfinite(value):
            raise Refused("a graph argument is not finite")
        return
    if isinstance(value, list):
        for item in value:
            _values(item, seen, depth + 1)
        return
    if isinstance(value, dict) and len(value) == 1:
        (tag, content), = value.items()
        if tag == "node" and isinstance(content, str):
            if content not in seen:
                raise Refused(f"a graph node reads {content!r} before it is defined")
            return
        if tag == "tuple" and isinstance(content, list):
            for item in content:
                _values(item, seen, depth + 1)
            return
        if tag == "slice" and isinstance(content, list) and len(content) == 3 and all(
                item is None or type(item) is int for item in content):
            return
        if tag == "ellipsis" and content is True:
            return
    raise Refused("a graph argument is not a value a graph may hold")


def read_or_refusal(path: str | Path) -> dict | str:
    """The decoded model, or the refusal's reason as a string."""
    try:
        return read_model(path)
    except Refused as error:
        return f"refused: {error}"

