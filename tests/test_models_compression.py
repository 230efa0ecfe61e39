"""Compression stages: pruning rule, masks, dropout, k-means, centroid gradients, storage, Huffman, files."""

import gzip

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from accel.errors import UserError
from models import huffman
from models.compressed_file import CompressedModel, compress_module
from models.datasets import load_idx_dataset, read_idx
from models.export import layers_from_compressed, layers_from_state_dict, quantize_linear_layers
from models.networks import LeNet5, LeNet300100, compressible_layers
from models.pruning import kept_fraction, make_permanent, prune_by_std, rescaled_dropout, sensitivity
from models.quantization import codebook_and_codes, initial_centroids, kmeans_1d, quantize_layer, quantize_model
from models.sparse_storage import decode_relative, encode_relative


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


def test_masks_keep_pruned_weights_at_zero_through_training():
    torch.manual_seed(0)
    layer = nn.Linear(20, 10)
    prune_by_std(layer, 1.0)
    pruned = layer.weight == 0
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        layer(torch.randn(8, 20)).pow(2).sum().backward()
        optimizer.step()
    assert torch.all(layer.weight[pruned] == 0)
    before = kept_fraction(layer)
    prune_by_std(layer, 1.0)  # a second iteration prunes further and keeps the old zeros
    assert torch.all(layer.weight[pruned] == 0) and kept_fraction(layer) < before
    make_permanent(layer)
    assert not hasattr(layer, "weight_mask") and torch.all(layer.weight[pruned] == 0)


def test_dropout_rescaling_rule():
    assert rescaled_dropout(0.5, 100, 25) == pytest.approx(0.25)
    assert rescaled_dropout(0.5, 100, 100) == pytest.approx(0.5)


def test_linear_initialisation_spans_min_to_max():
    values = torch.tensor([-2.0, -0.1, 0.3, 5.0])
    assert torch.allclose(initial_centroids(values, 4, "linear"), torch.tensor([-2.0, 1 / 3, 8 / 3, 5.0]))
    assert initial_centroids(values, 3, "density").shape == (3,)
    with pytest.raises(UserError, match="unknown centroid initialisation"):
        initial_centroids(values, 3, "nope")


def test_kmeans_finds_separated_clusters():
    values = torch.cat([torch.full((10,), -1.0), torch.full((5,), 2.0)]) + torch.linspace(0, 0.01, 15)
    centroids, assignment = kmeans_1d(values, 2)
    assert torch.allclose(centroids, torch.stack([values[:10].mean(), values[10:].mean()]), atol=1e-3)
    assert assignment.tolist() == [0] * 10 + [1] * 5


def test_reserved_zero_and_centroid_gradient_is_the_sum_of_weight_gradients():
    torch.manual_seed(1)
    layer = nn.Linear(6, 4, bias=False)
    with torch.no_grad():
        layer.weight[layer.weight.abs() < 0.15] = 0
    quantize_layer(layer, bits=2, reserve_zero=True)
    codebook, codes = codebook_and_codes(layer)
    assert codebook[0] == 0 and torch.equal(codes == 0, layer.weight == 0)
    inputs = torch.randn(3, 6)
    # Gradient of each weight for loss = sum(layer(x)) is the column sum of x.
    weight_grad = inputs.sum(0).expand(4, 6)
    layer(inputs).sum().backward()
    grad = layer.parametrizations.weight[0].codebook.grad
    expected = torch.zeros(4).index_add_(0, codes.flatten(), weight_grad.flatten())
    assert grad[0] == 0  # the reserved zero does not move
    assert torch.allclose(grad[1:], expected[1:])


@pytest.mark.parametrize("gap, fillers", [(30, 0), (31, 0), (32, 1), (63, 1), (64, 2)])
def test_filler_entries_at_exact_gap_boundaries(gap, fillers):
    codes = np.zeros(100, dtype=np.int64)
    codes[gap] = 7
    entry_codes, relative = encode_relative(codes, index_bits=5)
    assert entry_codes.tolist() == [0] * fillers + [7]
    assert relative.tolist() == [31] * fillers + [gap - 32 * fillers]
    assert np.array_equal(decode_relative(entry_codes, relative, 100), codes)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=0, max_size=400))
def test_huffman_round_trip(symbols):
    symbols = np.array(symbols, dtype=np.int64)
    stream = huffman.encode(symbols, 16)
    assert np.array_equal(huffman.decode(stream), symbols)
    if symbols.size:
        counts = np.bincount(symbols, minlength=16)
        assert huffman.encoded_bits(symbols, stream.lengths) <= max(1, int(np.ceil(np.log2(max(2, np.count_nonzero(counts)))))) * symbols.size


