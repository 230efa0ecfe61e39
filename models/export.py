"""From PyTorch to the accelerator: compressed models and plain torch modules to QuantizedLayers."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from models.compressed_file import CompressedModel
from models.networks import relu_follows
from models.pruning import make_permanent, prune_by_std
from models.quantization import codebook_and_codes, quantize_layer

EIE_BITS = 4


def layers_from_compressed(model: CompressedModel) -> list[QuantizedLayer]:
    """The fully connected layers of a compressed model, in order (conv layers do not run on EIE).

    Codes of fewer than 4 bits run as 4-bit codes: the codebook is padded with unused zero entries.
    """
    layers = []
    for layer in model.layers:
        if layer.kind != "linear":
            continue
        if layer.bits > EIE_BITS or layer.codebook[0] != 0.0:
            raise UserError(f"layer {layer.name!r} has {layer.bits}-bit weights"
                            f"{'' if layer.codebook[0] == 0.0 else ' without a reserved zero'}; EIE needs codes of "
                            f"at most {EIE_BITS} bits with entry 0 = 0: compress with --bits hardware")
        codebook = np.concatenate([layer.codebook, np.zeros((1 << EIE_BITS) - layer.codebook.size)])
        layers.append(QuantizedLayer(codes=layer.codes.astype(np.uint8), codebook=codebook, bias=layer.bias,
                                     relu=layer.relu, name=layer.name))
    if not layers:
        raise UserError("the compressed model has no fully connected layers to run on EIE")
    return layers


def layers_from_compressed_file(path: str | Path) -> list[QuantizedLayer]:
    return layers_from_compressed(CompressedModel.load(path))


def quantize_linear_layers(model: nn.Module, prune_quality: float | None = None, init: str = "linear",
                           seed: int = 0, relu: list[bool] | None = None) -> list[QuantizedLayer]:
    """Quantize the Linear layers of any module to 4-bit codes (15 centroids + zero), optionally pruning first.

    ``relu`` gives each Linear layer's ReLU flag; by default a layer has one when an ``nn.ReLU``
    module comes next in definition order (a ``torch.relu`` call in ``forward`` cannot be seen).
    The module itself is left untouched.
    """
    model = copy.deepcopy(model)
    relus = relu_follows(model)
    if relu is not None:
        if len(relu) != len(relus):
            raise UserError(f"relu lists {len(relu)} flags but the model has {len(relus)} nn.Linear layers")
        relus = dict(zip(relus, relu))
    layers = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if prune_quality is not None:
            prune_by_std(module, prune_quality)
            make_permanent(module)
        quantize_layer(module, EIE_BITS, init=init, reserve_zero=True, seed=seed)
        codebook, codes = codebook_and_codes(module)
        bias = None if module.bias is None else module.bias.detach().double().numpy()
        layers.append(QuantizedLayer(codes=codes.numpy().astype(np.uint8), codebook=codebook.double().numpy(),
                                     bias=bias, relu=relus[name], name=name))
    if not layers:
        raise UserError("the model has no nn.Linear layers to run on EIE")
    return layers


def layers_from_state_dict(path: str | Path, prune_quality: float | None = None) -> list[QuantizedLayer]:
    """The 2-D ``*.weight`` tensors of a torch state_dict as a chain of ReLU layers (last one linear)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise UserError(f"{path} is not a readable torch state_dict ({error}); save one with torch.save(model.state_dict(), path)") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state_dict; save model.state_dict()")
    chain = nn.Sequential()
    for key, tensor in state.items():
        if key.endswith("weight") and isinstance(tensor, torch.Tensor) and tensor.dim() == 2:
            linear = nn.Linear(tensor.shape[1], tensor.shape[0], bias=f"{key[:-6]}bias" in state)
            with torch.no_grad():
                linear.weight.copy_(tensor.float())
                if linear.bias is not None:
                    linear.bias.copy_(state[f"{key[:-6]}bias"].float())
            if len(chain):
                chain.append(nn.ReLU())
            chain.add_module(key[:-7].replace(".", "_") or "fc", linear)
    if not len(chain):
        raise UserError(f"{path} has no 2-D weight tensors (Linear layers)")
    return quantize_linear_layers(chain, prune_quality)
