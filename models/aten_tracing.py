"""A model's dataflow read by running it (``torch.export`` on an example input), for a forward torch.fx cannot read.

``torch.fx`` traces symbolically and stops at Python control flow on tensors (``if x.dim() == 4``,
``for s in x.size()``). ``torch.export`` runs the model on an example instead, with a free batch
dimension, and records ATen operations; this module translates them into the same graph nodes as
``accel.models.tracing``: ``aten.linear`` on an ``nn.Linear``'s weight is an EIE layer, ``aten.conv2d`` on an
``nn.Conv2d``'s a compressed convolution, and every other operation a host operation of
``accel.models.host_ops``. Recurrent layers run unrolled (their gate layer once per time step).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import operator

import torch
from torch import fx, nn
from torch.nn.utils import parametrize, prune

from accel.arch.errors import UserError
from accel.models.graph import DECLARE_HINT, Node
from accel.models.pruning import copy_module

Translation = tuple[str, str, list, dict]
"""(op, target, args, kwargs) of a graph node, with fx nodes still in the arguments."""

IDENTITY = object()
"""An operation that is the identity at inference (dropout, clone, detach)."""


def _function(name: str, keep: int | None = None, drop: tuple[str, ...] = ()):
    """A host function taking the ATen operation's first ``keep`` arguments and its keyword arguments but ``drop``."""
    def translate(args: tuple, kwargs: dict) -> Translation:
        return "function", name, list(args[:keep]), {key: value for key, value in kwargs.items() if key not in drop}
    return translate


def _method(name: str, keep: int | None = None, drop: tuple[str, ...] = ()):
    def translate(args: tuple, kwargs: dict) -> Translation:
        return "method", name, list(args[:keep]), {key: value for key, value in kwargs.items() if key not in drop}
    return translate


def _batch_norm(args: tuple, kwargs: dict) -> Translation:
    x, weight, bias, mean, var, training, momentum, eps = args[:8]
    return "function", "torch.nn.functional.batch_norm", [x, mean, var, weight, bias, training, momentum, eps], {}


def _dropout(args: tuple, kwargs: dict):
    if len(args) > 2 and args[2]:
        raise UserError("the model was exported in training mode (dropout active); put it in eval mode")
    return IDENTITY


OPERATORS = {getattr(operator, name): f"operator.{name}" for name in ("getitem", "add", "sub", "mul", "floordiv",
                                                                         "truediv", "neg")}
"""Python operators torch.export records as they are (on sizes, on tuples), by their host names."""

FACTORY_KEYWORDS = ("dtype", "layout", "device", "pin_memory", "memory_format")

