"""From PyTorch to the accelerator: compressed models, torch modules and state_dicts to EIE layers and a graph.

Every import says what it did: which tensors or layers became which EIE layers, which operations
run on the host between them (the partition, ``ModelImport.report``), and what was left out and
why. A model's dataflow comes from its recorded graph (``accel.models.graph``): traced from ``forward``
for a module or a compressed model written by this version, declared (``activations``) or assumed
(a chain with ReLU between layers) for a state_dict and for files written before graphs were recorded.
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
import torch.nn.functional as F
from torch import nn

from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from accel.models.compressed_file import CompressedModel
from accel.models.graph import ACTIVATIONS, ModelGraph, chain_graph, record_shapes, run_graph
from accel.models.pruning import make_permanent, prune_by_std
from accel.models.quantization import codebook_and_codes, quantize_layer
from accel.models.recurrent import stack_recurrent
from accel.models.tensor_kinds import REAL_FLOAT_DTYPES, check_kind
from accel.models.tracing import conv_tensors, fused_relus, trace_model

EIE_BITS = 4
SKIP_OPTION = "--skip-unsupported"
"""The command-line option that accepts leaving out operations EIE does not run."""
ACTIVATIONS_OPTION = "--activations"


@dataclass
class ModelImport:
    """The EIE layers of an imported model, its graph with the host's tensors, and how they were obtained."""

    layers: list[QuantizedLayer]
    graph: ModelGraph
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    """Host tensors by name (the graph's params and each convolution's ``LAYER.weight`` / ``LAYER.bias``)."""
    float_weights: dict[str, tuple[torch.Tensor, torch.Tensor | None]] | None = None
    """Each EIE layer's weights before quantization, when the source has them (a module or a state_dict)."""
    mapping: list[dict] = field(default_factory=list)
    """One entry per EIE layer: its name, the tensors or model layer it came from, shape, ReLU."""
    skipped: list[dict] = field(default_factory=list)
    """Tensors or model layers left out, each with the reason."""
    approximations: list[str] = field(default_factory=list)
    """What makes the simulated model differ from the source model (empty when it is the model's own dataflow)."""

    def layer(self, name: str) -> QuantizedLayer:
        return next(layer for layer in self.layers if layer.name == name)

    def partition(self) -> list[dict]:
        return self.graph.partition()

    def report(self) -> dict:
        return {"graph": self.graph.origin, "partition": self.partition(), "layers": self.mapping,
                "skipped": self.skipped, "approximations": self.approximations}

    def lines(self) -> list[str]:
        """The import record as short lines for a terminal."""
        lines = [f"layer {entry['layer']}: {entry['source']} -> {entry['shape'][0]}x{entry['shape'][1]}"
                 f"{', ReLU' if entry['relu'] else ''}{' (' + entry['note'] + ')' if entry.get('note') else ''}"
                 for entry in self.mapping]
        lines += [f"skipped {entry['source']}: {entry['reason']}" for entry in self.skipped]
        lines += [f"approximated: {text}" for text in self.approximations]
        return lines


def torch_forward(imported: ModelImport, inputs: torch.Tensor, quantized: bool = True,
                  values: dict[str, object] | None = None, magnitudes: dict[str, float] | None = None) -> torch.Tensor:
    """The imported model in float torch: EIE layers with their quantized weights, or the weights before quantization.

    ``values``, when given, receives every graph node's value; ``magnitudes`` each EIE layer's largest
    absolute value entering it or leaving it (after its ReLU): what its fixed point must hold."""
    if not quantized and imported.float_weights is None:
        raise UserError("the weights before quantization are not known for this source (a compressed file holds only "
                        "the quantized ones)")
    weights = {}
    for layer in imported.layers:
        if quantized:
            bias = None if layer.bias is None else torch.from_numpy(layer.bias).float()
            weights[layer.name] = (torch.from_numpy(layer.dense_weights()).float(), bias, layer.relu)
        else:
            weight, bias = imported.float_weights[layer.name]
            weights[layer.name] = (weight, bias, layer.relu)

    def linear(name: str, x: torch.Tensor) -> torch.Tensor:
        weight, bias, relu = weights[name]
        y = F.linear(x, weight, bias)
        y = torch.relu(y) if relu else y
        if magnitudes is not None:
            magnitudes[name] = max(magnitudes.get(name, 0.0), float(x.abs().max()), float(y.abs().max()))
        return y

    with torch.no_grad():
        return run_graph(imported.graph, inputs, imported.tensors, linear, values)


