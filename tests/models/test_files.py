"""The compressed model file (round trip, damaged files) and the export to EIE layers."""

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from accel.arch.npz import read_members, save_npz
from accel.models.compressed_file import CompressedModel, compress_module, upgrade
from accel.models.export import (
    layers_from_compressed,
    layers_from_compressed_file,
    layers_from_state_dict,
    quantize_linear_layers,
)
from accel.models.networks import LeNet5, LeNet300100, compressible_layers
from accel.models.pruning import make_permanent, prune_by_std
from accel.models.quantization import quantize_model

REPORTED_MODEL = Path(__file__).resolve().parents[2] / "reports" / "compression" / "lenet300" / "model.dc.npz"


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


def resealed(path, target, change):
    """Edit the arrays and metadata, then write them with a fresh member list and digest (as a forger would)."""
    arrays = read_members(path)
    meta = json.loads(arrays.pop("meta").tobytes())
    for key in ("arrays", "sha256"):
        meta.pop(key)
    arrays["meta"] = meta
    change(arrays)
    meta = arrays.pop("meta")
    return save_npz(target, meta, arrays)


def edit_meta(edit):
    def change(arrays):
        if isinstance(arrays["meta"], dict):
            edit(arrays["meta"])
            return
        meta = json.loads(arrays["meta"].tobytes())
        edit(meta)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return change


def flip_first_byte(arrays):
    arrays["weight0_data"] = arrays["weight0_data"].copy()
    arrays["weight0_data"][0] ^= 0xFF


@pytest.mark.parametrize("change, message", [
    (flip_first_byte, "integrity check failed"),
    (lambda arrays: arrays.pop("index1_data"), "do not match its member list"),
    (lambda arrays: arrays.pop("bias0"), "do not match its member list"),
    (lambda arrays: arrays.update(meta=np.frombuffer(b"{not json", dtype=np.uint8)), "metadata is corrupted"),
    (edit_meta(lambda meta: meta.update(version=99)), "version 99"),
    (edit_meta(lambda meta: meta.update(version=1)), "accel.models.compressed_file upgrade"),
    (edit_meta(lambda meta: meta.update(format="other")), "not an deep-compression-model file"),
    (edit_meta(lambda meta: meta["layers"][0].update(entries=100)), "integrity check failed"),
    (edit_meta(lambda meta: meta["layers"][0].update(relu="false")), "integrity check failed"),
    (lambda arrays: arrays.update(codebook0=arrays["codebook0"].view(np.int32)), "member list says"),
])
def test_damaged_files_give_clear_errors(lenet300_file, tmp_path, change, message):
    _, path = lenet300_file
    with pytest.raises(UserError, match=message):
        CompressedModel.load(rewrite(path, tmp_path / "bad.npz", change))


@pytest.mark.parametrize("change, message", [
    (edit_meta(lambda meta: meta["layers"][0].update(shape=[300, 600])), "lands at position"),
    (edit_meta(lambda meta: meta["layers"][0].update(bits=5)), "codebook0 must have shape"),
    (edit_meta(lambda meta: meta["layers"][0].update(entries=10**9)), "must lie in 0..235200"),
    (edit_meta(lambda meta: meta["layers"][0].update(entries=100)), "bytes are more than 100 symbols"),
    (edit_meta(lambda meta: meta["layers"][0].update(entries=meta["layers"][0]["entries"] - 10)), "bits are left after|bytes are more than"),
    (edit_meta(lambda meta: meta["layers"][0].update(shape=[10**6, 10**6])), "more than the limit"),
    (edit_meta(lambda meta: meta["layers"][0].update(relu="false")), "'relu' must be bool"),
    (edit_meta(lambda meta: meta["layers"][0].update(bits=4.0)), "'bits' must be int"),
    (edit_meta(lambda meta: meta["layers"][0].update(bias=False)), "do not belong to the layers"),
    (edit_meta(lambda meta: meta["layers"][0].update(extra=1)), "unknown keys"),
    (edit_meta(lambda meta: meta["layers"][0].pop("relu")), "'relu' is missing"),
    (lambda arrays: arrays.update(codebook0=arrays["codebook0"].view(np.int32)), "must be of dtype <f4 or <f8"),
])
def test_resealed_files_meet_the_typed_schema(lenet300_file, tmp_path, change, message):
    _, path = lenet300_file
    with pytest.raises(UserError, match=message):
        CompressedModel.load(resealed(path, tmp_path / "bad.npz", change))


def test_modules_are_recorded_and_version_1_files_upgrade(lenet300_file, tmp_path):
    _, path = lenet300_file
    model = CompressedModel.load(path)
    assert [(layer.module, layer.module_type) for layer in model.layers] == \
        [("classifier.2", "Linear"), ("classifier.5", "Linear"), ("classifier.8", "Linear")]
    assert CompressedModel.load(REPORTED_MODEL).network == "lenet300"
    arrays = read_members(path)
    meta = json.loads(arrays.pop("meta").tobytes())
    for index, layer in enumerate(meta["layers"]):
        owned = [f"codebook{index}", f"bias{index}"] + [f"{s}{index}_{p}" for s in ("weight", "index") for p in ("lengths", "data")]
        for key in ("module", "module_type", "bias"):
            layer.pop(key)
        layer["crc32"] = {key: zlib.crc32(arrays[key].tobytes()) for key in owned}
    version1 = {"format": meta["format"], "version": 1, "network": meta["network"], "layers": meta["layers"]}
    np.savez(tmp_path / "v1.npz", meta=np.frombuffer(json.dumps(version1).encode(), dtype=np.uint8), **arrays)
    with pytest.raises(UserError, match="upgrade"):
        CompressedModel.load(tmp_path / "v1.npz")
    upgrade(tmp_path / "v1.npz", tmp_path / "v2.npz")
    for old, new in zip(model.layers, CompressedModel.load(tmp_path / "v2.npz").layers):
        assert np.array_equal(old.codes, new.codes) and np.array_equal(old.codebook, new.codebook) and old.name == new.name
    arrays["codebook0"][1] += 1
    np.savez(tmp_path / "v1bad.npz", meta=np.frombuffer(json.dumps(version1).encode(), dtype=np.uint8), **arrays)
    with pytest.raises(UserError, match="fails its CRC-32"):
        upgrade(tmp_path / "v1bad.npz", tmp_path / "v2bad.npz")


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
    with pytest.raises(UserError, match="no nn.Linear"):
        quantize_linear_layers(nn.Sequential(nn.ReLU()))
    torch.save(model.state_dict(), tmp_path / "w.pt")
    assert [layer.relu for layer in layers_from_state_dict(tmp_path / "w.pt")] == [True, False]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable torch state_dict"):
        layers_from_state_dict(tmp_path / "bad.pt")