ATEN = {
    "aten.relu.default": _function("torch.relu"), "aten.relu_.default": _function("torch.relu_"),
    "aten.gelu.default": _function("torch.nn.functional.gelu"), "aten.tanh.default": _function("torch.tanh"),
    "aten.sigmoid.default": _function("torch.sigmoid"), "aten.silu.default": _function("torch.nn.functional.silu"),
    "aten.hardtanh.default": _function("torch.nn.functional.hardtanh"),
    "aten.leaky_relu.default": _function("torch.nn.functional.leaky_relu"),
    "aten.elu.default": _function("torch.nn.functional.elu", 3),
    "aten.softmax.int": _function("torch.softmax", 2), "aten._softmax.default": _function("torch.softmax", 2),
    "aten.log_softmax.int": _function("torch.log_softmax", 2),
    "aten._log_softmax.default": _function("torch.log_softmax", 2),
    "aten.add.Tensor": _function("torch.add"), "aten.sub.Tensor": _function("torch.sub"),
    "aten.mul.Tensor": _function("torch.mul"), "aten.div.Tensor": _function("torch.div"),
    "aten.add_.Tensor": _method("add_"), "aten.mul_.Tensor": _method("mul_"), "aten.neg.default": _function("torch.neg"),
    "aten.pow.Tensor_Scalar": _function("torch.pow"), "aten.sqrt.default": _function("torch.sqrt"),
    "aten.rsqrt.default": _function("torch.rsqrt"), "aten.exp.default": _function("torch.exp"),
    "aten.abs.default": _function("torch.abs"), "aten.erf.default": _function("torch.erf"),
    "aten.matmul.default": _function("torch.matmul"), "aten.bmm.default": _function("torch.bmm"),
    "aten.view.default": _function("torch.reshape"), "aten.reshape.default": _function("torch.reshape"),
    "aten._unsafe_view.default": _function("torch.reshape"), "aten.flatten.using_ints": _function("torch.flatten"),
    "aten.permute.default": _function("torch.permute"), "aten.transpose.int": _function("torch.transpose"),
    "aten.t.default": _method("t"), "aten.unsqueeze.default": _function("torch.unsqueeze"),
    "aten.squeeze.dim": _function("torch.squeeze"), "aten.squeeze.default": _function("torch.squeeze"),
    "aten.cat.default": _function("torch.cat"), "aten.stack.default": _function("torch.stack"),
    "aten.split.Tensor": _function("torch.split"), "aten.split_with_sizes.default": _function("torch.split"),
    "aten.chunk.default": _function("torch.chunk"), "aten.unbind.int": _method("unbind"),
    "aten.select.int": _method("select"), "aten.slice.Tensor": _function("slice"),
    "aten.expand.default": _method("expand"), "aten.mean.dim": _function("torch.mean"),
    "aten.sum.dim_IntList": _function("torch.sum"), "aten.amax.default": _function("torch.amax"),
    "aten.clamp.default": _function("torch.clamp"), "aten.clamp_min.default": _function("torch.clamp_min"),
    "aten.maximum.default": _function("torch.maximum"), "aten.minimum.default": _function("torch.minimum"),
    "aten.layer_norm.default": _function("torch.nn.functional.layer_norm", 5),
    "aten.batch_norm.default": _batch_norm,
    "aten.max_pool2d.default": _function("torch.nn.functional.max_pool2d"),
    "aten.avg_pool2d.default": _function("torch.nn.functional.avg_pool2d"),
    "aten.adaptive_avg_pool2d.default": _function("torch.nn.functional.adaptive_avg_pool2d"),
    "aten.max_pool1d.default": _function("torch.nn.functional.max_pool1d"),
    "aten.avg_pool1d.default": _function("torch.nn.functional.avg_pool1d"),
    "aten.adaptive_avg_pool1d.default": _function("torch.nn.functional.adaptive_avg_pool1d"),
    "aten.pad.default": _function("torch.nn.functional.pad"),
    "aten.new_zeros.default": _method("new_zeros", drop=FACTORY_KEYWORDS),
    "aten.unflatten.int": _method("unflatten"),
    "aten.scaled_dot_product_attention.default": _function("torch.nn.functional.scaled_dot_product_attention"),
    "aten.linear.default": _function("torch.nn.functional.linear"),  # weights the host holds (not an nn.Linear)
    "aten.sym_size.int": _method("size"),
    "aten.dropout.default": _dropout,
    "aten.clone.default": lambda args, kwargs: IDENTITY, "aten.detach.default": lambda args, kwargs: IDENTITY,
    "aten.alias.default": lambda args, kwargs: IDENTITY, "aten.contiguous.default": lambda args, kwargs: IDENTITY,
}
"""ATen operations and the host operation each becomes (``aten.linear`` and ``aten.conv2d`` are handled apart)."""


def exported_nodes(model: nn.Module, example: torch.Tensor, label: str) -> list[Node]:
    """The graph nodes of ``model`` run on ``example`` (in eval mode, batch dimension free)."""
    plain = plain_copy(model).eval()
    logging.disable(logging.WARNING)  # torch.export logs and prints what it cannot follow; one line below says it
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            program = torch.export.export(plain, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},), strict=False)
    except Exception as error:  # torch.export raises many kinds on code it cannot follow
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UserError(f"{label}.forward could not be traced by torch.fx nor by running it with torch.export "
                        f"({reason}); write forward without Python control flow on tensor values, {DECLARE_HINT}") from None
    finally:
        logging.disable(logging.NOTSET)
    return _Translator(plain, label).translate(program.module().graph)


