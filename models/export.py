"""From PyTorch to the accelerator: compressed models and plain torch modules to QuantizedLayers.

Every import says what it did: which tensors or layers became which EIE layers, what was left
out and why (``ModelImport.report``). Operations EIE does not run (convolution, normalisation)
between fully connected layers are refused unless the caller accepts leaving them out.
"""

from __future__ import annotations

import copy
import math
import pickle
import re
import warnings
from dataclasses import dataclass, field
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
from models.tensor_kinds import REAL_FLOAT_DTYPES, check_kind

EIE_BITS = 4
SKIP_OPTION = "--skip-unsupported"
"""The command-line option that accepts leaving out operations EIE does not run."""


@dataclass
class ModelImport:
    """The EIE layers of an imported model and the record of how they were obtained."""

    layers: list[QuantizedLayer]
    mapping: list[dict] = field(default_factory=list)
    """One entry per EIE layer: its name, the tensors or model layer it came from, shape, ReLU."""
    skipped: list[dict] = field(default_factory=list)
    """Tensors or model layers left out, each with the reason."""
    approximations: list[str] = field(default_factory=list)
    """What makes the simulated chain differ from the model (empty when it is the model's own chain)."""

    def report(self) -> dict:
        return {"layers": self.mapping, "skipped": self.skipped, "approximations": self.approximations}

    def lines(self) -> list[str]:
        """The import record as short lines for a terminal."""
        lines = [f"layer {entry['layer']}: {entry['source']} -> {entry['shape'][0]}x{entry['shape'][1]}"
                 f"{', ReLU' if entry['relu'] else ''}{' (' + entry['note'] + ')' if entry.get('note') else ''}"
                 for entry in self.mapping]
        lines += [f"skipped {entry['source']}: {entry['reason']}" for entry in self.skipped]
        lines += [f"approximated: {text}" for text in self.approximations]
        return lines


# Compressed models ------------------------------------------------------------------------------

def import_compressed(model: CompressedModel, skip_unsupported: bool = False) -> ModelImport:
    """The fully connected layers of a compressed model, in order; conv layers before them are left out."""
    linear = [index for index, layer in enumerate(model.layers) if layer.kind == "linear"]
    if not linear:
        raise UserError("the compressed model has no fully connected layers to run on EIE")
    result = ModelImport(layers=[])
    between = []
    for index, layer in enumerate(model.layers):
        source = f"{layer.kind} layer {layer.name!r}"
        if layer.kind != "linear":
            inside = linear[0] < index < linear[-1]
            reason = ("EIE runs fully connected layers only; the first fully connected layer gets the simulated "
                      "input vector instead of this layer's output") if not inside else "EIE runs fully connected layers only"
            result.skipped.append({"source": source, "reason": reason})
            if inside:
                between.append(source)
            continue
        if layer.bits > EIE_BITS or layer.codebook[0] != 0.0:
            raise UserError(f"layer {layer.name!r} has {layer.bits}-bit weights"
                            f"{'' if layer.codebook[0] == 0.0 else ' without a reserved zero'}; EIE needs codes of "
                            f"at most {EIE_BITS} bits with entry 0 = 0: compress with --bits hardware")
        # Codes of fewer than 4 bits run as 4-bit codes: the codebook is padded with unused zero entries.
        codebook = np.concatenate([layer.codebook, np.zeros((1 << EIE_BITS) - layer.codebook.size)])
        result.layers.append(QuantizedLayer(codes=layer.codes.astype(np.uint8), codebook=codebook, bias=layer.bias,
                                            relu=layer.relu, name=layer.name))
        result.mapping.append({"layer": layer.name, "source": source, "shape": list(layer.shape), "relu": layer.relu})
    _check_between(result, between, skip_unsupported)
    return result


def layers_from_compressed(model: CompressedModel) -> list[QuantizedLayer]:
    """The fully connected layers of a compressed model, in order (conv layers do not run on EIE)."""
    return import_compressed(model).layers


def layers_from_compressed_file(path: str | Path) -> list[QuantizedLayer]:
    return layers_from_compressed(CompressedModel.load(path))


