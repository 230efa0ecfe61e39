"""A model's dataflow graph: which layer feeds which, the activation fused into each, the host operations between.

Nodes are in topological order; each names its inputs by node name. Operations:

- ``input``: the model's input (a batch of samples); ``output``: its result (``args[0]``).
- ``linear``: an EIE layer (``target`` = the layer's name) on the last dimension of its input; a ReLU
  that follows it is fused into the layer (``kwargs["relu"]``, the layer's flag) as EIE's PE applies it
  at write-back.
- ``lstm`` / ``lstm_cell``: a recurrent layer whose stacked gate matrix ``[W_ih W_hh]`` runs on EIE at
  every time step (``kwargs["layers"]``, one EIE layer per stacked layer); the gates' sigmoid and tanh
  and the cell update run on the host (``accel.models.recurrent``).
- ``conv2d``: a compressed convolution (``target`` = its layer), run on the host in float.
- ``param``: a tensor the host holds (a LayerNorm's weight, a learned embedding), stored with the graph.
- ``function`` / ``method``: a host operation from ``accel.models.host_ops`` (nothing else can be called).

Values in ``args``/``kwargs`` are JSON: numbers, strings, booleans, null, lists, and the tagged
objects ``{"node": NAME}``, ``{"tuple": [...]}``, ``{"slice": [start, stop, step]}``, ``{"ellipsis": true}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from accel.arch.errors import UserError
from accel.models import host_ops
from accel.models.recurrent import run_lstm, run_lstm_cell

ORIGINS = ("traced", "exported", "declared", "assumed")
OPS = ("input", "output", "linear", "lstm", "lstm_cell", "conv2d", "param", "function", "method")
EIE_OPS = ("linear", "lstm", "lstm_cell")
RESHAPES = frozenset({"torch.flatten", "torch.reshape", "view", "reshape", "flatten", "size", "getattr",
                      "operator.getitem", "contiguous", "squeeze"})
"""Host operations that only reshape the input: a chain of EIE layers may start after them."""
DECLARE_HINT = ("or declare the activation after each Linear layer instead (\"activations\": [\"relu\", ..., \"none\"] "
                "in the schedule, --activations for a state_dict)")
"""The way out for a forward that cannot be traced: declare it a chain."""
MAX_NODES = 10_000
MAX_VALUE_DEPTH = 8
CONV_KWARGS = ("stride", "padding", "dilation", "groups")

LinearFn = Callable[[str, torch.Tensor], torch.Tensor]
"""``linear(layer_name, x)``: the EIE layer applied to the last dimension of ``x`` (ReLU included when fused)."""


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    target: str = ""
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    shape: list[int] | None = None
    """The node's output shape for one sample (batch of 1), from an example run; None if not a tensor."""

    def inputs(self) -> list[str]:
        """Names of the nodes this one reads."""
        return list(_references([self.args, self.kwargs]))

    def to_json(self) -> dict:
        data = {"name": self.name, "op": self.op, "target": self.target, "args": self.args, "kwargs": self.kwargs}
        return data if self.shape is None else {**data, "shape": self.shape}

    def eie_layers(self) -> list[str]:
        """The EIE layers this node runs."""
        if self.op == "linear":
            return [self.target]
        return list(self.kwargs["layers"]) if self.op in ("lstm", "lstm_cell") else []


