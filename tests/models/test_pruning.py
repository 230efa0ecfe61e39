"""Pruning: the std threshold rule, masks through retraining, schedules, dropout rescaling, sensitivity."""

import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.models.datasets import Dataset
from accel.models.networks import LeNet5, LeNet300100, compressible_layers
from accel.models.pruning import (
    kept_fraction,
    make_permanent,
    prune_by_std,
    prune_to_kept,
    quality_for_kept,
    rescale_dropout,
    rescaled_dropout,
    sensitivity,
)
from accel.models.training import TrainSettings, train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_lenets_have_the_papers_weight_counts():
    def weights(model):
        return sum(m.weight.numel() for _, m in compressible_layers(model))
    assert weights(LeNet300100()) == 266_200
    assert weights(LeNet5()) == 430_500


def test_threshold_is_quality_times_std():
    layer = nn.Linear(50, 40)
    weight = layer.weight.detach().clone()
    threshold = prune_by_std(layer, 0.7)
    assert threshold == pytest.approx(0.7 * float(weight.std()))
    assert torch.equal(layer.weight != 0, weight.abs() >= threshold)
    # A second pass uses the std of the surviving weights only.
    survivors = layer.weight[layer.weight != 0].detach()
    assert prune_by_std(layer, 0.5) == pytest.approx(0.5 * float(survivors.std()))


def tiny_data(count: int = 64, seed: int = 0) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(count, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return Dataset(images, labels, images[:16], labels[:16], "tiny")


def test_masks_keep_pruned_weights_at_zero_through_retraining():
    torch.manual_seed(0)
    model = LeNet300100()
    for _, module in compressible_layers(model):
        prune_by_std(module, 1.0)
    pruned = model.classifier[2].weight == 0
    before = model.classifier[2].weight.detach().clone()
    train(model, tiny_data(), TrainSettings(epochs=2, lr=0.5, momentum=0.9, l2=1e-2, batch_size=16), progress=False)
    after = model.classifier[2].weight.detach()
    assert torch.all(after[pruned] == 0)
    assert not torch.equal(after[~pruned], before[~pruned])  # the survivors did train
    kept = kept_fraction(model.classifier[2])
    prune_by_std(model.classifier[2], 1.0)  # a second iteration prunes further and keeps the old zeros
    assert torch.all(model.classifier[2].weight[pruned] == 0) and kept_fraction(model.classifier[2]) < kept
    make_permanent(model)
    assert not hasattr(model.classifier[2], "weight_mask") and torch.all(model.classifier[2].weight[pruned] == 0)


def test_prune_to_kept_picks_the_quality_that_keeps_the_fraction():
    torch.manual_seed(0)
    layer = nn.Linear(100, 100)
    quality = quality_for_kept(layer, 0.3)
    assert quality > 0
    qualities = prune_to_kept(layer, {"": 0.3})
    assert qualities[""] == pytest.approx(quality)
    assert kept_fraction(layer) == pytest.approx(0.3, abs=0.002)
    prune_to_kept(layer, {"": 0.1})  # fractions are of the original weights
    assert kept_fraction(layer) == pytest.approx(0.1, abs=0.002)
    assert quality_for_kept(layer, 0.5) == 0.0  # already below: nothing more to prune
    with pytest.raises(UserError, match="kept fraction"):
        quality_for_kept(layer, 0.0)


def test_dropout_rescaling_rule():
    assert rescaled_dropout(0.5, 100, 25) == pytest.approx(0.25)
    assert rescaled_dropout(0.5, 100, 100) == pytest.approx(0.5)
    model = LeNet300100(dropout=0.5)
    rescale_dropout(model, 0.5, {"classifier.2": 0.04, "classifier.5": 0.25, "classifier.8": 1.0})
    assert [model.classifier[i].p for i in (1, 4, 7)] == pytest.approx([0.1, 0.25, 0.5])


def test_sensitivity_sweep_prunes_one_layer_and_restores_it():
    torch.manual_seed(0)
    model = LeNet300100()
    before = [m.weight.detach().clone() for _, m in compressible_layers(model)]

    def zeros(m):
        return [float((layer.weight == 0).float().mean()) for _, layer in compressible_layers(m)]

    rows = sensitivity(model, zeros, [0.0, 0.5])
    assert [(row["layer"], row["fraction_pruned"]) for row in rows[:2]] == [("classifier.2", 0.0), ("classifier.2", 0.5)]
    assert rows[1]["accuracy"] == pytest.approx([0.5, 0.0, 0.0], abs=0.01)
    assert rows[3]["accuracy"] == pytest.approx([0.0, 0.5, 0.0], abs=0.01)
    assert all(torch.equal(m.weight, w) for (_, m), w in zip(compressible_layers(model), before))


def test_a_pruned_attention_out_projection_keeps_its_mask_through_retraining():
    from accel.models.compression import prune_round

    torch.manual_seed(0)
    model = nn.Sequential(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True))
    prune_round(model, {"*": 0.5}, "kept")
    out_proj = model[0].self_attn.out_proj
    pruned = out_proj.weight_mask == 0
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):  # nn.MultiheadAttention reads out_proj.weight without calling out_proj
        optimizer.zero_grad()
        model(torch.randn(4, 3, 8)).pow(2).sum().backward()
        optimizer.step()
    model(torch.randn(1, 3, 8))
    assert pruned.any() and torch.all(out_proj.weight[pruned] == 0)
