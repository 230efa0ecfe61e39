"""deep_compress over user modules: torch.nn.utils.prune masks, load_into, schedules, other layers."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import DataLoader, TensorDataset

from accel.arch.errors import UserError
from accel.models.compressed_file import CompressedModel, compress_module
from accel.models.compression import Schedule, deep_compress
from accel.models.pruning import sensitivity, std_unstructured
from accel.models.quantization import quantize_model
from tests.images import quarter_images

pytestmark = pytest.mark.usefixtures("one_thread")


class SmallConvNet(nn.Module):
    """A conv net of another shape than the LeNets, with a BatchNorm the compression keeps as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3)
        self.norm = nn.BatchNorm2d(6)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 6 * 6, 24), nn.ReLU(), nn.Linear(24, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.conv(x))))


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))


def accuracy_on(images, labels):
    @torch.no_grad()
    def evaluate(model: nn.Module) -> float:
        model.eval()
        return 100.0 * float((model(images).argmax(1) == labels).float().mean())
    return evaluate


def run(model, schedule, shape=(1, 8, 8), **options):
    images, labels = quarter_images(shape)
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=False)
    return deep_compress(model, loader, accuracy_on(images, labels), schedule, progress=False, **options), images


def test_a_model_pruned_by_torch_round_trips(tmp_path):
    model = mlp()
    prune.l1_unstructured(model[1], "weight", amount=0.6)
    torch_mask = model[1].weight_mask.clone()
    schedule = Schedule(prune=[{"3": 0.5}], bits=4, retrain_epochs=1, finetune_epochs=1, lr=0.01)
    result, images = run(model, schedule)
    assert prune.is_pruned(model) and not hasattr(model[3], "weight_mask"), "the user's model stays untouched"
    compressed = result.model
    assert all(prune.is_pruned(module) for module in (compressed[1], compressed[3], compressed[5]))
    assert torch.all(compressed[1].weight[torch_mask == 0] == 0), "torch's mask is kept"
    assert result.kept["1"] == pytest.approx(0.4, abs=0.01) and result.kept["3"] == pytest.approx(0.5, abs=0.01)
    for module in (compressed[1], compressed[3]):
        assert torch.equal(module.weight_mask.bool(), module.weight != 0)
    prune.remove(compressed[3], "weight")  # torch's own tools work on the result
    loaded = CompressedModel.load(result.compressed.save(tmp_path / "m.dc.npz"))
    fresh = mlp()
    prune.random_unstructured(fresh[1], "weight", amount=0.2)  # a pruned receiver gets the file's weights
    with torch.no_grad():
        assert torch.equal(loaded.load_into(fresh)(images), compressed(images))


def test_load_into_reproduces_the_quantized_model(tmp_path):
    model = SmallConvNet()
    images, _ = quarter_images((1, 8, 8))
    model.eval()
    quantize_model(model, {"conv": 5, "head.1": 4, "head.3": 3})
    with torch.no_grad():
        expected = model(images)
    loaded = CompressedModel.load(compress_module(model, None).save(tmp_path / "m.dc.npz"))
    receiver = SmallConvNet()
    receiver.norm.load_state_dict(model.norm.state_dict())
    receiver.eval()
    with torch.no_grad():
        assert torch.equal(loaded.load_into(receiver)(images), expected)


@pytest.mark.parametrize("change, message", [
    (lambda net: setattr(net.head, "3", nn.Linear(24, 5)), r"module 'head.3' has weight shape \(5, 24\) but the file's layer has \(4, 24\)"),
    (lambda net: setattr(net, "conv", nn.Identity()), r"the model has no Linear/Conv2d module 'conv'"),
    (lambda net: setattr(net.head, "1", nn.Linear(216, 24, bias=False)), "module 'head.1' lacks a bias"),
])
def test_load_into_names_the_layer_that_does_not_fit(tmp_path, change, message):
    model = SmallConvNet()
    quantize_model(model, 4)
    loaded = CompressedModel.load(compress_module(model, None).save(tmp_path / "m.dc.npz"))
    receiver = SmallConvNet()
    before = receiver.conv.weight.detach().clone()
    change(receiver)
    with pytest.raises(UserError, match=message) as error:
        loaded.load_into(receiver)
    assert "\n" not in str(error.value)
    if isinstance(receiver.conv, nn.Conv2d):
        assert torch.equal(receiver.conv.weight, before), "nothing is written when a layer does not fit"