def _with_shapes(imported: ModelImport) -> ModelImport:
    """Record the shapes of a chain's nodes by running it on one zero input."""
    values: dict[str, object] = {}
    torch_forward(imported, torch.zeros(1, *imported.graph.input_shape), values=values)
    imported.graph = record_shapes(imported.graph, values)
    return imported


# Compressed models ------------------------------------------------------------------------------

def import_compressed(model: CompressedModel, skip_unsupported: bool = False) -> ModelImport:
    """The fully connected layers of a compressed model on EIE, everything else of its graph on the host."""
    if not any(layer.kind == "linear" for layer in model.layers):
        raise UserError("the compressed model has no fully connected layers to run on EIE")
    graph = model.model_graph()
    layers = {layer.name: layer for layer in model.layers}
    result = ModelImport(layers=[], graph=graph)
    for name in graph.eie_layers():
        layer = layers[name]
        if layer.bits > EIE_BITS or layer.codebook[0] != 0.0:
            raise UserError(f"layer {layer.name!r} has {layer.bits}-bit weights"
                            f"{'' if layer.codebook[0] == 0.0 else ' without a reserved zero'}; EIE needs codes of "
                            f"at most {EIE_BITS} bits with entry 0 = 0: compress with --bits hardware")
        # Codes of fewer than 4 bits run as 4-bit codes: the codebook is padded with unused zero entries.
        codebook = np.concatenate([layer.codebook, np.zeros((1 << EIE_BITS) - layer.codebook.size)])
        result.layers.append(QuantizedLayer(codes=layer.codes.astype(np.uint8), codebook=codebook, bias=layer.bias,
                                            relu=layer.relu, name=layer.name))
        source = f"{layer.module_type} {layer.module!r}" + (f" gates of layer {name.rpartition('.l')[2]}"
                                                             if layer.module_type in ("LSTM", "LSTMCell") else "")
        result.mapping.append({"layer": layer.name, "source": source, "shape": list(layer.shape), "relu": layer.relu})
    result.tensors = {name: torch.from_numpy(value) for name, value in graph.params.items()}
    if graph.origin == "assumed":
        _assumed_chain(model, result, skip_unsupported)
        _with_shapes(result)
    else:
        for layer in model.layers:
            if layer.kind == "conv2d":
                result.tensors[f"{layer.name}.weight"] = torch.from_numpy(layer.weight())
                if layer.bias is not None:
                    result.tensors[f"{layer.name}.bias"] = torch.from_numpy(layer.bias.astype(np.float32))
    return result


def _assumed_chain(model: CompressedModel, result: ModelImport, skip_unsupported: bool) -> None:
    """A file without a graph: its conv layers are left out (refused between FC layers unless accepted)."""
    linear = [index for index, layer in enumerate(model.layers) if layer.kind == "linear"]
    between = []
    for index, layer in enumerate(model.layers):
        if layer.kind == "linear":
            continue
        source = f"{layer.kind} layer {layer.name!r}"
        inside = linear[0] < index < linear[-1]
        reason = ("EIE runs fully connected layers only; the first fully connected layer gets the simulated "
                  "input vector instead of this layer's output") if not inside else "EIE runs fully connected layers only"
        result.skipped.append({"source": source, "reason": reason})
        if inside:
            between.append(source)
    _check_between(result, between, skip_unsupported)
    result.approximations.append("the file records no graph (written before graphs were recorded): its fully connected "
                                 "layers are assumed to form a chain with the ReLU flags stored per layer; upgrade it "
                                 "with `python -m accel.models.compressed_file upgrade FILE`, or recompress to record the "
                                 "model's dataflow")


def layers_from_compressed(model: CompressedModel) -> list[QuantizedLayer]:
    """The fully connected layers of a compressed model, in the order its graph runs them."""
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


def import_module(model: nn.Module, example: torch.Tensor | None = None, prune_quality: float | None = None,
                  init: str = "linear", seed: int = 0) -> ModelImport:
    """Any module's dataflow, traced from its forward: its Linear layers (and LSTM gates) quantized to 4-bit codes
    for EIE, optionally pruned first, every other operation on the host. The module itself is left untouched.

    With ``example`` (a batch of inputs) the traced graph is checked against the module's own outputs.
    """
    model = copy.deepcopy(model)
    stack_recurrent(model)
    graph = trace_model(model, example)
    relus = fused_relus(graph)
    if not relus:
        raise UserError("the model has no nn.Linear layers to run on EIE")
    modules = dict(model.named_modules())
    result = ModelImport(layers=[], graph=graph, float_weights={})
    for name in graph.eie_layers():
        module = modules[name]
        result.layers.append(quantize_linear(module, name, relus[name], prune_quality, init, seed))
        result.float_weights[name] = (module.weight.detach().clone(),
                                      None if module.bias is None else module.bias.detach().clone())
        result.mapping.append({"layer": name, "source": f"{type(module).__name__} {name!r}",
                               "shape": [module.out_features, module.in_features], "relu": relus[name]})
    result.tensors = {**{name: torch.from_numpy(value) for name, value in graph.params.items()},
                      **{key: value.clone() for key, value in conv_tensors(graph, model).items()}}
    if prune_quality is not None:
        result.approximations.append(_pruned_note(prune_quality))
    return result


