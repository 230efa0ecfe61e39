"""A model's dataflow read from its ``forward`` by ``torch.fx``, never from the order of its modules.

``trace_model`` records every operation the forward performs (by ``torch.fx``, or where it cannot follow
the Python, by running the model on an example with ``torch.export``, ``accel.models.aten_tracing``):
``nn.Linear`` layers become EIE layers,
a ReLU right after one (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``x.relu()``, in place or not,
``clamp(min=0)``) is fused into it as EIE's PE applies it, and everything else becomes a host
operation (``accel.models.host_ops``). With an example input the recorded graph is run beside the model
and must give the same outputs; each node's shape is kept for the partition table.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from accel.arch.errors import UserError
from accel.models import host_ops
from accel.models.aten_tracing import exported_nodes
from accel.models.graph import DECLARE_HINT, ModelGraph, Node, record_shapes, run_graph
from accel.models.recurrent import RECURRENT, STACKED, StackedLSTM

AGREEMENT_RTOL, AGREEMENT_ATOL = 1e-4, 1e-5
"""How close the recorded graph's outputs must be to the model's own on the example (float32 rounding)."""


LEAVES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity,
          nn.ReLU, nn.ReLU6, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.ELU, nn.LeakyReLU, nn.Hardtanh, nn.Softmax,
          nn.LogSoftmax, nn.Flatten, nn.LayerNorm, nn.modules.batchnorm._BatchNorm, nn.MaxPool1d, nn.MaxPool2d,
          nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d) + STACKED + RECURRENT
"""Modules recorded whole (a layer, or one host operation); torch.fx traces into any other, torch's own
(a TransformerEncoderLayer, a MultiheadAttention) as a user's."""


class _Tracer(fx.Tracer):
    """torch.fx's tracer that keeps ``LEAVES`` whole and reads every other module's forward."""

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        return isinstance(module, LEAVES)


def trace_model(model: nn.Module, example: torch.Tensor | None = None) -> ModelGraph:
    """The model's graph, its host tensors taken from ``model``; checked against the model on ``example``.

    Recurrent layers must be in their stacked form (``accel.models.recurrent.stack_recurrent``) first.
    """
    label = type(model).__name__
    origin = "traced"
    try:
        nodes = _Recorder(model, label).record(_Tracer().trace(model))
    except UserError:
        raise
    except Exception as error:  # torch.fx raises many kinds on code it cannot follow
        if example is None:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
            raise UserError(f"{label}.forward cannot be traced by torch.fx ({reason}); give an example input so that "
                            f"the model is traced by running it (torch.export), {DECLARE_HINT}") from None
        nodes, origin = exported_nodes(model, example, label), "exported"
    graph = ModelGraph(_fuse_relus(_without_dead_nodes(nodes)), {},
                       None if example is None else list(example.shape[1:]), origin)
    graph.params = host_params(graph, model)
    return graph if example is None else check_against_model(graph, model, example)


def host_params(graph: ModelGraph, model: nn.Module) -> dict[str, np.ndarray]:
    """The current values of the graph's host tensors in ``model`` (after training, the trained ones)."""
    params = {}
    for node in graph.nodes:
        if node.op == "param":
            value = _attribute(model, node.target)
            params[node.target] = value.detach().float().cpu().numpy().copy()
    return params


def check_against_model(graph: ModelGraph, model: nn.Module, example: torch.Tensor) -> ModelGraph:
    """Run the graph beside ``model`` on ``example``; refuse a graph that computes something else. Records shapes."""
    layers = dict(model.named_modules())
    relu = fused_relus(graph)

    def linear(name: str, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, layers[name].weight, layers[name].bias)
        return torch.relu(y) if relu.get(name) else y

    tensors = {**{name: torch.from_numpy(value) for name, value in graph.params.items()}, **conv_tensors(graph, model)}
    values: dict[str, object] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = model(example)
            found = run_graph(graph, example, tensors, linear)
            run_graph(graph, example[:1], tensors, linear, values)
    except Exception as error:  # the user's model, or an operation on values it did not expect
        raise UserError(f"{type(model).__name__} did not run on an example of shape {tuple(example.shape)} "
                        f"({type(error).__name__}: {str(error).splitlines()[0][:120] if str(error) else ''})") from None
    finally:
        model.train(was_training)
    if not isinstance(expected, torch.Tensor):
        raise UserError(f"{type(model).__name__}.forward returns a {type(expected).__name__}; it must return one tensor "
                        "of outputs (for example the class scores)")
    if found.shape != expected.shape or not torch.allclose(found, expected, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL):
        worst = float((found - expected).abs().max()) if found.shape == expected.shape else math.inf
        raise UserError(f"the graph recorded from {type(model).__name__}.forward differs from the model on an example "
                        f"(largest difference {worst:.3g}): forward does something tracing cannot see (randomness or "
                        f"state at inference), {DECLARE_HINT}")
    return record_shapes(graph, values)


