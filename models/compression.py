"""Deep Compression of any ``nn.Module`` from its trained weights.

    result = deep_compress(model, trainer=train_loader, evaluate=accuracy_of, schedule=Schedule(...))
    result.model        # a copy of the model: shared weights, pruned ones masked by torch.nn.utils.prune
    result.compressed   # CompressedModel: .save("model.dc.npz"), later .load(...).load_into(fresh_model)
    result.summary()    # accuracies and rates in the papers' columns

Linear and Conv2d layers are pruned (prune and retrain, in rounds), weight-shared (k-means per
layer, then centroid fine-tuning) and Huffman-coded; every other layer is kept as it is and listed.
An ``nn.LSTM`` / ``nn.LSTMCell`` is first put in its stacked form (``accel.models.recurrent``): each layer's
gate matrix ``[W_ih W_hh]`` is compressed as one fully connected layer, as EIE runs it. The model's
dataflow is traced from its forward (``accel.models.tracing``) before any training, and recorded in the
compressed file.
Masks are ``torch.nn.utils.prune`` masks: a model pruned there is accepted as it is (its masks stay
and combine with the schedule's), and the returned model looks pruned to it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from accel.arch.errors import UserError
from accel.arch.progress import progress as progress_bar
from accel.models.compressed_file import CompressedLayer, CompressedModel, compress_module
from accel.models.graph import ACTIVATIONS, ModelGraph, chain_graph
from accel.models.networks import compressible_layers
from accel.models.pruning import (
    apply_masks_where_read,
    copy_module,
    kept_fractions,
    make_permanent,
    prune_by_std,
    prune_to_kept,
    rescale_dropout,
    sensitivity,
)
from accel.models.quantization import INITS, layer_bits, quantize_layer
from accel.models.recurrent import stack_recurrent
from accel.models.size_report import LayerSize, total_row
from accel.models.tracing import trace_model

ALL = "*"
"""Key that stands for every layer a schedule entry does not name."""
PRUNE_BY = ("kept", "quality")
INDEX_BITS_AUTO = range(3, 9)
SENSITIVITY_FRACTIONS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)

Trainer = Callable[[nn.Module, int, str], None]
"""``trainer(model, epochs, stage)`` trains in place; ``stage`` is "retrain" or "finetune". Build the
optimizer inside, from the parameters that require grad: after quantization those are the codebooks."""
Evaluate = Callable[[nn.Module], float]
"""``evaluate(model)`` -> a quality figure (for example top-1 accuracy in %), higher is better."""


@dataclass
class Schedule:
    """What a compression run does to each layer, and how long it retrains."""

    prune: list[dict[str, float]] = field(default_factory=list)
    """One ``{layer name: value}`` per prune-and-retrain round; ``"*"`` stands for the layers not named."""
    prune_by: str = "kept"
    """"kept": the value is the fraction of the layer's original weights that survives (the std rule's
    quality is chosen to reach it); "quality": prune |w| < value x std of the surviving weights."""
    bits: int | str | dict[str, int] = "hardware"
    """Weight bits: a number, "hardware" (conv 8 / fc 4), "paper" (conv 8 / fc 5), or per layer name
    (layers not named take ``"*"``, else "hardware")."""
    index_bits: int | str | dict[str, int] = 5
    """Relative-index bits in the file: a number, per layer name (default 5), or "auto" (the width among
    3..8 that codes the layer smallest after Huffman coding)."""
    init: str = "linear"
    retrain_epochs: int = 3
    finetune_epochs: int = 2
    lr: float = 0.005
    finetune_lr: float | None = None
    """Learning rate of the centroid fine-tuning (default: ``lr``); each centroid sums its weights' gradients."""
    momentum: float = 0.9
    weight_decay: float = 1e-4
    """L2 while retraining after pruning; centroid fine-tuning runs without it."""
    dropout: float = 0.0
    """The model's dropout rate; when set, Dropout before each Linear layer is rescaled to the kept connections."""
    activations: list[str] | None = None
    """For a model torch.fx cannot trace: the activation after each Linear layer in definition order
    (``relu``, ``gelu``, ``tanh``, ``sigmoid``, ``silu``, ``none``), declaring its dataflow a chain."""
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict, source: str = "schedule") -> "Schedule":
        """A schedule from parsed JSON; unknown keys and wrong types get one line naming them."""
        if not isinstance(values, dict):
            raise UserError(f"{source} must be a JSON object with keys such as prune, bits, retrain_epochs")
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(f"{source}: unknown keys {unknown}; known keys: {sorted(names)}")
        schedule = cls(**values)
        schedule.validate(source)
        return schedule

    def validate(self, source: str = "schedule") -> None:
        if not isinstance(self.prune, list) or not all(isinstance(step, dict) for step in self.prune):
            raise UserError(f"{source}: prune must be a list of rounds, each an object {{layer name: value}}")
        for step in self.prune:
            for layer, value in step.items():
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    raise UserError(f"{source}: prune value of {layer!r} must be a finite number, got {value!r}")
                if self.prune_by == "kept" and not 0.0 < value <= 1.0:
                    raise UserError(f"{source}: kept fraction of {layer!r} must lie in (0, 1], got {value}")
                if self.prune_by == "quality" and value < 0:
                    raise UserError(f"{source}: quality of {layer!r} must be at least 0, got {value}")
        if self.prune_by not in PRUNE_BY:
            raise UserError(f"{source}: prune_by must be one of {', '.join(PRUNE_BY)}, got {self.prune_by!r}")
        if self.init not in INITS:
            raise UserError(f"{source}: init must be one of {', '.join(INITS)}, got {self.init!r}")
        for key in ("retrain_epochs", "finetune_epochs"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UserError(f"{source}: {key} must be a whole number >= 0, got {value!r}")
        for key in ("lr", "finetune_lr", "momentum", "weight_decay", "dropout"):
            value = getattr(self, key)
            if key == "finetune_lr" and value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise UserError(f"{source}: {key} must be a finite number >= 0, got {value!r}")
        if self.dropout >= 1:
            raise UserError(f"{source}: dropout must be below 1, got {self.dropout!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 1 << 32:
            raise UserError(f"{source}: seed must be a whole number from 0 to {(1 << 32) - 1}, got {self.seed!r}")
        if self.activations is not None and (not isinstance(self.activations, list)
                                             or not set(self.activations) <= set(ACTIVATIONS)):
            raise UserError(f"{source}: activations must be a list naming, for each Linear layer, one of "
                            f"{', '.join(ACTIVATIONS)}; got {self.activations!r}")
        widths = self.index_bits.values() if isinstance(self.index_bits, dict) else [self.index_bits]
        if not all(width == "auto" or (isinstance(width, int) and 1 <= width <= 16) for width in widths):
            raise UserError(f"{source}: index_bits must be 1..16 or \"auto\", one for all layers or per layer, "
                            f"got {self.index_bits!r}")

    def layer_names(self) -> set[str]:
        """Every layer name the schedule mentions (``"*"`` excluded)."""
        names = {name for step in self.prune for name in step}
        for values in (self.bits, self.index_bits):
            if isinstance(values, dict):
                names |= set(values)
        return names - {ALL}


def per_layer(values: dict, name: str, default=None):
    """``values[name]``, else the ``"*"`` entry, else ``default``."""
    return values.get(name, values.get(ALL, default))


def check_layers(schedule: Schedule, names: list[str]) -> None:
    unknown = sorted(schedule.layer_names() - set(names))
    if unknown:
        raise UserError(f"the schedule names layers {unknown} that the model lacks; its Linear/Conv2d layers: {names}")


def loader_trainer(loader: Iterable, schedule: Schedule, loss_fn: Callable | None = None,
                   progress: bool = True) -> Trainer:
    """A trainer over batches ``(inputs, targets)``: SGD with momentum and cosine decay, cross-entropy by default."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()

    def trainer(model: nn.Module, epochs: int, stage: str) -> None:
        parameters = [p for p in model.parameters() if p.requires_grad]
        retrain = stage == "retrain"
        lr = schedule.lr if retrain or schedule.finetune_lr is None else schedule.finetune_lr
        optimizer = torch.optim.SGD(parameters, lr=lr, momentum=schedule.momentum,
                                    weight_decay=schedule.weight_decay if retrain else 0.0)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs))
        for epoch in range(epochs):
            model.train()
            for inputs, targets in progress_bar(loader, description=f"{stage} {epoch + 1}/{epochs}", enabled=progress):
                optimizer.zero_grad()
                loss_fn(model(inputs), targets).backward()
                optimizer.step()
            cosine.step()

    return trainer


def other_layers(model: nn.Module) -> list[dict]:
    """Modules with parameters of their own that are not compressed (kept as they are)."""
    rows = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)) or "parametrizations" in name.split("."):
            continue
        count = sum(p.numel() for p in module.parameters(recurse=False))
        if count:
            rows.append({"layer": name, "type": type(module).__name__, "parameters": count})
    return rows


def prune_round(model: nn.Module, step: dict[str, float], by: str) -> dict[str, float]:
    """Prune each layer the round covers; returns the std-rule quality used per layer."""
    layers = compressible_layers(model)
    values = {name: per_layer(step, name) for name, _ in layers}
    values = {name: value for name, value in values.items() if value is not None}
    apply_masks_where_read(model)
    if by == "kept":
        return prune_to_kept(model, values)
    for name, module in layers:
        if name in values:
            prune_by_std(module, values[name])
    return values


def choose_index_bits(layer: CompressedLayer, choice: int | str | dict[str, int]) -> None:
    """Set the layer's relative-index width: fixed, per layer, or the smallest after Huffman coding."""
    if isinstance(choice, dict):
        choice = per_layer(choice, layer.name, 5)
    if choice != "auto":
        layer.index_bits = int(choice)
        return
    sizes = {}
    for bits in INDEX_BITS_AUTO:
        layer.index_bits = bits
        sizes[bits] = layer.size().huffman_bits
    layer.index_bits = min(sizes, key=sizes.get)


def unshare(model: nn.Module) -> None:
    """Turn the quantized layers into plain weights ``codebook[codes]`` with a prune mask on the zero code."""
    for _, module in compressible_layers(model):
        if not parametrize.is_parametrized(module, "weight"):
            continue
        shared = module.parametrizations.weight[0]
        codes, reserve_zero = shared.codes.clone(), shared.reserve_zero
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        module.weight.requires_grad_(True)
        if reserve_zero:
            prune.custom_from_mask(module, "weight", (codes != 0).to(module.weight.dtype))


@dataclass
class CompressionResult:
    """Quality after each stage, the compressed model, its sizes and timings."""

    name: str
    settings: dict
    accuracy_dense: float
    accuracy_pruned: float
    accuracy_quantized: float
    kept: dict[str, float]
    qualities: list[dict[str, float]]
    """The std-rule quality each prune round used per layer."""
    bits: dict[str, int]
    compressed: CompressedModel
    sizes: list[LayerSize]
    seconds: dict[str, float]
    """Wall-clock seconds per stage."""
    cpu_seconds: float
    """CPU time of this process over the whole run (below the wall time when cores are shared)."""
    model: nn.Module
    data_name: str = ""
    sensitivity: list[dict] = field(default_factory=list)
    uncompressed: list[dict] = field(default_factory=list)
    """Layers kept as they are (not Linear/Conv2d); the rates cover the compressed layers."""

    @property
    def wall_seconds(self) -> float:
        return sum(self.seconds.values())

    def summary(self) -> dict:
        total = total_row(self.sizes)
        return {
            "network": self.name, "data": self.data_name,
            "accuracy_dense": self.accuracy_dense, "accuracy_pruned": self.accuracy_pruned,
            "accuracy_quantized": self.accuracy_quantized, "kept_fraction": self.kept, "bits": self.bits,
            "index_bits": {layer.name: layer.index_bits for layer in self.compressed.layers},
            "rate_pruning_params": total["rate_P_params"], "rate_pruning_storage": total["rate_P_storage"],
            "rate_PQ": total["rate_PQ"], "rate_PQH": total["rate_PQH"], "original_bytes": total["original_bytes"],
            "compressed_bytes": total["PQH_bytes"], "uncompressed_layers": self.uncompressed,
            "seconds": self.seconds, "wall_seconds": self.wall_seconds, "cpu_seconds": self.cpu_seconds,
            "torch_threads": torch.get_num_threads(), "qualities": self.qualities, "settings": self.settings,
        }


def deep_compress(model: nn.Module, trainer: Trainer | Iterable, evaluate: Evaluate, schedule: Schedule, *,
                  name: str | None = None, sensitivity_fractions: Iterable[float] = (), network: str | None = None,
                  loss_fn: Callable | None = None, progress: bool = True, inplace: bool = False,
                  example: torch.Tensor | None = None) -> CompressionResult:
    """Prune and retrain, share weights and fine-tune the centroids, Huffman-code; the model's own weights are the start.

    ``trainer`` is a ``Trainer`` or an iterable of ``(inputs, targets)`` batches (then SGD on ``loss_fn``,
    cross-entropy by default, with the schedule's learning rates). ``sensitivity_fractions`` also sweeps each layer alone before
    pruning. ``network`` names a built-in network in the file. ``example`` (a few inputs) checks the traced
    graph against the model and records the input shape. The model is copied unless ``inplace``.
    """
    schedule.validate()
    check_finite(model, "holds", "compress a model whose weights are all finite")
    model = model if inplace else copy_module(model)
    stack_recurrent(model)
    names = [layer for layer, _ in compressible_layers(model)]
    if not names:
        raise UserError("the model has no nn.Linear or nn.Conv2d layers to compress")
    check_layers(schedule, names)
    graph = model_graph(model, schedule, example)
    train = trainer if _is_trainer(trainer) else loader_trainer(trainer, schedule, loss_fn, progress)
    seconds: dict[str, float] = {}
    cpu_start = time.process_time()

    start = time.perf_counter()
    accuracy_dense = evaluate(model)
    sweep = sensitivity(model, evaluate, sensitivity_fractions) if sensitivity_fractions else []
    seconds["sensitivity"] = time.perf_counter() - start

    start = time.perf_counter()
    qualities = []
    for step in schedule.prune:
        qualities.append(prune_round(model, step, schedule.prune_by))
        if schedule.dropout:
            rescale_dropout(model, schedule.dropout, kept_fractions(model))
        train(model, schedule.retrain_epochs, "retrain")
        check_finite(model, "holds after retraining", "lower the schedule's lr")
    make_permanent(model)
    accuracy_pruned = evaluate(model)
    kept = kept_fractions(model)
    seconds["prune"] = time.perf_counter() - start

    start = time.perf_counter()
    bits = {}
    for layer, module in compressible_layers(model):
        chosen = per_layer(schedule.bits, layer, "hardware") if isinstance(schedule.bits, dict) else schedule.bits
        bits[layer] = layer_bits(module, chosen, layer)
        quantize_layer(module, bits[layer], schedule.init, reserve_zero=True, seed=schedule.seed)
    train(model, schedule.finetune_epochs, "finetune")
    check_finite(model, "holds after fine-tuning the centroids", "lower the schedule's finetune_lr (or lr)")
    accuracy_quantized = evaluate(model)
    seconds["quantize"] = time.perf_counter() - start

    start = time.perf_counter()
    compressed = compress_module(model, network, graph=graph)
    for layer in compressed.layers:
        choose_index_bits(layer, schedule.index_bits)
    sizes = compressed.sizes()
    unshare(model)
    seconds["huffman"] = time.perf_counter() - start
    return CompressionResult(name or type(model).__name__, dataclasses.asdict(schedule), accuracy_dense,
                             accuracy_pruned, accuracy_quantized, kept, qualities, bits, compressed, sizes, seconds,
                             time.process_time() - cpu_start, model, sensitivity=sweep,
                             uncompressed=other_layers(model))


def model_graph(model: nn.Module, schedule: Schedule, example: torch.Tensor | None) -> ModelGraph:
    """The model's dataflow: traced from its forward, or the chain the schedule's ``activations`` declare."""
    if schedule.activations is None:
        return trace_model(model, example)
    linear = [name for name, module in compressible_layers(model) if isinstance(module, nn.Linear)]
    if len(schedule.activations) != len(linear):
        raise UserError(f"the schedule's activations name {len(schedule.activations)} activations but the model has "
                        f"{len(linear)} Linear layers: {linear}")
    return chain_graph(linear, schedule.activations, "declared", None if example is None else list(example.shape[1:]))


def check_finite(model: nn.Module, state: str, fix: str) -> None:
    """One line naming the first floating-point parameter or buffer that holds NaN or infinity."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(f"the model's {name} {state} NaN or infinite values; {fix}")


def _is_trainer(trainer) -> bool:
    return callable(trainer) and not isinstance(trainer, (torch.utils.data.DataLoader, Iterable))
