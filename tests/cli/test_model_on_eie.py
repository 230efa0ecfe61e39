"""A user's own model through `accel compress --model` and `accel simulate --data`: its dataflow, data and answers."""

import json
import sys

import numpy as np
import pytest
import torch

from accel.arch.errors import UserError
from accel.cli import main
from accel.cli.sources import load_layers
from accel.models.compressed_file import CompressedModel
from tests.images import quarter_images

pytestmark = pytest.mark.usefixtures("one_thread")

USER_NETS = '''
import torch
import torch.nn.functional as F
from torch import nn


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 32), nn.Linear(32, 16), nn.Linear(16, 4)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(torch.relu(self.fc1(x)))))


class Gelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.fc1, self.fc2, self.head = nn.LayerNorm(64), nn.Linear(64, 32), nn.Linear(32, 64), nn.Linear(64, 4)

    def forward(self, x):
        x = x.flatten(1)
        return self.head(x + self.fc2(F.gelu(self.fc1(self.norm(x)))))


class Branchy(Functional):
    def forward(self, x):
        x = x.flatten(1)
        if x.sum() > 1e9:
            x = -x
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ShapeBranch(Functional):
    def forward(self, x):
        if x.dim() == 4:  # Python on the input's shape: torch.fx cannot follow it, running the model can
            x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def functional():
    return Functional()


def shape_branch():
    return ShapeBranch()


def gelu():
    return Gelu()


def branchy():
    return Branchy()
'''


@pytest.fixture()
def user_folder(tmp_path, monkeypatch):
    """A module of the user's models in the working folder, trained weights of each, data and a schedule."""
    (tmp_path / "user_nets.py").write_text(USER_NETS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "user_nets", raising=False)
    import user_nets

    images, labels = quarter_images()
    for name in ("functional", "gelu", "branchy", "shape_branch"):
        torch.manual_seed(0)
        model = getattr(user_nets, name)()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(30):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images), labels).backward()
            optimizer.step()
        torch.save(model.state_dict(), tmp_path / f"{name}.pt")
    np.savez(tmp_path / "data.npz", train_images=images.numpy(), train_labels=labels.numpy(),
             test_images=images[:32].numpy(), test_labels=labels[:32].numpy())
    (tmp_path / "schedule.json").write_text(json.dumps({"prune": [{"*": 0.5}], "retrain_epochs": 1,
                                                        "finetune_epochs": 1, "lr": 0.01}))
    return tmp_path


def compress(name: str, schedule: str = "schedule.json") -> None:
    assert main(["compress", "--model", f"user_nets:{name}", "--weights", f"{name}.pt", "--data", "data.npz",
                 "--schedule", schedule, "--out", name, "--quiet"]) == 0