def _check_between(result: ModelImport, between: list[str], skip_unsupported: bool) -> None:
    """Refuse operations EIE does not run between fully connected layers, or record them as approximated."""
    if not between:
        return
    if not skip_unsupported:
        raise UserError(f"the model has {', '.join(between)} between its fully connected layers, which EIE does not "
                        f"run; pass {SKIP_OPTION} to simulate the fully connected layers without them "
                        "(the outputs then differ from the model's)")
    result.approximations.append(f"{', '.join(between)} between fully connected layers left out: each fully "
                                 "connected layer takes the previous one's output directly")


# Torch modules and state_dicts ------------------------------------------------------------------

def quantize_linear(module: nn.Linear, name: str, relu: bool, prune_quality: float | None = None,
                    init: str = "linear", seed: int = 0) -> QuantizedLayer:
    """One Linear module (left untouched) as an EIE layer: optionally pruned, quantized to 4-bit codes."""
    module = copy.deepcopy(module)
    if prune_quality is not None:
        if not math.isfinite(prune_quality) or prune_quality < 0:
            raise UserError(f"the prune quality must be a finite number >= 0 (threshold = quality x std), got {prune_quality}")
        prune_by_std(module, prune_quality)
        make_permanent(module)
    quantize_layer(module, EIE_BITS, init=init, reserve_zero=True, seed=seed)
    codebook, codes = codebook_and_codes(module)
    bias = None if module.bias is None else module.bias.detach().double().numpy()
    return QuantizedLayer(codes=codes.numpy().astype(np.uint8), codebook=codebook.double().numpy(),
                          bias=bias, relu=relu, name=name)


def quantize_linear_layers(model: nn.Module, prune_quality: float | None = None, init: str = "linear",
                           seed: int = 0, relu: list[bool] | None = None) -> list[QuantizedLayer]:
    """Quantize the Linear layers of any module to 4-bit codes (15 centroids + zero), optionally pruning first.

    ``relu`` gives each Linear layer's ReLU flag; by default a layer has one when an ``nn.ReLU``
    module comes next in definition order (a ``torch.relu`` call in ``forward`` cannot be seen).
    The module itself is left untouched.
    """
    relus = relu_follows(model)
    if relu is not None:
        if len(relu) != len(relus):
            raise UserError(f"relu lists {len(relu)} flags but the model has {len(relus)} nn.Linear layers")
        relus = dict(zip(relus, relu))
    layers = [quantize_linear(module, name, relus[name], prune_quality, init, seed)
              for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not layers:
        raise UserError("the model has no nn.Linear layers to run on EIE")
    return layers


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A torch state_dict (name -> tensor), loaded without unpickling code."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file; check the path")
    try:
        with warnings.catch_warnings():  # torch warns on stderr about deprecated tensor kinds it still loads
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if found:
            raise UserError(f"{path} holds a pickled {found.group(1)} (not a state_dict), which is not loaded because "
                            "unpickling can run code; save the weights with torch.save(model.state_dict(), path)") from None
        raise UserError(f"{path} is not a readable torch state_dict (corrupt pickle); "
                        "save one with torch.save(model.state_dict(), path)") from None
    except MemoryError:
        raise UserError(f"{path} declares tensors too large to load; is it a corrupted file?") from None
    except Exception as error:  # torch's reader raises many types on damaged archives
        raise UserError(f"{path} is not a readable torch state_dict ({type(error).__name__}); "
                        "save one with torch.save(model.state_dict(), path)") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state_dict; save model.state_dict()")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            hint = f"; if it is a checkpoint, save checkpoint[{key!r}]" if isinstance(value, dict) else ""
            raise UserError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor: not a flat state_dict{hint}")
        check_kind(path, key, value)
    return state


def _module_kind(tensors: dict[str, torch.Tensor]) -> str:
    """What kind of layer a module's tensors (by attribute name) suggest."""
    weight = tensors.get("weight")
    if "running_mean" in tensors or "running_var" in tensors:
        return "batch norm"
    if weight is None:
        return "module without a weight"
    if weight.dim() == 2 and set(tensors) <= {"weight", "bias"}:
        return "linear"
    if weight.dim() in (3, 4, 5):
        return f"conv{weight.dim() - 2}d"
    if weight.dim() == 1:
        return "norm"
    return f"{weight.dim()}-D weight"