def test_conv_net_with_other_layers_and_quality_schedule():
    schedule = Schedule(prune=[{"*": 0.5}, {"*": 0.8, "conv": 0.3}], prune_by="quality", bits={"conv": 6, "*": 4},
                        index_bits="auto", retrain_epochs=1, finetune_epochs=1, lr=0.01)
    result, images = run(SmallConvNet(), schedule, sensitivity_fractions=(0.0, 0.5))
    summary = result.summary()
    assert result.bits == {"conv": 6, "head.1": 4, "head.3": 4}
    assert result.qualities[1] == {"conv": 0.3, "head.1": 0.8, "head.3": 0.8}
    assert summary["uncompressed_layers"] == [{"layer": "norm", "type": "BatchNorm2d", "parameters": 12}]
    assert all(3 <= bits <= 8 for bits in summary["index_bits"].values())
    assert summary["rate_PQH"] > summary["rate_PQ"] > 1
    assert [row["layer"] for row in result.sensitivity] == ["conv", "conv", "head.1", "head.1", "head.3", "head.3"]
    assert result.sensitivity[0]["accuracy"] == result.accuracy_dense


def test_sensitivity_keeps_a_torch_mask():
    model = mlp()
    prune.l1_unstructured(model[1], "weight", amount=0.5)
    mask = model[1].weight_mask.clone()
    images, labels = quarter_images()
    sensitivity(model, accuracy_on(images, labels), (0.0, 0.9))
    assert torch.equal(model[1].weight_mask, mask)


def test_a_step_function_trains_each_stage():
    stages = []

    def trainer(model: nn.Module, epochs: int, stage: str) -> None:
        stages.append((stage, epochs, sorted(n for n, p in model.named_parameters() if p.requires_grad)[:2]))

    images, labels = quarter_images()
    deep_compress(mlp(), trainer, accuracy_on(images, labels),
                  Schedule(prune=[{"1": 0.5}, {"1": 0.3}], retrain_epochs=2, finetune_epochs=1), progress=False)
    assert [stage[:2] for stage in stages] == [("retrain", 2), ("retrain", 2), ("finetune", 1)]
    assert stages[-1][2] == ["1.bias", "1.parametrizations.weight.0.codebook"], "fine-tuning trains the codebooks"


@pytest.mark.parametrize("schedule, message", [
    (Schedule(prune=[{"fc9": 0.5}]), r"the schedule names layers \['fc9'\] that the model lacks; its Linear/Conv2d layers: \['1', '3', '5'\]"),
    (Schedule(bits={"conv": 4}), r"names layers \['conv'\]"),
    (Schedule(prune=[{"1": 1.5}]), r"kept fraction of '1' must lie in \(0, 1\]"),
    (Schedule(prune_by="size"), "prune_by must be one of kept, quality"),
    (Schedule(index_bits={"1": 0}), r"index_bits must be 1..16 or \"auto\""),
])
def test_bad_schedules_get_one_line(schedule, message):
    images, labels = quarter_images()
    with pytest.raises(UserError, match=message) as error:
        deep_compress(mlp(), lambda *_: None, accuracy_on(images, labels), schedule, progress=False)
    assert "\n" not in str(error.value)


def test_schedule_from_json_names_unknown_keys():
    assert Schedule.from_dict({"prune": [{"fc": 0.5}], "bits": 4}).bits == 4
    with pytest.raises(UserError, match=r"unknown keys \['epochs'\]"):
        Schedule.from_dict({"epochs": 3})
    with pytest.raises(UserError, match="retrain_epochs must be a whole number"):
        Schedule.from_dict({"retrain_epochs": 1.5})
    assert np.isclose(Schedule().lr, 0.005)


def test_the_std_rule_is_a_torch_pruning_method():
    torch.manual_seed(0)
    layer = nn.Linear(40, 30)
    prune.l1_unstructured(layer, "weight", amount=0.3)
    first = layer.weight_mask.bool().clone()
    survivors = layer.weight_orig[first].detach()
    std_unstructured(layer, "weight", quality=0.5)
    assert isinstance(next(iter(layer._forward_pre_hooks.values())), prune.PruningContainer)
    assert torch.equal(layer.weight_mask.bool(), first & (layer.weight_orig.abs() >= 0.5 * survivors.std()))
    assert float(layer.weight_mask.mean()) < float(first.float().mean()) == pytest.approx(0.7)
