"""`accel compress --model package.module:function`: your own model from the command line, on tiny data."""

import json
import re
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from accel.cli import main
from accel.models.compressed_file import CompressedModel
from tests.images import quarter_images

pytestmark = pytest.mark.usefixtures("one_thread")


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))


@pytest.fixture()
def user_files(tmp_path, monkeypatch):
    """A factory module in the working folder, its weights (one layer pruned by torch), an .npz and a schedule."""
    (tmp_path / "user_nets.py").write_text(
        "from torch import nn\n\ndef mlp():\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "user_nets", raising=False)
    model = mlp()
    prune.l1_unstructured(model[1], "weight", amount=0.5)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    images, labels = quarter_images()
    np.savez(tmp_path / "data.npz", train_images=images.numpy(), train_labels=labels.numpy(),
             test_images=images[:32].numpy(), test_labels=labels[:32].numpy())
    (tmp_path / "schedule.json").write_text(json.dumps(
        {"prune": [{"1": 0.3, "*": 0.6}], "bits": {"5": 3, "*": 4}, "index_bits": "auto", "retrain_epochs": 1,
         "finetune_epochs": 1, "lr": 0.01}))
    return tmp_path


def test_the_command_line_compresses_a_factory_model(user_files, capsys):
    out = user_files / "out"
    assert main(["compress", "--model", "user_nets:mlp", "--weights", "weights.pt", "--data", "data.npz",
                 "--schedule", "schedule.json", "--out", str(out), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["network"] == "mlp" and summary["bits"] == {"1": 4, "3": 4, "5": 3}
    assert summary["kept_fraction"]["1"] == pytest.approx(0.3, abs=0.01)
    assert summary["settings"]["model"] == "user_nets:mlp"
    loaded = CompressedModel.load(out / "model.dc.npz")
    assert [layer.name for layer in loaded.layers] == ["1", "3", "5"] and loaded.network is None
    assert main(["simulate", str(out / "model.dc.npz")]) == 0


@pytest.mark.parametrize("change, message", [
    (lambda f: (f / "schedule.json").write_text('{"prune": [{"fc9": 0.5}]}'),
     r"the schedule names layers \['fc9'\] that the model lacks"),
    (lambda f: (f / "schedule.json").write_text('{"prune": [{"1": 0.5}], "epochs": 2}'), r"unknown keys \['epochs'\]"),
    (lambda f: (f / "weights.pt").write_bytes(b"junk"), "is not a readable torch state_dict"),
    (lambda f: torch.save(nn.Linear(3, 3).state_dict(), f / "weights.pt"), "does not fit the model"),
    (lambda f: np.savez(f / "data.npz", train_images=np.zeros((4, 64))), r"lacks arrays \['train_labels'"),
    (lambda f: np.savez(f / "data.npz", train_images=np.zeros((4, 64)), train_labels=np.zeros(3, int),
                        test_images=np.zeros((4, 64)), test_labels=np.zeros(4, int)), "holds 4 images but"),
    (lambda f: (f / "user_nets.py").write_text("def mlp():\n    return 3\n"), "returned 'int', not a torch.nn.Module"),
])
def test_the_command_line_names_what_is_wrong(user_files, capsys, change, message):
    change(user_files)
    assert main(["compress", "--model", "user_nets:mlp", "--weights", "weights.pt", "--data", "data.npz",
                 "--schedule", "schedule.json", "--out", "out", "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert re.search(message, error) and "\n" not in error and "Traceback" not in error
