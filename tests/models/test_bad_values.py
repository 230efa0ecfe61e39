"""NaN, infinity, tensor kinds and declared sizes through the Python API of models/: one UserError each."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.models import huffman
from accel.models.compressed_file import CompressedModel, compress_module
from accel.models.compression import Schedule, deep_compress
from accel.models.pruning import prune_by_std
from accel.models.quantization import quantize_model
from accel.models.tensor_kinds import check_kind, check_weights
from accel.models.user_model import build_from_factory


def test_the_huffman_length_rule_is_checked_in_integers():
    """Lengths 1..60, 60, 60: the Kraft sum is 1 + 2^-60, which floating point with a tolerance let through."""
    lengths = np.array(list(range(1, 61)) + [60, 60])
    assert sum(2.0 ** -int(n) for n in lengths) <= 1.0 + 1e-12  # the earlier check accepted it
    with pytest.raises(UserError, match="Kraft"):
        huffman.decode(huffman.HuffmanStream(lengths, np.zeros(8, dtype=np.uint8), 1))
    complete = np.array(list(range(1, 61)) + [60])  # exactly 1: a complete code
    assert huffman.decode(huffman.HuffmanStream(complete, np.array([0], dtype=np.uint8), 1)).tolist() == [0]


@pytest.fixture()
def model_file(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))
    quantize_model(model, {"0": 4, "2": 4})
    return compress_module(model, None).save(tmp_path / "m.dc.npz")


def test_the_weights_of_a_model_are_budgeted_before_decoding(model_file):
    assert len(CompressedModel.load(model_file, max_weights=240).layers) == 2
    with pytest.raises(UserError, match=r"declare 240 weights in all, more than the limit of 239.*--max-weights 240"):
        CompressedModel.load(model_file, max_weights=239)


@pytest.mark.parametrize("tensor, message", [
    (torch.ones(3, 3).to("meta"), "meta-device tensor"),
    (torch.ones(3, 3).to_sparse(), "sparse COO"),
    (torch.ones(3, 3).to_sparse_csr(), "sparse CSR"),
    (torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8), "quantized"),
    (torch.nested.nested_tensor([torch.ones(2), torch.ones(3)]), "nested"),
])
def test_tensors_without_plain_values_are_named(tensor, message):
    with pytest.raises(UserError, match=message):
        check_kind("w.pt", "fc.weight", tensor)


@pytest.mark.parametrize("tensor, message", [
    (torch.ones(3).to(torch.complex64), "dtype torch.complex64"),
    (torch.ones(3, dtype=torch.uint8).view(torch.float4_e2m1fn_x2), "float4"),
    (torch.tensor([1.0, float("nan"), float("inf")]), "holds 2 NaN or infinite values of 3"),
])
def test_weights_must_be_finite_real_numbers(tensor, message):
    with pytest.raises(UserError, match=message):
        check_weights("w.pt", "fc.weight", tensor)
    assert check_weights("w.pt", "fc.weight", torch.ones(2, 3).t()).dtype == torch.float32  # a view passes


def test_compression_refuses_nan_weights_and_qualities():
    model = nn.Sequential(nn.Linear(4, 3))
    with torch.no_grad():
        model[0].bias[1] = float("nan")
    with pytest.raises(UserError, match=r"the model's 0.bias holds NaN"):
        deep_compress(model, lambda m, epochs, stage: None, lambda m: 0.0, Schedule())
    with pytest.raises(UserError, match="quality must be a finite number"):
        prune_by_std(nn.Linear(4, 3), float("nan"))
    for values, message in (({"lr": float("inf")}, "lr must be a finite number"),
                            ({"prune": [{"*": float("nan")}], "prune_by": "quality"}, "finite number"),
                            ({"seed": -1}, "seed must be")):
        with pytest.raises(UserError, match=message):
            Schedule.from_dict(values)


def test_the_current_folder_is_searched_after_the_installed_packages(tmp_path, monkeypatch):
    (tmp_path / "factory_after_site.py").write_text("from torch import nn\n\ndef build():\n    return nn.Linear(2, 2)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in ("", str(Path.cwd()))])
    assert isinstance(build_from_factory("factory_after_site:build"), nn.Linear)
    assert sys.path[-1] == str(tmp_path) and sys.path.index(str(tmp_path)) > 0
