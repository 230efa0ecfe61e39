"""Torch ``.pt`` inputs: a state_dict seed, and mutations into every tensor kind torch can save.

Both readers of a ``.pt`` are targets: ``accel.models.export.import_state_dict`` (simulate, export, verilog)
and ``accel.models.user_model.load_weights`` (compress --weights).
"""

from __future__ import annotations

import io
import random
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from accel.models.export import import_state_dict
from accel.models.user_model import load_weights


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 4))


def state_dict_seed(folder: Path) -> Path:
    path = folder / "m.pt"
    torch.save(network().state_dict(), path)
    return path


def _quantized(tensor: torch.Tensor, rng: random.Random) -> torch.Tensor:
    values = tensor.float()
    if rng.random() < 0.5 or values.dim() == 0:
        return torch.quantize_per_tensor(values, 0.05, 0, rng.choice([torch.qint8, torch.quint8, torch.qint32]))
    channels = values.shape[0]
    return torch.quantize_per_channel(values, torch.full((channels,), 0.05), torch.zeros(channels, dtype=torch.long), 0,
                                      torch.qint8)


def _sparse(tensor: torch.Tensor, rng: random.Random) -> torch.Tensor:
    if tensor.dim() != 2:
        return tensor.to_sparse()
    return rng.choice([lambda t: t.to_sparse(), lambda t: t.to_sparse_csr(), lambda t: t.to_sparse_csc(),
                       lambda t: t.to_sparse_bsr((1, 1)), lambda t: t.to_sparse_bsc((1, 1))])(tensor)


def _view(tensor: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """The same values as a non-contiguous, expanded or offset view of a larger storage."""
    if tensor.dim() == 2:
        return rng.choice([lambda t: t.t().contiguous().t(), lambda t: torch.cat([t, t], 1)[:, ::2],
                           lambda t: torch.cat([t.new_zeros(1, t.shape[1]), t])[1:]])(tensor)
    if tensor.dim() == 1 and tensor.numel():
        return rng.choice([lambda t: t[:1].expand(t.shape[0]), lambda t: torch.cat([t, t])[::2],
                           lambda t: torch.cat([t.new_zeros(3), t])[3:]])(tensor)
    return tensor


DTYPES = [torch.int32, torch.bool, torch.complex64, torch.complex32, torch.float16, torch.bfloat16, torch.float64,
          torch.uint8, torch.uint16, torch.uint32, torch.uint64, torch.int8, torch.float8_e4m3fn, torch.float8_e5m2,
          torch.float8_e4m3fnuz, torch.float8_e5m2fnuz, torch.float8_e8m0fnu, torch.bits8, torch.bits16,
          torch.float4_e2m1fn_x2]
"""Every dtype torch saves and loads."""
PACKED = {torch.bits8: torch.uint8, torch.bits16: torch.int16, torch.float4_e2m1fn_x2: torch.uint8}
"""Dtypes no conversion makes: their tensors are views of integer tensors' bytes."""


def _other_dtype(tensor: torch.Tensor, rng: random.Random) -> torch.Tensor:
    dtype = rng.choice(DTYPES)
    return tensor.to(PACKED[dtype]).view(dtype) if dtype in PACKED else tensor.to(dtype)


KINDS: list[Callable[[torch.Tensor, random.Random], torch.Tensor]] = [
    lambda t, rng: t.to("meta"),
    _sparse,
    _quantized,
    _view,
    _other_dtype,
    lambda t, rng: t.clone().fill_(rng.choice([float("nan"), float("inf"), -float("inf"), 1e38, -1e-45])),
    lambda t, rng: nn.Parameter(t.clone(), requires_grad=rng.random() < 0.5),
    lambda t, rng: torch.nested.nested_tensor([t.flatten(), t.flatten()[:1]]),
]
"""Each turns one tensor into another kind torch can save: meta, sparse (COO, CSR, CSC, BSR, BSC),
quantized, views, other dtypes, NaN/infinity/extreme values, parameters, nested."""


def state_dict_structure(rng: random.Random, data: bytes) -> bytes:
    """Re-save the state_dict with one entry changed in kind, dtype, shape or value, or the dict itself changed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = torch.load(io.BytesIO(data), weights_only=True)
        keys = list(state)
        key = rng.choice(keys)
        tensor = state[key]
        choice = rng.randrange(10)
        if choice < 3:
            state[key] = rng.choice(KINDS)(tensor, rng)
        elif choice == 3:
            state[key] = tensor.flatten()[: max(0, tensor.numel() - rng.randrange(1, 5))]
        elif choice == 4:
            state[key] = tensor.reshape(-1, 1) if tensor.dim() == 1 else tensor.t().contiguous()
        elif choice == 5:
            del state[key]
        elif choice == 6:
            state[rng.choice(["", "x", "1.weight.extra", "norm.running_mean", "0.weight"])] = torch.randn(rng.randrange(1, 5))
        elif choice == 7:
            state[key] = rng.choice([3, "text", None, {"nested": tensor}, [tensor]])
        elif choice == 8:
            state = {f"{k}.{rng.randrange(3)}" if rng.random() < 0.3 else k: v for k, v in state.items()}
        else:
            state["conv.weight"] = torch.randn(2, 1, 3, 3)
            state = dict(sorted(state.items(), key=lambda item: rng.random()))
        buffer = io.BytesIO()
        torch.save(state, buffer)
    return buffer.getvalue()


def _digest(array: np.ndarray | None) -> tuple | None:
    return None if array is None else (array.dtype.str, array.shape, array.tobytes())


def import_fingerprint(imported) -> tuple:
    return tuple((layer.name, bool(layer.relu), _digest(layer.codes.astype(np.int64)), _digest(layer.codebook),
                  _digest(layer.bias)) for layer in imported.layers)


def import_check(imported) -> None:
    for first, second in zip(imported.layers, imported.layers[1:]):
        assert first.rows == second.cols
    for layer in imported.layers:
        assert np.all(np.isfinite(layer.codebook)) and layer.codebook[0] == 0.0 and layer.codebook.size == 16


def read_import(path: Path):
    return import_state_dict(path)


def read_into_model(path: Path) -> nn.Module:
    return load_weights(network(), path)


def model_fingerprint(model: nn.Module) -> tuple:
    return tuple((key, str(value.dtype), tuple(value.shape), value.detach().numpy().tobytes())
                 for key, value in model.state_dict().items())


def model_check(model: nn.Module) -> None:
    """Weights that reached the model are plain, finite float32 tensors of its shapes."""
    reference = network().state_dict()
    for key, value in model.state_dict().items():
        assert value.layout == torch.strided and value.device.type == "cpu" and not value.is_quantized, key
        assert value.dtype == reference[key].dtype and value.shape == reference[key].shape, key
        assert bool(torch.isfinite(value).all()), key