def import_state_dict(path: str | Path, prune_quality: float | None = None, skip_unsupported: bool = False,
                      seed: int = 0) -> ModelImport:
    """The Linear layers of a torch state_dict as a chain of ReLU layers (the last one linear).

    Tensors are grouped by module (the name before the last dot); a module with a 2-D ``weight``
    and an optional ``bias`` is a Linear layer, named after its module. Modules of other kinds
    before the first or after the last Linear layer are skipped with a note; between Linear
    layers they are refused unless ``skip_unsupported``.
    """
    state = load_state_dict(path)
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        module, _, attribute = key.rpartition(".")
        modules.setdefault(module, {})[attribute] = tensor
    kinds = {module: _module_kind(tensors) for module, tensors in modules.items()}
    linear = [module for module, kind in kinds.items() if kind == "linear"]
    if not linear:
        raise UserError(f"{path} has no Linear layers (a module with a 2-D weight and optional bias); "
                        f"found: {', '.join(sorted(set(kinds.values())))}")
    order = list(modules)
    first, last = order.index(linear[0]), order.index(linear[-1])
    result = ModelImport(layers=[])
    between = []
    previous: tuple[str, int] | None = None
    for position, module in enumerate(order):
        tensors, kind = modules[module], kinds[module]
        label = f"module {module!r}" if module else "the top-level module"
        if kind != "linear":
            names = ", ".join(f"{module}.{attribute}" if module else attribute for attribute in tensors)
            if first < position < last:
                between.append(f"{kind} {label}")
                reason = "EIE runs fully connected layers only"
            elif position < first:
                reason = (f"{kind}: EIE runs fully connected layers only; the first Linear layer gets the simulated "
                          "input vector instead of this module's output")
            else:
                reason = f"{kind} after the last Linear layer: EIE runs fully connected layers only"
            result.skipped.append({"source": names, "reason": reason})
            continue
        weight, bias = tensors["weight"], tensors.get("bias")
        name = module or "linear"
        rows, cols = int(weight.shape[0]), int(weight.shape[1])
        _check_linear_tensors(path, name, weight, bias)
        if previous is not None and previous[1] != cols:
            raise UserError(f"{path}: Linear layer {previous[0]!r} has {previous[1]} outputs but {name!r} takes {cols} "
                            "inputs; the Linear layers must form a chain in the state_dict's order")
        previous = (name, rows)
        linear_module = nn.Linear(cols, rows, bias=bias is not None)
        with torch.no_grad():
            linear_module.weight.copy_(weight.float())
            if bias is not None:
                linear_module.bias.copy_(bias.float())
        relu = module != linear[-1]
        result.layers.append(quantize_linear(linear_module, name, relu, prune_quality, seed=seed))
        prefix = f"{module}." if module else ""
        result.mapping.append({"layer": name, "source": f"{prefix}weight" + (f" + {prefix}bias" if bias is not None else ""),
                               "shape": [rows, cols], "relu": relu,
                               "note": "assumed: a state_dict does not record activations" if relu else ""})
    _check_between(result, between, skip_unsupported)
    if prune_quality is not None:
        result.approximations.append(f"weights pruned at quality {prune_quality:g} (|w| < quality x std set to zero) "
                                     "before 4-bit quantization, without retraining")
    return result


def _check_linear_tensors(path: str | Path, name: str, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if weight.dtype not in REAL_FLOAT_DTYPES or weight.numel() == 0 or not bool(torch.isfinite(weight.float()).all()):
        raise UserError(f"{path}: Linear layer {name!r} weight must hold finite floating-point values, "
                        f"has dtype {weight.dtype} and shape {tuple(weight.shape)}")
    if bias is not None and (bias.dtype not in REAL_FLOAT_DTYPES or tuple(bias.shape) != (weight.shape[0],)
                             or not bool(torch.isfinite(bias.float()).all())):
        raise UserError(f"{path}: Linear layer {name!r} bias must hold {weight.shape[0]} finite floating-point values, "
                        f"has dtype {bias.dtype} and shape {tuple(bias.shape)}")


def layers_from_state_dict(path: str | Path, prune_quality: float | None = None) -> list[QuantizedLayer]:
    """The Linear layers of a torch state_dict as a chain of ReLU layers (last one linear)."""
    return import_state_dict(path, prune_quality).layers
