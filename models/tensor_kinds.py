"""What a tensor read from a ``.pt`` file may be: every kind torch can save gets one line or passes.

A state_dict entry must be a plain tensor with values in memory: sparse (COO, CSR, CSC, BSR, BSC),
quantized, nested and meta-device tensors are refused with the call that turns them into one. Where
the values are used as weights they must be real floating point (float16, bfloat16, float32, float64
or a float8 kind) and finite; non-contiguous, expanded and offset views are plain tensors and pass.
"""

from __future__ import annotations

from pathlib import Path

import torch

from accel.arch.errors import UserError

REAL_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.float8_e4m3fn,
                     torch.float8_e4m3fnuz, torch.float8_e5m2, torch.float8_e5m2fnuz, torch.float8_e8m0fnu)
"""Floating-point dtypes read as weights (each converts to float32); packed float4 and complex are not."""
_SPARSE_NAMES = {torch.sparse_coo: "COO", torch.sparse_csr: "CSR", torch.sparse_csc: "CSC", torch.sparse_bsr: "BSR",
                 torch.sparse_bsc: "BSC"}


def check_kind(path: str | Path, key: str, tensor: torch.Tensor) -> None:
    """Refuse a tensor that is not a plain tensor with its values in memory, naming the fix."""
    where = f"{path}: entry {key!r}"
    if tensor.is_nested:
        raise UserError(f"{where} is a nested tensor; save each component as a plain tensor")
    if tensor.layout in _SPARSE_NAMES:
        raise UserError(f"{where} is a sparse {_SPARSE_NAMES[tensor.layout]} tensor; save it dense: "
                        "tensor.to_dense() (the layers are compressed here)")
    if tensor.layout != torch.strided:
        raise UserError(f"{where} has layout {tensor.layout}; save it as a plain tensor: tensor.to_dense()")
    if tensor.is_meta:
        raise UserError(f"{where} is a meta-device tensor, which holds no values; save the state_dict of a model whose "
                        "weights are loaded (model.to_empty() does not fill them)")
    if tensor.device.type != "cpu":
        raise UserError(f"{where} lives on device {tensor.device.type!r}; save it from the CPU: tensor.cpu()")
    if tensor.is_quantized:
        raise UserError(f"{where} is a quantized {tensor.dtype} tensor; save tensor.dequantize() "
                        "(the weights are quantized here)")


def check_weights(path: str | Path, key: str, tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as float32 when it holds real floating-point, finite values; else one line naming it."""
    check_kind(path, key, tensor)
    if tensor.dtype not in REAL_FLOAT_DTYPES:
        raise UserError(f"{path}: entry {key!r} has dtype {tensor.dtype}; weights must be real floating point "
                        "(save tensor.float())")
    values = tensor.detach().float()
    if not bool(torch.isfinite(values).all()):
        bad = int((~torch.isfinite(values)).sum())
        raise UserError(f"{path}: entry {key!r} holds {bad} NaN or infinite value{'s' if bad > 1 else ''} of "
                        f"{values.numel()}; export the weights of a trained model whose values are all finite")
    return values