def conv_tensors(graph: ModelGraph, model: nn.Module) -> dict[str, torch.Tensor]:
    """Each graph convolution's weight and bias from ``model``, as ``LAYER.weight`` / ``LAYER.bias``."""
    tensors = {}
    for node in graph.nodes:
        if node.op == "conv2d":
            module = model.get_submodule(node.target)
            tensors[f"{node.target}.weight"] = module.weight.detach()
            if module.bias is not None:
                tensors[f"{node.target}.bias"] = module.bias.detach()
    return tensors


def fused_relus(graph: ModelGraph) -> dict[str, bool]:
    """Whether each EIE layer has its ReLU fused (recorded in the graph's linear nodes)."""
    relus = {name: False for name in graph.eie_layers()}
    relus.update({node.target: True for node in graph.nodes if node.op == "linear" and node.kwargs.get("relu")})
    return relus


class _Recorder:
    """fx nodes -> graph nodes: modules translated to host operations, arguments encoded as JSON values."""

    def __init__(self, model: nn.Module, label: str) -> None:
        self.model, self.label = model, label
        self.names: dict[fx.Node, str] = {}
        self.nodes: list[Node] = []
        self.params: dict[str, str] = {}
        """Each host tensor's name -> the node that holds it."""
        self.constants: dict[fx.Node, object] = {}

    def record(self, traced: fx.Graph) -> list[Node]:
        inputs = [node for node in traced.nodes if node.op == "placeholder"]
        required = [node for node in inputs if not node.args]
        if len(required) != 1:
            raise UserError(f"{self.label}.forward takes {len(required)} required inputs; EIE models take one tensor")
        for node in traced.nodes:
            self._record(node)
        return self.nodes

    def _record(self, node: fx.Node) -> None:
        where = f"{self.label}.forward, operation {node.name!r}"
        if node.op == "placeholder":
            if node.args:  # an optional argument keeps its default
                self.constants[node] = node.args[0]
                return
            self._add(node.name, "input")
        elif node.op == "get_attr":
            self.names[node] = self._param(node.target, where, node.name)
        elif node.op == "call_module":
            self._module(node, where)
        elif node.op == "call_function":
            if node.target in host_ops.IDENTITIES:
                self.names[node] = self.names.get(node.args[0], node.args[0].name)
                return
            name = host_ops.function_name(node.target)
            if name is None:
                raise UserError(f"{where}: {getattr(node.target, '__name__', node.target)} is not a host operation "
                                f"EIE's host runs here (supported: {host_ops.supported_names()})")
            self._add(node.name, "function", name, self._encode(list(node.args), where),
                      self._encode(dict(node.kwargs), where))
        elif node.op == "call_method":
            if node.target not in host_ops.METHODS:
                raise UserError(f"{where}: tensor method {node.target!r} is not a host operation EIE's host runs here "
                                f"(supported: {host_ops.supported_names()})")
            self._add(node.name, "method", node.target, self._encode(list(node.args), where),
                      self._encode(dict(node.kwargs), where))
        elif node.op == "output":
            self._add("output", "output", "", [self._encode(node.args[0], where)])

    def _add(self, name: str, op: str, target: str = "", args: list | None = None, kwargs: dict | None = None) -> str:
        self.nodes.append(Node(name, op, target, args or [], kwargs or {}))
        return name

    def _param(self, target: str, where: str, name: str | None = None) -> str:
        """The node that holds the host tensor ``target`` (added, named ``name`` or ``target``, on first use)."""
        if target not in self.params:
            value = _attribute(self.model, target)
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise UserError(f"{where}: {target!r} is a {type(value).__name__}, not a floating-point tensor the host "
                                "can hold")
            self.params[target] = self._add(name or target, "param", target)
        return self.params[target]

    def _param_node(self, module_name: str, attribute: str, where: str) -> dict | None:
        """A reference to the node holding a module's tensor (None when the module has none)."""
        if getattr(self.model.get_submodule(module_name), attribute, None) is None:
            return None
        return {"node": self._param(f"{module_name}.{attribute}" if module_name else attribute, where)}

    def _module(self, node: fx.Node, where: str) -> None:
        module = self.model.get_submodule(node.target)
        kind = type(module).__name__
        if isinstance(module, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity)):
            self.names[node] = self.names.get(node.args[0], node.args[0].name)
            return
        if isinstance(module, RECURRENT):
            raise UserError(f"{where}: {kind} must be stacked first (accel.models.recurrent.stack_recurrent)")
        args = self._encode(list(node.args), where)
        if node.kwargs:
            raise UserError(f"{where}: module {node.target!r} ({kind}) called with keyword arguments; pass them by position")
        if isinstance(module, nn.Linear):
            self._add(node.name, "linear", node.target, args[:1])
        elif isinstance(module, nn.Conv2d):
            if module.padding_mode != "zeros":
                raise UserError(f"{where}: Conv2d {node.target!r} pads with {module.padding_mode!r}; only zeros is supported")
            self._add(node.name, "conv2d", node.target, args[:1], {
                "stride": _json(module.stride), "padding": _json(module.padding), "dilation": _json(module.dilation),
                "groups": module.groups})
        elif isinstance(module, STACKED):
            op = "lstm" if isinstance(module, StackedLSTM) else "lstm_cell"
            self._add(node.name, op, node.target, args, {
                "layers": [f"{node.target}.{name}" for name, _ in module.named_children()],
                "hidden_size": module.hidden_size, "batch_first": bool(getattr(module, "batch_first", False))})
        else:
            function, extra, keywords = self._host_module(module, node.target, where)
            self._add(node.name, "function", function, args[:1] + extra, keywords)

    def _host_module(self, module: nn.Module, name: str, where: str) -> tuple[str, list, dict]:
        """A leaf module as (host function, further positional arguments, keyword arguments)."""
        param = lambda attribute: self._param_node(name, attribute, where)  # noqa: E731
        if isinstance(module, nn.ReLU):
            return "torch.relu", [], {}
        if isinstance(module, nn.GELU):
            return "torch.nn.functional.gelu", [], {"approximate": module.approximate}
        simple = {nn.Tanh: "torch.tanh", nn.Sigmoid: "torch.sigmoid", nn.SiLU: "torch.nn.functional.silu",
                  nn.ReLU6: "torch.nn.functional.relu6"}
        for kind, function in simple.items():
            if type(module) is kind:
                return function, [], {}
        if isinstance(module, (nn.Softmax, nn.LogSoftmax)):
            if module.dim is None:
                raise UserError(f"{where}: {type(module).__name__} without dim; give it dim=")
            return f"torch.nn.functional.{'softmax' if isinstance(module, nn.Softmax) else 'log_softmax'}", [module.dim], {}
        if isinstance(module, nn.ELU):
            return "torch.nn.functional.elu", [module.alpha], {}
        if isinstance(module, nn.LeakyReLU):
            return "torch.nn.functional.leaky_relu", [module.negative_slope], {}
        if isinstance(module, nn.Hardtanh):
            return "torch.nn.functional.hardtanh", [module.min_val, module.max_val], {}
        if isinstance(module, nn.Flatten):
            return "torch.flatten", [module.start_dim, module.end_dim], {}
        if isinstance(module, nn.LayerNorm):
            return "torch.nn.functional.layer_norm", [list(module.normalized_shape), param("weight"), param("bias"),
                                                      module.eps], {}
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not module.track_running_stats:
                raise UserError(f"{where}: {type(module).__name__} without running statistics cannot run at inference")
            return "torch.nn.functional.batch_norm", [param("running_mean"), param("running_var"), param("weight"),
                                                      param("bias"), False, 0.0, module.eps], {}
        if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
            if module.return_indices:
                raise UserError(f"{where}: max pooling that returns indices is not supported")
            function = "max_pool1d" if isinstance(module, nn.MaxPool1d) else "max_pool2d"
            return f"torch.nn.functional.{function}", [_json(module.kernel_size), _json(module.stride),
                                                       _json(module.padding), _json(module.dilation), module.ceil_mode], {}
        if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d)):
            function = "avg_pool1d" if isinstance(module, nn.AvgPool1d) else "avg_pool2d"
            return f"torch.nn.functional.{function}", [_json(module.kernel_size), _json(module.stride),
                                                       _json(module.padding), module.ceil_mode,
                                                       module.count_include_pad], {}
        adaptive = {nn.AdaptiveAvgPool1d: "adaptive_avg_pool1d", nn.AdaptiveAvgPool2d: "adaptive_avg_pool2d",
                    nn.AdaptiveMaxPool2d: "adaptive_max_pool2d"}
        for kind, function in adaptive.items():
            if type(module) is kind:
                return f"torch.nn.functional.{function}", [_json(module.output_size)], {}
        if isinstance(module, nn.Conv1d) and module.padding_mode == "zeros":
            return "torch.nn.functional.conv1d", [param("weight"), param("bias"), _json(module.stride),
                                                  _json(module.padding), _json(module.dilation), module.groups], {}
        raise UserError(f"{where}: module {name!r} ({type(module).__name__}) has no host implementation here "
                        f"(supported: {host_ops.supported_names()})")

    def _encode(self, value: object, where: str) -> object:
        if isinstance(value, fx.Node):
            if value in self.constants:
                return self._encode(self.constants[value], where)
            return {"node": self.names.get(value, value.name)}
        if isinstance(value, (tuple, torch.Size)):
            return {"tuple": [self._encode(item, where) for item in value]}
        if isinstance(value, list):
            return [self._encode(item, where) for item in value]
        if isinstance(value, dict):
            return {str(key): self._encode(item, where) for key, item in value.items()}
        if isinstance(value, slice):
            parts = [value.start, value.stop, value.step]
            if not all(part is None or type(part) is int for part in parts):
                raise UserError(f"{where}: a slice with computed bounds is not supported; use constant bounds")
            return {"slice": parts}
        if value is Ellipsis:
            return {"ellipsis": True}
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float and math.isfinite(value):
            return value
        raise UserError(f"{where}: an argument of type {type(value).__name__} ({str(value)[:40]}) cannot be recorded")