def quantize_linear_layers(model: nn.Module, prune_quality: float | None = None, init: str = "linear",
                           seed: int = 0) -> list[QuantizedLayer]:
    """Quantize the Linear layers of any module to 4-bit codes (15 centroids + zero), optionally pruning first.

    Each layer's ReLU flag comes from the model's traced forward (``import_module``), in any spelling.
    The module itself is left untouched.
    """
    return import_module(model, prune_quality=prune_quality, init=init, seed=seed).layers


def parse_activations(text: str | list[str] | None, count: int) -> list[str] | None:
    """``relu,gelu,none`` (or a list) -> one activation per Linear layer, checked against ``ACTIVATIONS``."""
    if text is None:
        return None
    names = [name.strip().lower() for name in (text.split(",") if isinstance(text, str) else text)]
    unknown = sorted(set(names) - set(ACTIVATIONS))
    if unknown or len(names) != count:
        raise UserError(f"{ACTIVATIONS_OPTION} must name one activation per Linear layer ({count}), each one of "
                        f"{', '.join(ACTIVATIONS)}; got {', '.join(names)}")
    return names


def _pruned_note(prune_quality: float) -> str:
    return (f"weights pruned at quality {prune_quality:g} (|w| < quality x std set to zero) before 4-bit quantization, "
            "without retraining")


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
                      seed: int = 0, activations: str | list[str] | None = None) -> ModelImport:
    """The Linear layers of a torch state_dict as a chain on the flattened input.

    A state_dict records no activations: ``activations`` declares the one after each Linear layer
    (``relu`` fused into EIE's layer; ``gelu``, ``tanh``, ``sigmoid``, ``silu`` on the host; ``none``);
    without it ReLU is assumed between layers and none after the last, and the import says so.
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
    names = [module or "linear" for module in linear]
    declared = parse_activations(activations, len(linear))
    chosen = declared or ["relu"] * (len(linear) - 1) + ["none"]
    result = ModelImport(layers=[], graph=chain_graph(names, chosen, "declared" if declared else "assumed"),
                         float_weights={})
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
        activation = chosen[len(result.layers)]
        relu = activation == "relu"
        result.layers.append(quantize_linear(linear_module, name, relu, prune_quality, seed=seed))
        result.float_weights[name] = (linear_module.weight.detach(), None if bias is None else linear_module.bias.detach())
        prefix = f"{module}." if module else ""
        note = f"then {activation} on the host" if activation not in ("relu", "none") else ""
        if declared is None and relu:
            note = f"assumed: a state_dict does not record activations; declare them with {ACTIVATIONS_OPTION}"
        result.mapping.append({"layer": name, "source": f"{prefix}weight" + (f" + {prefix}bias" if bias is not None else ""),
                               "shape": [rows, cols], "relu": relu, "note": note})
    result.graph.input_shape = [result.layers[0].cols]
    _check_between(result, between, skip_unsupported)
    if prune_quality is not None:
        result.approximations.append(_pruned_note(prune_quality))
    return _with_shapes(result)


def _check_linear_tensors(path: str | Path, name: str, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if weight.dtype not in REAL_FLOAT_DTYPES or weight.numel() == 0 or not bool(torch.isfinite(weight.float()).all()):
        raise UserError(f"{path}: Linear layer {name!r} weight must hold finite floating-point values, "
                        f"has dtype {weight.dtype} and shape {tuple(weight.shape)}")
    if bias is not None and (bias.dtype not in REAL_FLOAT_DTYPES or tuple(bias.shape) != (weight.shape[0],)
                             or not bool(torch.isfinite(bias.float()).all())):
        raise UserError(f"{path}: Linear layer {name!r} bias must hold {weight.shape[0]} finite floating-point values, "
                        f"has dtype {bias.dtype} and shape {tuple(bias.shape)}")


def layers_from_state_dict(path: str | Path, prune_quality: float | None = None) -> list[QuantizedLayer]:
    """The Linear layers of a torch state_dict as a chain with ReLU assumed between them."""
    return import_state_dict(path, prune_quality).layers