def test_truncated_huffman_stream_is_refused():
    stream = huffman.encode(np.arange(16).repeat(3), 16)
    stream.data = stream.data[:-3]
    with pytest.raises(UserError, match="ends before"):
        huffman.decode(stream)


def quantized_lenet(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = LeNet300100()
    for _, module in compressible_layers(model):
        prune_by_std(module, 1.0)
    make_permanent(model)
    quantize_model(model, "hardware")
    return model


def test_compressed_file_round_trip_reproduces_the_quantized_model(tmp_path):
    model = quantized_lenet()
    path = compress_module(model, "lenet300").save(tmp_path / "m.dc.npz")
    loaded = CompressedModel.load(path)
    dense = loaded.to_module()
    images = torch.randn(16, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(dense(images), model(images))
    sizes = loaded.sizes()
    assert sizes[0].kept == int((dense.classifier[2].weight != 0).sum())
    assert sizes[0].huffman_bits < sizes[0].quantized_bits < sizes[0].original_bits


def test_bad_compressed_files_give_clear_errors(tmp_path):
    path = compress_module(quantized_lenet(), "lenet300").save(tmp_path / "m.dc.npz")
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(UserError, match="truncated or corrupted"):
        CompressedModel.load(truncated)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["weight0_data"] = arrays["weight0_data"].copy()
    arrays["weight0_data"][0] ^= 0xFF
    corrupted = tmp_path / "c.npz"
    np.savez(corrupted, **arrays)
    with pytest.raises(UserError, match="CRC-32 mismatch"):
        CompressedModel.load(corrupted)
    with pytest.raises(UserError, match="no layer"):
        CompressedModel.load(path).load_into(LeNet5())


def test_export_to_eie_layers(tmp_path):
    model = quantized_lenet()
    layers = layers_from_compressed(compress_module(model, "lenet300"))
    assert [layer.relu for layer in layers] == [True, True, False]
    assert np.allclose(layers[0].dense_weights(), model.classifier[2].weight.detach().numpy())
    paper_bits = LeNet300100()
    quantize_model(paper_bits, 5)
    with pytest.raises(UserError, match="--bits hardware"):
        layers_from_compressed(compress_module(paper_bits, "lenet300"))


def test_any_module_and_state_dicts_become_eie_layers(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    layers = quantize_linear_layers(model, prune_quality=0.5)
    assert [layer.codes.shape for layer in layers] == [(8, 12), (3, 8)]
    assert layers[0].codebook.size == 16 and layers[0].codebook[0] == 0 and layers[0].density < 1
    torch.save(model.state_dict(), tmp_path / "w.pt")
    assert [layer.relu for layer in layers_from_state_dict(tmp_path / "w.pt")] == [True, False]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable torch state_dict"):
        layers_from_state_dict(tmp_path / "bad.pt")


def write_idx(path, array: np.ndarray, compress: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def tiny_idx_folder(folder, count: int = 20):
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for split, n in (("train", count), ("t10k", count // 2)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n), compress=False)
    return folder


def test_idx_reader_and_clear_errors(tmp_path):
    folder = tiny_idx_folder(tmp_path / "data")
    data = load_idx_dataset(folder)
    assert data.train_images.shape == (20, 1, 28, 28) and data.test_labels.shape == (10,)
    assert abs(float(data.train_images.mean())) < 1e-5
    broken = folder / "t10k-labels-idx1-ubyte"
    broken.write_bytes(broken.read_bytes()[:-3])
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_idx_dataset(folder)
    (folder / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(UserError, match="missing"):
        load_idx_dataset(folder)
    with pytest.raises(UserError, match="does not exist"):
        load_idx_dataset(tmp_path / "nowhere")
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "junk")


def test_sensitivity_sweep_restores_weights():
    torch.manual_seed(0)
    model = LeNet300100()
    before = model.classifier[2].weight.detach().clone()
    rows = sensitivity(model, lambda m: float((m.classifier[2].weight == 0).float().mean()), [0.0, 0.5])
    assert [row["fraction_pruned"] for row in rows[:2]] == [0.0, 0.5]
    assert rows[1]["accuracy"] == pytest.approx(0.5, abs=0.01)
    assert torch.equal(model.classifier[2].weight, before)
