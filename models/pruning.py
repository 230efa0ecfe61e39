"""Magnitude pruning after Han et al. 2015: threshold = quality x std of the layer's weights.

Masks use ``torch.nn.utils.prune`` (``weight_orig`` x ``weight_mask``; the rule is the pruning
method ``StdUnstructured``), so pruned weights stay at zero through retraining and repeated pruning
combines masks, with a model pruned by torch's own methods too.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import prune

from accel.arch.errors import UserError
from accel.models.networks import compressible_layers, leaf_modules


def current_weight(module: nn.Module, name: str = "weight") -> torch.Tensor:
    """The layer's weight now: ``weight_orig x weight_mask`` under a prune mask (the attribute lags one step)."""
    mask = getattr(module, f"{name}_mask", None)
    if mask is None:
        return getattr(module, name).detach()
    return (getattr(module, f"{name}_orig") * mask).detach()


def check_quality(quality: float) -> None:
    """A pruning quality is a finite number >= 0 (NaN would prune nothing and say nothing)."""
    if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not (math.isfinite(quality) and quality >= 0):
        raise UserError(f"the pruning quality must be a finite number >= 0 (threshold = quality x std), got {quality!r}")


def std_threshold(weight: torch.Tensor, quality: float, mask: torch.Tensor | None = None) -> float:
    """Pruning threshold of one layer: ``quality`` x std of its (surviving) weights."""
    check_quality(quality)
    values = weight if mask is None else weight[mask.bool()]
    return quality * float(values.std()) if values.numel() > 1 else 0.0


class StdUnstructured(prune.BasePruningMethod):
    """Prune the entries with |w| < quality x std of the surviving entries (the papers' rule), as a torch method."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, quality: float) -> None:
        self.quality = quality

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        threshold = std_threshold(t.detach() * default_mask, self.quality, default_mask)
        return default_mask * (t.detach().abs() >= threshold).to(default_mask.dtype)


def std_unstructured(module: nn.Module, name: str, quality: float) -> nn.Module:
    """Like ``torch.nn.utils.prune.l1_unstructured``, with the std rule; masks combine with earlier ones."""
    check_quality(quality)
    StdUnstructured.apply(module, name, quality=quality)
    return module


def prune_by_std(module: nn.Module, quality: float, name: str = "weight") -> float:
    """Prune ``module.<name>`` where |w| < quality x std of its surviving weights; returns the threshold used."""
    threshold = std_threshold(current_weight(module, name), quality, getattr(module, f"{name}_mask", None))
    std_unstructured(module, name, quality)
    return threshold


def quality_for_kept(module: nn.Module, kept: float, name: str = "weight") -> float:
    """The quality whose std threshold keeps about ``kept`` of the layer's original weights.

    Lets a schedule name a kept fraction per layer (read off the sensitivity curves) while the
    pruning itself stays the paper's rule: |w| < quality x std of the surviving weights.
    """
    mask = getattr(module, f"{name}_mask", None)
    weight = current_weight(module, name)
    magnitudes = weight.abs().flatten().float()
    if not 0.0 < kept <= 1.0:
        raise UserError(f"a kept fraction must lie in (0, 1], got {kept}")
    if kept >= 1.0:
        return 0.0
    threshold = float(torch.kthvalue(magnitudes, max(1, int(round((1.0 - kept) * magnitudes.numel())))).values)
    std = std_threshold(weight, 1.0, mask)
    return threshold / std if std > 0 else 0.0


def prune_to_kept(model: nn.Module, kept: dict[str, float]) -> dict[str, float]:
    """Prune each named layer to about ``kept[name]`` of its weights by the std rule; returns the qualities."""
    qualities = {}
    for name, module in compressible_layers(model):
        if name in kept:
            qualities[name] = quality_for_kept(module, kept[name])
            prune_by_std(module, qualities[name])
    return qualities


def kept_fraction(module: nn.Module) -> float:
    return float((current_weight(module) != 0).float().mean())


def kept_fractions(model: nn.Module) -> dict[str, float]:
    return {name: kept_fraction(module) for name, module in compressible_layers(model)}


def apply_masks_where_read(model: nn.Module) -> None:
    """Apply the pruning masks of the layers a parent reads without calling them before every forward of that parent.

    torch's pruning recomputes ``weight = weight_orig * weight_mask`` in a hook that runs when the layer's own
    forward runs; ``nn.MultiheadAttention`` reads ``out_proj.weight`` directly, so without this its out-projection
    would keep the weight computed at pruning time (and training would backpropagate through it twice)."""
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention) and _MASKS_APPLIED not in module._forward_pre_hooks.values():
            module.register_forward_pre_hook(_MASKS_APPLIED)


def _apply_child_masks(parent: nn.Module, _inputs: tuple) -> None:
    for child in parent.children():
        for hook in list(child._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                hook(child, ())


_MASKS_APPLIED = _apply_child_masks


def make_permanent(model: nn.Module) -> None:
    """Fold masks into the weights (``prune.remove``): the zeros stay, the reparametrisation goes."""
    for _, module in compressible_layers(model):
        if prune.is_pruned(module) and hasattr(module, "weight_mask"):
            prune.remove(module, "weight")


def rescaled_dropout(original: float, connections_original: float, connections_retrained: float) -> float:
    """Dropout rate for retraining: D_r = D_o x sqrt(C_ir / C_io)."""
    return original * math.sqrt(connections_retrained / connections_original)


def rescale_dropout(model: nn.Module, original: float, kept: dict[str, float]) -> None:
    """Set each Dropout that feeds a Linear layer to its rescaled rate (layer kept fraction = C_ir / C_io)."""
    pending: list[nn.Dropout] = []
    for name, module in leaf_modules(model):
        if isinstance(module, nn.Dropout):
            pending.append(module)
        elif isinstance(module, nn.Linear):
            for dropout in pending:
                dropout.p = rescaled_dropout(original, 1.0, kept.get(name, 1.0))
            pending = []
        elif not isinstance(module, (nn.Flatten, nn.ReLU)):
            pending = []


def sensitivity(model: nn.Module, evaluate, fractions: Iterable[float]) -> list[dict]:
    """Accuracy when each layer alone has its smallest-magnitude ``fraction`` of weights pruned.

    Fractions count the layer's original weights; a layer already pruned (a ``torch.nn.utils.prune``
    mask) keeps its mask and loses more. Each layer is restored after its sweep.
    """
    rows = []
    for name, module in compressible_layers(model):
        masked = hasattr(module, "weight_mask")
        target = module.weight_mask if masked else module.weight
        saved = target.detach().clone()
        magnitudes = current_weight(module).abs()
        for fraction in fractions:
            with torch.no_grad():
                if fraction > 0:
                    cutoff = torch.quantile(magnitudes.flatten().float(), min(fraction, 1.0))
                    target.copy_(torch.where(magnitudes > cutoff, saved, torch.zeros_like(saved)))
                rows.append({"layer": name, "fraction_pruned": fraction, "accuracy": evaluate(model)})
                target.copy_(saved)
    return rows


def copy_module(model: nn.Module) -> nn.Module:
    """``copy.deepcopy`` that also copies modules pruned by torch after a forward pass (their weight is no leaf)."""
    memo = {}
    for _, module in model.named_modules():
        for name, _ in list(module.named_buffers(recurse=False)):
            if name.endswith("_mask") and isinstance(getattr(module, name[:-5], None), torch.Tensor):
                derived = getattr(module, name[:-5])
                memo[id(derived)] = derived.detach().clone()
    return copy.deepcopy(model, memo)