def _json(value: object) -> object:
    """A module attribute (int, tuple of ints, string) as a graph value."""
    return {"tuple": list(value)} if isinstance(value, tuple) else value


def _attribute(model: nn.Module, target: str) -> object:
    owner, _, name = target.rpartition(".")
    return getattr(model.get_submodule(owner) if owner else model, name)


def _without_dead_nodes(nodes: list[Node]) -> list[Node]:
    """Drop nodes whose value nothing uses (fx keeps, for example, an unused ``x.size()``)."""
    used = {"output"}
    kept = []
    for node in reversed(nodes):
        if node.name in used or node.op == "input":
            kept.append(node)
            used.update(node.inputs())
    return kept[::-1]


def _is_relu_of(node: Node, source: str) -> bool:
    """Whether ``node`` is a ReLU of node ``source`` in any spelling."""
    if not node.args or node.args[0] != {"node": source}:
        return False
    if (node.op == "function" and node.target in host_ops.RELU_FUNCTIONS) or \
            (node.op == "method" and node.target in host_ops.RELU_METHODS):
        return len(node.args) == 1 and set(node.kwargs) <= {"inplace"}
    if (node.op == "function" and node.target in host_ops.CLAMP_FUNCTIONS) or \
            (node.op == "method" and node.target in host_ops.CLAMP_METHODS):
        low = node.args[1] if len(node.args) > 1 else node.kwargs.get("min")
        high = node.args[2] if len(node.args) > 2 else node.kwargs.get("max")
        return type(low) in (int, float) and low == 0 and high is None and set(node.kwargs) <= {"min", "max"}
    return False


