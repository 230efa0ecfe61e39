"""Trained quantization: centroid initialisations, k-means, reserved zero, bit presets, centroid gradients."""

import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.models.networks import LeNet5
from accel.models.quantization import codebook_and_codes, initial_centroids, kmeans_1d, quantize_layer, quantize_model


def test_linear_initialisation_spans_min_to_max():
    values = torch.tensor([-2.0, -0.1, 0.3, 5.0])
    assert torch.allclose(initial_centroids(values, 4, "linear"), torch.tensor([-2.0, 1 / 3, 8 / 3, 5.0]))


def test_density_and_random_initialisations():
    values = torch.cat([torch.zeros(90), torch.linspace(1, 10, 10)])
    density = initial_centroids(values, 3, "density")
    assert density.tolist() == [0.0, 0.0, 0.0]  # evenly spaced on the CDF: they all sit in the dense mass
    forgy = initial_centroids(values, 5, "random", seed=3)
    assert all(value in values.tolist() for value in forgy.tolist()) and torch.equal(forgy, forgy.sort().values)
    assert torch.equal(forgy, initial_centroids(values, 5, "random", seed=3))
    with pytest.raises(UserError, match="unknown centroid initialisation"):
        initial_centroids(values, 3, "nope")


def test_kmeans_finds_separated_clusters():
    values = torch.cat([torch.full((10,), -1.0), torch.full((5,), 2.0)]) + torch.linspace(0, 0.01, 15)
    centroids, assignment = kmeans_1d(values, 2)
    assert torch.allclose(centroids, torch.stack([values[:10].mean(), values[10:].mean()]), atol=1e-3)
    assert assignment.tolist() == [0] * 10 + [1] * 5


def pruned_linear(seed: int = 1) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(6, 4, bias=False)
    with torch.no_grad():
        layer.weight[layer.weight.abs() < 0.15] = 0
    return layer


def test_reserved_zero_and_centroid_gradient_is_the_sum_of_weight_gradients():
    layer = pruned_linear()
    quantize_layer(layer, bits=2, reserve_zero=True)
    codebook, codes = codebook_and_codes(layer)
    assert codebook.numel() == 4 and codebook[0] == 0 and torch.equal(codes == 0, layer.weight == 0)
    inputs = torch.randn(3, 6)
    # Gradient of each weight for loss = sum(layer(x)) is the column sum of x.
    weight_grad = inputs.sum(0).expand(4, 6)
    layer(inputs).sum().backward()
    grad = layer.parametrizations.weight[0].codebook.grad
    expected = torch.zeros(4).index_add_(0, codes.flatten(), weight_grad.flatten())
    assert grad[0] == 0  # the reserved zero does not move
    assert torch.allclose(grad[1:], expected[1:])
    assert layer.parametrizations.weight.original.grad is None  # only the centroids train


def test_fine_tuning_moves_centroids_but_keeps_assignments_and_zeros():
    layer = pruned_linear()
    quantize_layer(layer, bits=2, reserve_zero=True)
    _, codes = codebook_and_codes(layer)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        layer(torch.randn(5, 6)).pow(2).sum().backward()
        optimizer.step()
    codebook, after = codebook_and_codes(layer)
    assert torch.equal(after, codes) and codebook[0] == 0
    assert torch.equal(layer.weight, codebook[codes])
    assert set(layer.weight.unique().tolist()) <= set(codebook.tolist())


def test_without_reserved_zero_all_entries_are_learned():
    layer = pruned_linear()
    quantize_layer(layer, bits=2, reserve_zero=False)
    codebook, codes = codebook_and_codes(layer)
    assert codebook.numel() == 4 and codes.max() <= 3
    assert torch.allclose(layer.weight, codebook[codes])


def test_bit_presets_per_layer_kind():
    assert set(quantize_model(LeNet5(), "paper").values()) == {8, 5}
    bits = quantize_model(LeNet5(), "hardware")
    assert bits == {"features.0": 8, "features.2": 8, "classifier.2": 4, "classifier.5": 4}
    assert set(quantize_model(nn.Sequential(nn.Linear(3, 2)), 3).values()) == {3}
    with pytest.raises(UserError, match="unknown bit preset"):
        quantize_model(LeNet5(), "tiny")
    with pytest.raises(UserError, match="between 1 and 16"):
        quantize_model(nn.Sequential(nn.Linear(3, 2)), 0)
