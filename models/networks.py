"""The papers' LeNets, and the list of layers a compression pass works on in any module."""

from __future__ import annotations

import torch
from torch import nn

from accel.arch.errors import UserError

NETWORKS = ("lenet300", "lenet5")


class LeNet300100(nn.Module):
    """LeNet-300-100: fully connected 784-300-100-10 with ReLU (267K weights)."""

    def __init__(self, classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(784, 300), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(300, 100), nn.ReLU(), nn.Dropout(dropout), nn.Linear(100, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)


class LeNet5(nn.Module):
    """LeNet-5, Caffe variant: conv 20 5x5, pool, conv 50 5x5, pool, fc 800-500, fc 500-10 (431K weights)."""

    def __init__(self, classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(800, 500), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(500, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_network(name: str, classes: int = 10, dropout: float = 0.0) -> nn.Module:
    if name == "lenet300":
        return LeNet300100(classes, dropout)
    if name == "lenet5":
        return LeNet5(classes, dropout)
    raise UserError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")


def compressible_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Linear and Conv2d layers of ``model``, in definition order, with their qualified names."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, (nn.Linear, nn.Conv2d))]


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules without children of their own (parametrizations do not count), in definition order."""
    return [(name, module) for name, module in model.named_modules()
            if "parametrizations" not in name.split(".")
            and not [child for child, _ in module.named_children() if child != "parametrizations"]]