def test_functional_relu_is_fused_and_the_test_set_runs_through_eie(user_folder, capsys):
    compress("functional")
    model = CompressedModel.load("functional/model.dc.npz")
    assert [layer.relu for layer in model.layers] == [True, True, False]
    summary = json.loads((user_folder / "functional" / "summary.json").read_text())
    capsys.readouterr()
    assert main(["simulate", "functional/model.dc.npz", "--data", "data.npz", "--pes", "4", "--json",
                 "--out", "run.json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record == json.loads((user_folder / "run.json").read_text())
    assert record["samples"] == 32 and record["import"]["graph"] == "traced"
    assert [(row["runs_on"], row["operation"]) for row in record["import"]["partition"]] == [
        ("host", "size"), ("host", "view"), ("EIE", "fc1 + ReLU (fused)"), ("EIE", "fc2 + ReLU (fused)"), ("EIE", "fc3")]
    # The quantized model in torch is what compress measured; EIE agrees with it.
    assert record["top1_percent"]["quantized_torch"] == pytest.approx(summary["accuracy_quantized"])
    assert record["agreement"]["eie_vs_quantized_torch_percent"] >= 90
    assert record["numpy_model_bit_exact_on_first_sample"]
    layer = record["layers"][0]
    assert layer["invocations_per_sample"] == 1 and layer["cycles"]["p50"] <= layer["cycles"]["p99"]
    assert record["model"]["cycles"]["mean"] == pytest.approx(sum(row["cycles"]["mean"] for row in record["layers"]))


def test_the_activation_fixed_point_is_calibrated_on_training_samples(user_folder, capsys, monkeypatch):
    """--act-frac auto: the most fraction bits whose range holds twice the training samples' largest value at an
    EIE layer; a number sets it; auto without data is refused."""
    from accel.cli.sources import shaped_samples
    from accel.explore import model_run
    from accel.models.datasets import load_dataset
    from accel.models.export import import_compressed, torch_forward

    compress("functional")
    capsys.readouterr()
    assert main(["simulate", "functional/model.dc.npz", "--data", "data.npz", "--limit", "4", "--pes", "4", "--json",
                 "--act-frac", "auto"]) == 0
    record = json.loads(capsys.readouterr().out)
    point = record["fixed_point"]
    imported = import_compressed(CompressedModel.load("functional/model.dc.npz"))
    data = user_folder / "data.npz"
    training = shaped_samples(load_dataset(data), "train", 256, imported.graph.input_shape, data)[0]
    magnitudes = {}
    torch_forward(imported, training, magnitudes=magnitudes)
    largest = max(magnitudes.values())
    assert point["samples"] == min(256, len(training)) and point["largest_magnitude"] == pytest.approx(largest)
    assert record["config"]["act_frac"] == point["act_frac"]
    assert 2.0 ** (15 - point["act_frac"]) >= 2 * largest > 2.0 ** (14 - point["act_frac"])  # the most bits that hold it
    assert main(["simulate", "functional/model.dc.npz", "--data", "data.npz", "--limit", "4", "--pes", "4", "--json",
                 "--act-frac", "11"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["config"]["act_frac"] == 11 and record["fixed_point"] == {"act_frac": 11, "chosen": "config"}
    assert main(["simulate", "functional/model.dc.npz", "--act-frac", "auto"]) == 2
    assert "--act-frac auto chooses the fixed point from the training samples of --data" in capsys.readouterr().err
    assert main(["simulate", "functional/model.dc.npz", "--act-frac", "16"]) == 2
    assert "--act-frac 16: invalid architecture config: act_frac=16 must lie from 0 to act_bits - 1 = 15" in (
        capsys.readouterr().err)

    def not_finite(imported, samples, quantized, magnitudes):
        magnitudes["fc1"] = float("nan")

    monkeypatch.setattr(model_run, "torch_forward", not_finite)
    assert main(["simulate", "functional/model.dc.npz", "--data", "data.npz", "--act-frac", "auto"]) == 2
    error = capsys.readouterr().err
    assert "values at its EIE layers are not finite" in error and len(error.strip().splitlines()) == 1
    assert model_run.CALIBRATION_HEADROOM == 2.0


def test_gelu_layernorm_and_a_residual_add_run_on_the_host(user_folder, capsys):
    compress("gelu")
    capsys.readouterr()
    assert main(["simulate", "gelu/model.dc.npz", "--data", "data.npz", "--limit", "8", "--pes", "4"]) == 0
    out = capsys.readouterr().out
    for text in ("host     layer_norm", "EIE      fc1 ", "host     gelu", "host     add",
                 "EIE gives the quantized torch model's class", "8 samples of data"):
        assert text in out


def test_one_input_prints_and_records_the_answer(user_folder, capsys):
    compress("functional")
    np.save(user_folder / "x.npy", quarter_images()[0][0].numpy())
    capsys.readouterr()
    assert main(["simulate", "functional/model.dc.npz", "--input", "x.npy", "--pes", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    values = data["output"]["values"]
    assert len(values) == 4 and data["output"]["class"] == int(np.argmax(values)) and data["input"] == "x.npy"
    assert main(["simulate", "functional/model.dc.npz", "--input", "x.npy", "--pes", "4"]) == 0
    assert f"class (largest output) {data['output']['class']}" in capsys.readouterr().out


def test_an_untraceable_model_says_why_and_a_declared_chain_compresses(user_folder, capsys):
    assert main(["compress", "--model", "user_nets:branchy", "--weights", "branchy.pt", "--data", "data.npz",
                 "--out", "branchy", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "traced by torch.fx nor by running it" in err and '"activations"' in err
    schedule = json.loads((user_folder / "schedule.json").read_text())
    (user_folder / "declared.json").write_text(json.dumps({**schedule, "activations": ["relu", "relu", "none"]}))
    compress("branchy", "declared.json")
    model = CompressedModel.load("branchy/model.dc.npz")
    assert model.graph.origin == "declared" and [layer.relu for layer in model.layers] == [True, True, False]


@pytest.mark.parametrize("arguments, message", [
    (["functional/model.dc.npz", "--activations", "relu"], "--activations declares a state_dict"),
    (["functional.pt", "--activations", "relu,swish,none"], "one activation per Linear layer"),
    (["functional.pt", "--activations", "relu,relu"], "one activation per Linear layer"),
    (["functional/model.dc.npz", "--data", "data.npz", "--input", "x.npy"], "not both"),
    (["layers/fc1.npz", "--data", "data.npz"], "--data runs a whole model"),
])
def test_wrong_model_options_get_one_line(user_folder, capsys, arguments, message):
    compress("functional")
    assert main(["export", "functional/model.dc.npz", "--out", "layers"]) == 0
    capsys.readouterr()
    assert main(["simulate", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_state_dict_activations_are_declared_and_chains_are_required_where_layers_chain(user_folder, capsys):
    assert main(["simulate", "functional.pt", "--activations", "relu,gelu,none", "--pes", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["import"]["graph"] == "declared" and [layer["relu"] for layer in data["import"]["layers"]] == \
        [True, False, False]
    assert ("host", "gelu") in [(row["runs_on"], row["operation"]) for row in data["import"]["partition"]]
    compress("gelu")
    with pytest.raises(UserError, match="a chain of layers is needed here"):
        load_layers("gelu/model.dc.npz", chain=True)
    assert [layer.name for layer in load_layers("functional.pt", chain=True)[0]] == ["fc1", "fc2", "fc3"]


def test_a_forward_branching_on_shapes_is_traced_by_running_it_and_simulates(user_folder, capsys):
    compress("shape_branch")
    assert CompressedModel.load("shape_branch/model.dc.npz").graph.origin == "exported"
    capsys.readouterr()
    assert main(["simulate", "shape_branch/model.dc.npz", "--data", "data.npz", "--limit", "4", "--pes", "4"]) == 0
    assert "partition (traced by running the model (torch.export))" in capsys.readouterr().out