def _fuse_relus(nodes: list[Node]) -> list[Node]:
    """Fold each ReLU that is the only use of a Linear layer's output into that layer (all its uses must agree)."""
    users: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs():
            users.setdefault(name, []).append(node)
    fused: dict[str, str] = {}  # relu node -> linear node
    per_layer: dict[str, list[bool]] = {}
    for node in nodes:
        if node.op == "linear":
            following = users.get(node.name, [])
            fuses = len(following) == 1 and _is_relu_of(following[0], node.name)
            per_layer.setdefault(node.target, []).append(fuses)
            if fuses:
                fused[following[0].name] = node.name
    layers = {layer for layer, flags in per_layer.items() if all(flags)}
    fused = {relu: linear for relu, linear in fused.items()
             if next(node.target for node in nodes if node.name == linear) in layers}
    result = []
    for node in nodes:
        if node.name in fused:
            continue
        args, kwargs = _renamed(node.args, fused), _renamed(node.kwargs, fused)
        if node.op == "linear" and node.target in layers:
            kwargs = {**kwargs, "relu": True}
        result.append(Node(node.name, node.op, node.target, args, kwargs))
    return result


def _renamed(value: object, names: dict[str, str]) -> object:
    if isinstance(value, dict):
        if set(value) == {"node"}:
            return {"node": names.get(value["node"], value["node"])}
        return {key: _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value
