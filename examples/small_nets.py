"""Models of other shapes than the LeNet presets, for the examples (import as ``examples.small_nets``)."""

from torch import nn


def mlp_784_500_200_10() -> nn.Module:
    """A three-layer perceptron 784-500-200-10 with ReLU (494K weights) for 28x28 grey images."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 200), nn.ReLU(),
                         nn.Linear(200, 10))