@dataclass
class ModelGraph:
    """The nodes, the host tensors they use, and how the graph was obtained."""

    nodes: list[Node]
    params: dict[str, np.ndarray] = field(default_factory=dict)
    input_shape: list[int] | None = None
    """One sample's shape (without the batch dimension), when known."""
    origin: str = "traced"
    """``traced`` (read from the model's forward by torch.fx), ``exported`` (by running it, torch.export),
    ``declared`` (a chain given by the user) or ``assumed``."""

    def eie_layers(self) -> list[str]:
        """Every EIE layer, in the order the graph first runs it."""
        names: list[str] = []
        for node in self.nodes:
            names += [name for name in node.eie_layers() if name not in names]
        return names

    def check_chain(self, label: str = "") -> None:
        """Refuse a graph that is not input -> reshapes -> EIE layers one after the other -> output."""
        previous = None
        for node in self.nodes[1:-1]:
            if node.op == "linear" and (previous is None or node.args == [{"node": previous}]):
                previous = node.name
            elif previous is not None or node.op in EIE_OPS or node.target not in RESHAPES:
                raise UserError(f"the model {label}runs {_describe(node)} on the host between or around its EIE layers; "
                                "a chain of layers is needed here: run the whole model with `accel simulate`, or "
                                "pick one layer as FILE:NAME")
        if previous is None or self.nodes[-1].args != [{"node": previous}]:
            raise UserError(f"the model {label}does not end with its last EIE layer; pick one layer as FILE:NAME")

    def to_json(self) -> dict:
        return {"origin": self.origin, "input_shape": self.input_shape, "params": sorted(self.params),
                "nodes": [node.to_json() for node in self.nodes]}

    def partition(self) -> list[dict]:
        """Each operation with where it runs (EIE or host), in order: the partition of the model.

        ``shape`` is the output's shape for one sample, or None where the output is not a tensor (a size,
        a tuple): those host operations only carry shapes and tuples between the others."""
        rows = []
        for node in self.nodes:
            if node.op in ("input", "output", "param"):
                continue
            rows.append({"node": node.name, "runs_on": "EIE" if node.op in EIE_OPS else "host",
                         "operation": _describe(node), "shape": node.shape})
        return rows

    @classmethod
    def from_json(cls, data: object, params: Mapping[str, np.ndarray], layers: Mapping[str, str], where: str
                  ) -> "ModelGraph":
        """A graph read from a file, every field checked; ``layers`` maps the file's layer names to their kinds."""
        if not isinstance(data, dict) or set(data) != {"origin", "input_shape", "params", "nodes"}:
            raise UserError(f"{where}: the graph must be an object with keys origin, input_shape, params, nodes")
        origin, shape, names, entries = data["origin"], data["input_shape"], data["params"], data["nodes"]
        if origin not in ORIGINS:
            raise UserError(f"{where}: graph origin must be one of {', '.join(ORIGINS)}, found {origin!r}")
        if shape is not None and not _is_shape(shape):
            raise UserError(f"{where}: graph input_shape must be a list of positive integers or null, found {shape!r}")
        if not isinstance(names, list) or sorted(set(names)) != names or set(names) != set(params):
            raise UserError(f"{where}: graph params {names!r} must list the host tensors stored with it, sorted")
        if not isinstance(entries, list) or not 2 <= len(entries) <= MAX_NODES:
            raise UserError(f"{where}: graph nodes must be a list of 2 to {MAX_NODES} nodes")
        nodes = [_read_node(entry, index, where) for index, entry in enumerate(entries)]
        graph = cls(nodes, {name: np.asarray(params[name]) for name in names}, shape, origin)
        graph.validate(layers, where)
        return graph

    def validate(self, layers: Mapping[str, str], where: str) -> None:
        """Refuse a graph whose nodes do not form a program over these layers and tensors."""
        seen: set[str] = set()
        used_params: set[str] = set()
        for index, node in enumerate(self.nodes):
            place = f"{where}: graph node {node.name!r}"
            if node.name in seen:
                raise UserError(f"{place} is defined twice")
            if (node.op == "input") != (index == 0) or (node.op == "output") != (index == len(self.nodes) - 1):
                raise UserError(f"{place}: a graph starts with its one input node and ends with its one output node")
            missing = [name for name in node.inputs() if name not in seen]
            if missing:
                raise UserError(f"{place} reads {missing}, which no earlier node defines")
            _check_target(node, layers, self.params, place)
            if node.op == "param":
                used_params.add(node.target)
            seen.add(node.name)
        if used_params != set(self.params):
            raise UserError(f"{where}: graph params {sorted(set(self.params) - used_params)} are stored but never used")
        missing_layers = sorted(name for name, kind in layers.items() if kind == "linear" and name not in self.eie_layers())
        if missing_layers:
            raise UserError(f"{where}: fully connected layers {missing_layers} appear in no graph node")


def run_graph(graph: ModelGraph, inputs: torch.Tensor, tensors: Mapping[str, torch.Tensor], linear: LinearFn,
              values: dict[str, object] | None = None) -> torch.Tensor:
    """Run the graph on a batch: host operations in torch, EIE layers through ``linear``.

    ``tensors`` holds the host tensors by name and each compressed convolution's ``LAYER.weight`` and
    ``LAYER.bias``; ``values``, when given, receives every node's value.
    """
    values = {} if values is None else values
    for node in graph.nodes:
        args = [_evaluate(value, values) for value in node.args]
        kwargs = {key: _evaluate(value, values) for key, value in node.kwargs.items()}
        if node.op == "output":
            return args[0]
        try:
            values[node.name] = _run_node(node, args, kwargs, inputs, tensors, linear)
        except UserError:
            raise
        except (RuntimeError, TypeError, ValueError, IndexError, KeyError, AttributeError, MemoryError) as error:
            reason = (str(error).strip().splitlines() or [""])[0][:120]
            raise UserError(f"graph node {node.name!r} ({node.op} {node.target}) failed ({type(error).__name__}: {reason}): "
                            "the input is not shaped as the model's input, or the file's graph is damaged; "
                            "recompress the model") from None
    raise UserError("the graph has no output node")


