"""The operations a model's host CPU runs between EIE layers, by name: the only code a graph can call.

A recorded graph (``accel.models.graph``) names its host operations by qualified function name
(``torch.nn.functional.gelu``) or tensor method (``view``); loading a graph looks each name up
here and refuses any other, so a file can never make the tool call arbitrary code.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F

FUNCTIONS = {
    f"{owner}.{function.__name__}": function
    for owner, functions in (
        ("torch", (torch.relu, torch.relu_, torch.tanh, torch.sigmoid, torch.softmax, torch.log_softmax, torch.add, torch.sub,
                   torch.mul, torch.div, torch.neg, torch.matmul, torch.bmm, torch.flatten, torch.reshape,
                   torch.transpose, torch.permute, torch.squeeze, torch.unsqueeze, torch.cat, torch.stack,
                   torch.chunk, torch.split, torch.mean, torch.sum, torch.amax, torch.clamp, torch.clamp_min,
                   torch.exp, torch.sqrt, torch.rsqrt, torch.abs, torch.maximum, torch.minimum, torch.where,
                   torch.erf, torch.pow)),
        ("torch.nn.functional", (F.relu, F.relu6, F.gelu, F.silu, F.elu, F.leaky_relu, F.hardtanh, F.softmax,
                                 F.log_softmax, F.layer_norm, F.batch_norm, F.conv1d, F.conv2d, F.max_pool1d,
                                 F.max_pool2d, F.avg_pool1d, F.avg_pool2d, F.adaptive_avg_pool1d,
                                 F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.pad, F.normalize, F.linear,
                                 F.scaled_dot_product_attention)),
        ("operator", (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.neg,
                      operator.matmul, operator.getitem, operator.iadd, operator.imul, operator.pow)),
    )
    for function in functions
}
"""Functions a graph may call, by qualified name. ``F.linear`` runs only weights the graph holds on the host."""

TENSOR_ATTRIBUTES = frozenset({"shape", "ndim", "T", "mT"})
"""Attributes a graph may read (``x.shape`` is recorded as ``getattr(x, "shape")``)."""


def tensor_attribute(value: torch.Tensor, name: str) -> object:
    """``getattr`` limited to ``TENSOR_ATTRIBUTES``."""
    if name not in TENSOR_ATTRIBUTES:
        raise ValueError(f"attribute {name!r} is not one a graph may read ({', '.join(sorted(TENSOR_ATTRIBUTES))})")
    return getattr(value, name)


def tensor_slice(value: torch.Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                 step: int = 1) -> torch.Tensor:
    """``value[..., start:end:step, ...]`` along ``dim`` (ATen's ``slice``)."""
    return value[(slice(None),) * (dim % value.dim()) + (slice(start, end, step),)]


FUNCTIONS["getattr"] = tensor_attribute
FUNCTIONS["slice"] = tensor_slice

METHODS = frozenset({
    "relu", "relu_", "tanh", "sigmoid", "softmax", "log_softmax", "add", "add_", "sub", "mul", "mul_", "div",
    "neg", "matmul", "view", "reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "contiguous",
    "chunk", "split", "mean", "sum", "amax", "clamp", "clamp_", "clamp_min", "exp", "sqrt", "rsqrt", "abs", "pow",
    "size", "float", "expand", "expand_as", "view_as", "reshape_as", "t", "unbind", "dim", "unflatten", "clamp_min_",
    "select", "new_zeros",
})
"""Tensor methods a graph may call (``torch.Tensor.NAME``)."""

IDENTITIES = (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout)
"""Functions that are the identity at inference: left out of a recorded graph."""

RELU_FUNCTIONS = frozenset({"torch.relu", "torch.relu_", "torch.nn.functional.relu"})
RELU_METHODS = frozenset({"relu", "relu_"})
CLAMP_FUNCTIONS = frozenset({"torch.clamp", "torch.clamp_min"})
CLAMP_METHODS = frozenset({"clamp", "clamp_", "clamp_min", "clamp_min_"})


def function_name(function: object) -> str | None:
    """The qualified name under which ``function`` may be called, or None."""
    if function is getattr:
        return "getattr"
    return next((name for name, allowed in FUNCTIONS.items() if allowed is function), None)


def call(kind: str, target: str, args: list, kwargs: dict):
    """Run one host operation: a function from ``FUNCTIONS`` or a method from ``METHODS``."""
    if kind == "function":
        return FUNCTIONS[target](*args, **kwargs)
    return getattr(args[0], target)(*args[1:], **kwargs)


def supported_names() -> str:
    """A short list for error messages."""
    return ("activations (relu, gelu, tanh, sigmoid, silu, softmax...), layer_norm, batch_norm, conv, pooling, "
            "arithmetic (add, mul, matmul...) and reshapes (view, flatten, transpose, permute, cat...)")
