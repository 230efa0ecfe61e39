"""Model import is strict and visible: every Linear layer simulated, everything left out named."""

import json

import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.cli import main
from accel.models.compressed_file import compress_module
from accel.models.export import import_compressed, import_state_dict, torch_forward
from accel.models.networks import LeNet5, compressible_layers
from accel.models.pruning import make_permanent, prune_by_std
from accel.models.quantization import quantize_model


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))


def test_sequential_state_dict_simulates_all_three_layers(tmp_path, capsys):
    path = tmp_path / "m.pt"
    torch.save(mlp().state_dict(), path)
    imported = import_state_dict(path)
    assert [layer.name for layer in imported.layers] == ["1", "3", "5"]
    assert [(layer.rows, layer.cols) for layer in imported.layers] == [(300, 784), (100, 300), (10, 100)]
    assert [layer.relu for layer in imported.layers] == [True, True, False]
    assert [entry["source"] for entry in imported.report()["layers"]] == \
        ["1.weight + 1.bias", "3.weight + 3.bias", "5.weight + 5.bias"]
    assert main(["simulate", str(path), "--pes", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [entry["layer"] for entry in data["layers"]] == ["1", "3", "5"]
    assert data["layers"][0]["shape"] == [300, 784]
    assert data["import"]["skipped"] == [] and data["import"]["approximations"] == []


def test_prune_option_and_density_column(tmp_path, capsys):
    path = tmp_path / "m.pt"
    torch.save(mlp().state_dict(), path)
    assert main(["simulate", str(path), "--pes", "8", "--prune", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "density %" in out and "layer 1: 1.weight + 1.bias -> 300x784, ReLU" in out
    assert "approximated: weights pruned at quality 1" in out
    dense = import_state_dict(path).layers[0].density
    pruned = import_state_dict(path, prune_quality=1.0).layers[0].density
    assert dense > 0.99 and 0.2 < pruned < 0.5
    assert main(["simulate", "Alex-7", "--prune", "1.0"]) == 2
    assert "--prune applies to a torch state_dict" in capsys.readouterr().err


@pytest.mark.parametrize("between", [nn.LayerNorm(300), nn.BatchNorm1d(300)])
def test_norm_between_linear_layers_is_refused_unless_accepted(tmp_path, capsys, between):
    path = tmp_path / "m.pt"
    torch.save(nn.Sequential(nn.Linear(20, 300), between, nn.ReLU(), nn.Linear(300, 10)).state_dict(), path)
    with pytest.raises(UserError, match="--skip-unsupported"):
        import_state_dict(path)
    imported = import_state_dict(path, skip_unsupported=True)
    assert [layer.name for layer in imported.layers] == ["0", "3"]
    assert "left out" in imported.approximations[0] and imported.skipped[0]["source"].startswith("1.")
    assert main(["simulate", str(path), "--pes", "4"]) == 2
    assert "between its fully connected layers" in capsys.readouterr().err
    assert main(["simulate", str(path), "--pes", "4", "--skip-unsupported"]) == 0
    assert "approximated:" in capsys.readouterr().out


def test_leading_conv_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "m.pt"
    torch.save(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 4)).state_dict(), path)
    imported = import_state_dict(path)
    assert [layer.name for layer in imported.layers] == ["2"]
    assert imported.skipped[0]["source"] == "0.weight, 0.bias" and "conv2d" in imported.skipped[0]["reason"]


def test_compressed_lenet5_runs_its_conv_layers_on_the_host(tmp_path):
    torch.manual_seed(0)
    model = LeNet5()
    for _, module in compressible_layers(model):
        prune_by_std(module, 1.0)
    make_permanent(model)
    quantize_model(model, "hardware")
    compressed = compress_module(model, "lenet5")
    imported = import_compressed(compressed)
    assert [layer.name for layer in imported.layers] == ["classifier.2", "classifier.5"]
    assert imported.skipped == [] and imported.approximations == []
    assert [(row["runs_on"], row["operation"]) for row in imported.partition()] == [
        ("host", "conv2d features.0 (float)"), ("host", "max_pool2d"), ("host", "conv2d features.2 (float)"),
        ("host", "max_pool2d"), ("host", "flatten"), ("EIE", "classifier.2 + ReLU (fused)"), ("EIE", "classifier.5")]
    images = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(torch_forward(imported, images), model.eval()(images), atol=1e-5)
    # A file written before graphs were recorded: the conv layers are left out, with a note.
    compressed.graph = None
    assumed = import_compressed(compressed)
    assert [entry["source"] for entry in assumed.skipped] == ["conv2d layer 'features.0'", "conv2d layer 'features.2'"]
    assert "records no graph" in assumed.approximations[0]


def test_pickled_module_and_odd_state_dicts_are_refused_in_one_line(tmp_path, capsys):
    whole = tmp_path / "whole.pt"
    torch.save(mlp(), whole)
    assert main(["simulate", str(whole)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pickled" in err and "state_dict()" in err and "weights_only" not in err
    chain = tmp_path / "chain.pt"
    torch.save({"a.weight": torch.ones(3, 4), "b.weight": torch.ones(3, 5)}, chain)
    with pytest.raises(UserError, match="must form a chain"):
        import_state_dict(chain)
    integer = tmp_path / "int.pt"
    torch.save({"a.weight": torch.ones(3, 4, dtype=torch.int32)}, integer)
    with pytest.raises(UserError, match="finite floating-point"):
        import_state_dict(integer)
    nested = tmp_path / "nested.pt"
    torch.save({"model": mlp().state_dict()}, nested)
    with pytest.raises(UserError, match=r"checkpoint\['model'\]"):
        import_state_dict(nested)