def _run_node(node: Node, args: list, kwargs: dict, inputs: torch.Tensor, tensors: Mapping[str, torch.Tensor],
              linear: LinearFn) -> object:
    if node.op == "input":
        return inputs
    if node.op == "param":
        return tensors[node.target]
    if node.op == "linear":
        return linear(node.target, args[0])
    if node.op == "conv2d":
        return F.conv2d(args[0], tensors[f"{node.target}.weight"], tensors.get(f"{node.target}.bias"), **kwargs)
    if node.op == "lstm":
        gates = [_bound(linear, name) for name in kwargs["layers"]]
        return run_lstm(args[0], args[1] if len(args) > 1 else None, gates, kwargs["hidden_size"], kwargs["batch_first"])
    if node.op == "lstm_cell":
        return run_lstm_cell(args[0], args[1] if len(args) > 1 else None, _bound(linear, kwargs["layers"][0]),
                             kwargs["hidden_size"])
    return host_ops.call(node.op, node.target, args, kwargs)


def record_shapes(graph: ModelGraph, values: Mapping[str, object]) -> ModelGraph:
    """The graph with each node's output shape from the values of a run on one sample."""
    nodes = []
    for node in graph.nodes:
        value = values.get(node.name)
        shape = list(value.shape) if isinstance(value, torch.Tensor) else None
        nodes.append(Node(node.name, node.op, node.target, node.args, node.kwargs, shape))
    return ModelGraph(nodes, graph.params, graph.input_shape, graph.origin)


def chain_graph(layers: list[str], activations: list[str], origin: str, input_shape: list[int] | None = None
                ) -> ModelGraph:
    """Linear layers one after the other on the flattened input, each followed by its activation.

    ``relu`` is fused into its layer (the caller sets the layer's flag); other activations run on the host.
    """
    nodes = [Node("input", "input"), Node("flatten", "function", "torch.flatten", [{"node": "input"}, 1])]
    previous = "flatten"
    for layer, activation in zip(layers, activations, strict=True):
        nodes.append(Node(layer, "linear", layer, [{"node": previous}], {"relu": activation == "relu"}))
        previous = layer
        if activation not in ("relu", "none"):
            nodes.append(Node(f"{layer}.{activation}", "function", ACTIVATIONS[activation], [{"node": previous}]))
            previous = f"{layer}.{activation}"
    nodes.append(Node("output", "output", "", [{"node": previous}]))
    return ModelGraph(nodes, {}, input_shape, origin)


ACTIVATIONS = {"relu": "torch.relu", "gelu": "torch.nn.functional.gelu", "tanh": "torch.tanh",
               "sigmoid": "torch.sigmoid", "silu": "torch.nn.functional.silu", "none": ""}
"""Activations a declared chain may name after each Linear layer (ReLU is fused into the EIE layer)."""


# Values ---------------------------------------------------------------------------------------------

def _references(value: object):
    if isinstance(value, dict):
        if set(value) == {"node"}:
            yield value["node"]
            return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _evaluate(value: object, values: Mapping[str, object]) -> object:
    if isinstance(value, list):
        return [_evaluate(item, values) for item in value]
    if not isinstance(value, dict):
        return value
    (tag, content), = value.items()
    if tag == "node":
        return values[content]
    if tag == "tuple":
        return tuple(_evaluate(item, values) for item in content)
    if tag == "slice":
        return slice(*content)
    return Ellipsis


def _check_value(value: object, place: str, depth: int = 0) -> None:
    """Refuse anything but the JSON values and tagged objects a graph may hold."""
    if depth > MAX_VALUE_DEPTH:
        raise UserError(f"{place}: arguments nested deeper than {MAX_VALUE_DEPTH} levels")
    if value is None or type(value) in (bool, int, str):
        return
    if type(value) is float:
        if not math.isfinite(value):
            raise UserError(f"{place}: arguments must be finite numbers")
        return
    if isinstance(value, list):
        for item in value:
            _check_value(item, place, depth + 1)
        return
    if isinstance(value, dict) and len(value) == 1:
        (tag, content), = value.items()
        if tag == "node" and isinstance(content, str):
            return
        if tag == "tuple" and isinstance(content, list):
            for item in content:
                _check_value(item, place, depth + 1)
            return
        if tag == "slice" and isinstance(content, list) and len(content) == 3 and all(
                item is None or type(item) is int for item in content):
            return
        if tag == "ellipsis" and content is True:
            return
    raise UserError(f"{place}: argument {str(value)[:60]} is not a value a graph may hold")