def plain_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose weights are plain tensors: shared weights (``codebook[codes]``) and pruning masks
    folded in, so that running it shows each layer's own weight and not how it is computed."""
    plain = copy_module(model)
    for module in plain.modules():
        if parametrize.is_parametrized(module):
            # A parametrized module's class is made for it and shared with its copies: the copy takes its own.
            shared = module.__class__
            module.__class__ = type(shared.__name__, shared.__bases__, dict(shared.__dict__))
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
        for name, _ in list(module.named_buffers(recurse=False)):
            if name.endswith("_mask"):
                prune.remove(module, name[:-5])
    return plain


class _Translator:
    def __init__(self, model: nn.Module, label: str) -> None:
        self.model, self.label = model, label
        self.modules = dict(model.named_modules())
        self.names: dict[fx.Node, str] = {}
        self.nodes: list[Node] = []

    def translate(self, graph: fx.Graph) -> list[Node]:
        for node in graph.nodes:
            where = f"{self.label}.forward (run by torch.export), operation {node.name!r}"
            if node.op == "placeholder":
                self._add(node, "input", "", [], {})
            elif node.op == "get_attr":
                self._add(node, "param", node.target, [], {})
            elif node.op == "call_module":  # torch.export's guard on the example's shapes: nothing to run
                continue
            elif node.op == "output":
                outputs = node.args[0]
                self.nodes.append(Node("output", "output", "", [self._encode(outputs[0] if isinstance(
                    outputs, (tuple, list)) and len(outputs) == 1 else outputs, where)]))
            else:
                self._call(node, where)
        # torch.export lists the tensors it reads before the input; the input needs nothing, so it goes first.
        return sorted(self.nodes, key=lambda node: node.op != "input")

    def _call(self, node: fx.Node, where: str) -> None:
        name = str(node.target)
        python = OPERATORS.get(node.target)
        if python is not None:  # Python arithmetic on sizes, and getitem on tuples
            self._add(node, "function", python, *self._encoded(node.args, {}, where))
            return
        layer = self._layer(node, name)
        if layer is not None:
            op, target = layer
            kwargs = {} if op == "linear" else {
                key: _json(value) for key, value in zip(("stride", "padding", "dilation", "groups"), node.args[3:])}
            self._add(node, op, target, [self._encode(node.args[0], where)], kwargs)
            return
        if name not in ATEN:
            raise UserError(f"{where}: {name} has no host implementation here; write forward so that torch.fx can "
                            f"trace it, {DECLARE_HINT}")
        translated = ATEN[name](tuple(node.args), dict(node.kwargs))
        if translated is IDENTITY:
            self.names[node] = self.names.get(node.args[0], node.args[0].name)
            return
        op, target, args, kwargs = translated
        self._add(node, op, target, *self._encoded(args, kwargs, where))

    def _layer(self, node: fx.Node, name: str) -> tuple[str, str] | None:
        """("linear" | "conv2d", layer name) when the operation runs an ``nn.Linear`` / ``nn.Conv2d`` module's weight."""
        kinds = {"aten.linear.default": ("linear", nn.Linear), "aten.conv2d.default": ("conv2d", nn.Conv2d)}
        if name not in kinds or len(node.args) < 2 or getattr(node.args[1], "op", None) != "get_attr":
            return None
        op, kind = kinds[name]
        owner, _, attribute = node.args[1].target.rpartition(".")
        module = self.modules.get(owner)
        if attribute != "weight" or not isinstance(module, kind):
            return None
        bias = node.args[2] if len(node.args) > 2 else None
        if (bias is None) != (module.bias is None):
            return None
        return op, owner

    def _add(self, node: fx.Node, op: str, target: str, args: list, kwargs: dict) -> None:
        self.nodes.append(Node(node.name, op, target, args, kwargs))
        self.names[node] = node.name

    def _encoded(self, args: list | tuple, kwargs: dict, where: str) -> tuple[list, dict]:
        return [self._encode(value, where) for value in args], {key: self._encode(value, where)
                                                                 for key, value in kwargs.items()}

    def _encode(self, value: object, where: str) -> object:
        if isinstance(value, fx.Node):
            return {"node": self.names.get(value, value.name)}
        if isinstance(value, (tuple, list, torch.Size)):
            return [self._encode(item, where) for item in value]
        if value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
            return value
        raise UserError(f"{where}: an argument of type {type(value).__name__} ({str(value)[:40]}) cannot be recorded")


def _json(value: object) -> object:
    return list(value) if isinstance(value, (tuple, list)) else value
