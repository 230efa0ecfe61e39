"""Trained quantization (weight sharing) after Deep Compression, section 3.

Per layer, k-means on the surviving weights gives a codebook of ``2**bits`` values; every weight
stores an index. With ``reserve_zero`` entry 0 is the exact zero (pruned weights) and the other
``2**bits - 1`` centroids are learned, as EIE needs. Fine-tuning keeps the assignments and trains
the centroids: the gradient of a centroid is the sum of its weights' gradients (indexing does it).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from accel.arch.errors import UserError
from accel.models.networks import compressible_layers

INITS = ("linear", "density", "random")
PRESETS = {"paper": {"conv": 8, "fc": 5}, "hardware": {"conv": 8, "fc": 4}}


def initial_centroids(values: torch.Tensor, k: int, init: str, seed: int = 0) -> torch.Tensor:
    """Linear: evenly spaced over [min, max]; density: evenly spaced quantiles of the CDF; random: Forgy."""
    if values.numel() == 0:
        return torch.zeros(k)
    if init == "linear":
        return torch.linspace(float(values.min()), float(values.max()), k)
    if init == "density":
        return torch.quantile(values.float(), torch.linspace(0, 1, k + 2)[1:-1])
    if init == "random":
        generator = torch.Generator().manual_seed(seed)
        picks = torch.randint(values.numel(), (k,), generator=generator)
        return values[picks].sort().values
    raise UserError(f"unknown centroid initialisation {init!r}; choose one of {', '.join(INITS)}")


def nearest(values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest of the sorted ``centroids`` for each value (ties go to the lower one)."""
    return torch.bucketize(values, (centroids[1:] + centroids[:-1]) / 2)


def kmeans_1d(values: torch.Tensor, k: int, init: str = "linear", iterations: int = 30, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's algorithm in one dimension; returns (sorted centroids, assignment of each value)."""
    centroids = initial_centroids(values, k, init, seed).sort().values
    assignment = nearest(values, centroids)
    for _ in range(iterations):
        sums = torch.zeros(k).index_add_(0, assignment, values)
        counts = torch.bincount(assignment, minlength=k).float()
        updated = torch.where(counts > 0, sums / counts.clamp(min=1), centroids).sort().values
        if torch.allclose(updated, centroids):
            break
        centroids = updated
        assignment = nearest(values, centroids)
    return centroids, assignment


class SharedWeights(nn.Module):
    """Parametrisation: the weight is ``codebook[codes]``; only the codebook trains."""

    def __init__(self, codebook: torch.Tensor, codes: torch.Tensor, reserve_zero: bool) -> None:
        super().__init__()
        self.codebook = nn.Parameter(codebook.clone())
        self.register_buffer("codes", codes)
        self.reserve_zero = reserve_zero
        if reserve_zero:
            self.codebook.register_hook(lambda grad: torch.cat([grad.new_zeros(1), grad[1:]]))

    def forward(self, _original: torch.Tensor) -> torch.Tensor:
        return self.codebook[self.codes]


def layer_bits(module: nn.Module, bits: int | str | dict[str, int], name: str) -> int:
    if isinstance(bits, dict):
        return bits[name]
    if isinstance(bits, str):
        if bits not in PRESETS:
            raise UserError(f"unknown bit preset {bits!r}; choose one of {', '.join(PRESETS)} or give a number")
        return PRESETS[bits]["conv" if isinstance(module, nn.Conv2d) else "fc"]
    return int(bits)


def quantize_layer(module: nn.Module, bits: int, init: str = "linear", reserve_zero: bool = True, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Share the weights of one (pruned) layer through a ``2**bits`` codebook and attach it; returns (codebook, codes)."""
    if not 1 <= bits <= 16:
        raise UserError(f"weight bits must lie between 1 and 16, got {bits}")
    weight = module.weight.detach().clone()
    k = 1 << bits
    if reserve_zero:
        survivors = weight != 0
        centroids, assignment = kmeans_1d(weight[survivors], k - 1, init, seed=seed)
        codebook = torch.cat([torch.zeros(1), centroids])
        codes = torch.zeros(weight.shape, dtype=torch.long)
        codes[survivors] = assignment + 1
    else:
        codebook, assignment = kmeans_1d(weight.flatten(), k, init, seed=seed)
        codes = assignment.reshape(weight.shape)
    if parametrize.is_parametrized(module, "weight"):
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
    module.weight.requires_grad_(False)
    parametrize.register_parametrization(module, "weight", SharedWeights(codebook, codes, reserve_zero), unsafe=True)
    return codebook, codes


def quantize_model(model: nn.Module, bits: int | str | dict[str, int] = "hardware", init: str = "linear",
                   reserve_zero: bool = True, seed: int = 0) -> dict[str, int]:
    """Quantize every Linear/Conv2d layer in place (prune masks must be folded first). Returns bits per layer."""
    chosen = {}
    for name, module in compressible_layers(model):
        chosen[name] = layer_bits(module, bits, name)
        quantize_layer(module, chosen[name], init, reserve_zero, seed)
    return chosen


def codebook_and_codes(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The trained codebook and the fixed codes of a quantized layer."""
    if not parametrize.is_parametrized(module, "weight"):
        raise UserError("layer is not quantized; run quantize_model first")
    shared = module.parametrizations.weight[0]
    return shared.codebook.detach().clone(), shared.codes.clone()
