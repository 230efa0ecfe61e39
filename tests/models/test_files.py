"""The compressed model file (round trip, damaged files) and the export to EIE layers."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from models.compressed_file import CompressedModel, compress_module
from models.export import layers_from_compressed, layers_from_compressed_file, layers_from_state_dict, quantize_linear_layers
from models.networks import LeNet5, LeNet300100, compressible_layers
from models.pruning import make_permanent, prune_by_std
from models.quantization import quantize_model


def quantized(model: nn.Module, bits="hardware", seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for _, module in compressible_layers(model):
        prune_by_std(module, 1.0)
    make_permanent(model)
    quantize_model(model, bits)
    return model


@pytest.fixture(scope="module")
def lenet300_file(tmp_path_factory):
    model = quantized(LeNet300100())
    path = compress_module(model, "lenet300").save(tmp_path_factory.mktemp("file") / "m.dc.npz")
    return model, path


def test_round_trip_reproduces_the_quantized_model(lenet300_file):
    model, path = lenet300_file
    loaded = CompressedModel.load(path)
    dense = loaded.to_module()
    images = torch.randn(16, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(dense(images), model(images))
    assert [layer.relu for layer in loaded.layers] == [True, True, False]
    sizes = loaded.sizes()
    assert sizes[0].kept == int((dense.classifier[2].weight != 0).sum())
    assert sizes[0].huffman_bits < sizes[0].quantized_bits < sizes[0].original_bits
    assert path.stat().st_size < sizes[0].original_bits / 8  # the file really is small


def test_round_trip_of_conv_layers_with_paper_bits(tmp_path):
    model = quantized(LeNet5(), "paper")
    loaded = CompressedModel.load(compress_module(model, "lenet5").save(tmp_path / "m.dc.npz"))
    assert [layer.bits for layer in loaded.layers] == [8, 8, 5, 5]
    images = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.to_module()(images), model(images))


def rewrite(path, target, change):
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    np.savez(target, **arrays)
    return target


def edit_meta(edit):
    def change(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        edit(meta)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return change


def flip_first_byte(arrays):
    arrays["weight0_data"] = arrays["weight0_data"].copy()
    arrays["weight0_data"][0] ^= 0xFF


@pytest.mark.parametrize("change, message", [
    (flip_first_byte, "CRC-32 mismatch"),
    (lambda arrays: arrays.pop("index1_data"), "index1_data is missing"),
    (lambda arrays: arrays.update(meta=np.frombuffer(b"{not json", dtype=np.uint8)), "metadata is corrupted"),
    (edit_meta(lambda meta: meta.update(version=99)), "version 99"),
    (edit_meta(lambda meta: meta.update(format="other")), "not an deep-compression-model file"),
    (edit_meta(lambda meta: meta["layers"][0].update(shape=[300, 600])), "lands at position"),
    (edit_meta(lambda meta: meta["layers"][0].update(bits=5)), "codebook must hold 32"),
    (edit_meta(lambda meta: meta["layers"][0].update(entries=10**9)), "cannot fit"),
    (edit_meta(lambda meta: meta["layers"][0].pop("relu")), "malformed"),
])
def test_damaged_files_give_clear_errors(lenet300_file, tmp_path, change, message):
    _, path = lenet300_file
    with pytest.raises(UserError, match=message):
        CompressedModel.load(rewrite(path, tmp_path / "bad.npz", change))


def test_truncated_missing_and_mismatched_files(lenet300_file, tmp_path):
    _, path = lenet300_file
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError, match="truncated or corrupted"):
        CompressedModel.load(truncated)
    with pytest.raises(UserError, match="does not exist"):
        CompressedModel.load(tmp_path / "nowhere.npz")
    with pytest.raises(UserError, match=r"module 'classifier.2' has weight shape \(500, 800\) but the file's layer has \(300, 784\)"):
        CompressedModel.load(path).load_into(LeNet5())


def test_export_to_eie_layers(lenet300_file, tmp_path):
    model, path = lenet300_file
    layers = layers_from_compressed_file(path)
    assert [layer.relu for layer in layers] == [True, True, False]
    assert all(isinstance(layer, QuantizedLayer) and layer.codebook.size == 16 and layer.codebook[0] == 0 for layer in layers)
    assert np.allclose(layers[0].dense_weights(), model.classifier[2].weight.detach().numpy())
    layers[0].save(tmp_path / "fc1.npz")
    assert np.array_equal(QuantizedLayer.load(tmp_path / "fc1.npz").codes, layers[0].codes)
    x = torch.randn(784)
    with torch.no_grad():
        expected = model.classifier[2:](x[None])[0].double().numpy()
    for layer in layers:
        x = layer.forward(x.double().numpy() if isinstance(x, torch.Tensor) else x)
    assert np.allclose(x, expected, atol=1e-4)


def test_export_skips_conv_and_refuses_paper_bits():
    assert [layer.name for layer in layers_from_compressed(compress_module(quantized(LeNet5()), "lenet5"))] == \
        ["classifier.2", "classifier.5"]
    with pytest.raises(UserError, match="--bits hardware"):
        layers_from_compressed(compress_module(quantized(LeNet300100(), 5), "lenet300"))


def test_any_module_and_state_dicts_become_eie_layers(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    before = model[0].weight.detach().clone()
    layers = quantize_linear_layers(model, prune_quality=0.5)
    assert torch.equal(model[0].weight, before)  # the user's module is untouched
    assert [layer.codes.shape for layer in layers] == [(8, 12), (3, 8)]
    assert [layer.relu for layer in layers] == [True, False]
    assert layers[0].codebook.size == 16 and layers[0].codebook[0] == 0 and layers[0].density < 1
    assert len(np.unique(layers[0].dense_weights())) <= 16
    assert [layer.relu for layer in quantize_linear_layers(model, relu=[False, False])] == [False, False]
    with pytest.raises(UserError, match="flags"):
        quantize_linear_layers(model, relu=[True])
    with pytest.raises(UserError, match="no nn.Linear"):
        quantize_linear_layers(nn.Sequential(nn.ReLU()))
    torch.save(model.state_dict(), tmp_path / "w.pt")
    assert [layer.relu for layer in layers_from_state_dict(tmp_path / "w.pt")] == [True, False]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable torch state_dict"):
        layers_from_state_dict(tmp_path / "bad.pt")