def _read_node(entry: object, index: int, where: str) -> Node:
    place = f"{where}: graph node {index}"
    keys = {"name", "op", "target", "args", "kwargs"}
    if not isinstance(entry, dict) or not keys <= set(entry) <= keys | {"shape"}:
        raise UserError(f"{place} must be an object with keys name, op, target, args, kwargs (and optional shape)")
    name, op, target, args, kwargs = (entry[key] for key in ("name", "op", "target", "args", "kwargs"))
    if not isinstance(name, str) or not name or op not in OPS or not isinstance(target, str):
        raise UserError(f"{place}: name must be a non-empty string, op one of {', '.join(OPS)}, target a string")
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise UserError(f"{place}: args must be a list and kwargs an object")
    _check_value([args, list(kwargs.values())], place)
    shape = entry.get("shape")
    if shape is not None and not (isinstance(shape, list) and all(type(v) is int and v >= 0 for v in shape)):
        raise UserError(f"{place}: shape must be a list of whole numbers or null")
    return Node(name, op, target, args, kwargs, shape)


def _check_target(node: Node, layers: Mapping[str, str], params: Mapping[str, np.ndarray], place: str) -> None:
    """The node's target exists and is of the right kind; its fixed arguments are well formed."""
    if node.op == "function" and node.target not in host_ops.FUNCTIONS:
        raise UserError(f"{place}: function {node.target!r} is not a host operation this tool runs")
    if node.op == "method" and node.target not in host_ops.METHODS:
        raise UserError(f"{place}: method {node.target!r} is not a host operation this tool runs")
    if node.op == "param" and node.target not in params:
        raise UserError(f"{place}: host tensor {node.target!r} is not stored with the graph")
    if node.op in ("linear", "conv2d") and layers.get(node.target) != node.op:
        kind = "fully connected" if node.op == "linear" else "convolution"
        raise UserError(f"{place}: {node.target!r} is not a {kind} layer of the file")
    if node.op == "linear" and (set(node.kwargs) - {"relu"} or type(node.kwargs.get("relu", False)) is not bool):
        raise UserError(f"{place}: a linear node takes only the boolean relu")
    if node.op == "conv2d" and not set(node.kwargs) <= set(CONV_KWARGS):
        raise UserError(f"{place}: conv2d takes only {', '.join(CONV_KWARGS)}")
    if node.op in ("lstm", "lstm_cell"):
        spec = node.kwargs
        gates = spec.get("layers")
        if (set(spec) != {"layers", "hidden_size", "batch_first"} or not isinstance(gates, list) or not gates
                or type(spec["hidden_size"]) is not int or spec["hidden_size"] < 1 or type(spec["batch_first"]) is not bool
                or (node.op == "lstm_cell" and len(gates) != 1)):
            raise UserError(f"{place}: {node.op} needs layers (a list of EIE layers), hidden_size and batch_first")
        for gate in gates:
            if layers.get(gate) != "linear":
                raise UserError(f"{place}: gate layer {gate!r} is not a fully connected layer of the file")
    if node.op in ("input", "param") and (node.args or node.kwargs):
        raise UserError(f"{place}: a {node.op} node takes no arguments")
    if node.op in ("output", "linear", "conv2d") and len(node.args) != 1:
        raise UserError(f"{place}: a {node.op} node takes exactly one argument")


def _is_shape(value: object) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 1 for v in value)


def _bound(linear: LinearFn, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: linear(name, x)


def _describe(node: Node) -> str:
    """One node in words, for the partition table."""
    if node.op == "linear":
        return f"{node.target}{' + ReLU (fused)' if node.kwargs.get('relu') else ''}"
    if node.op in ("lstm", "lstm_cell"):
        gates = ", ".join(node.kwargs["layers"])
        return (f"{node.op.replace('_', ' ').upper().replace('CELL', 'cell')} {node.target}: gates [W_ih W_hh] "
                f"({gates}) on EIE each step; sigmoid, tanh and cell update on the host")
    if node.op == "conv2d":
        return f"conv2d {node.target} (float)"
    return node.target.rpartition(".")[2]
