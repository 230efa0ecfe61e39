"""IDX data sets, the compress() pipeline and `accel compress` on tiny synthetic data."""

import gzip
import json

import numpy as np
import pytest
import torch

from accel.arch.errors import UserError
from accel.cli import main
from accel.models.compressed_file import CompressedModel
from accel.models.compression import Schedule
from accel.models.datasets import load_idx_dataset, read_idx
from accel.models.export import layers_from_compressed
from accel.models.pipeline import CompressionSettings, compress, preset

pytestmark = pytest.mark.usefixtures("one_thread")


def write_idx(path, array: np.ndarray, compress: bool = True, type_code: int = 0x08) -> None:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(">i4" if type_code == 0x0C else np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def tiny_idx_folder(folder, count: int = 40):
    """Random images whose class is the brightest of ten bands, so a network can learn something."""
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for split, n in (("train", count), ("t10k", count // 2)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for image, label in zip(images, labels):
            image[2 * label + 4: 2 * label + 6] = 255
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels, compress=False)
    return folder


def test_idx_reader_reads_raw_and_gzip_files(tmp_path):
    data = load_idx_dataset(tiny_idx_folder(tmp_path / "data"))
    assert data.train_images.shape == (40, 1, 28, 28) and data.test_labels.shape == (20,)
    assert abs(float(data.train_images.mean())) < 1e-5 and data.classes == 10


@pytest.mark.parametrize("damage, message", [
    (lambda f: f.joinpath("t10k-labels-idx1-ubyte").write_bytes(f.joinpath("t10k-labels-idx1-ubyte").read_bytes()[:-3]),
     "truncated or corrupt"),
    (lambda f: f.joinpath("train-images-idx3-ubyte.gz").unlink(), "missing"),
    (lambda f: f.joinpath("train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not gzip"), "cannot be read"),
    (lambda f: write_idx(f / "t10k-labels-idx1-ubyte", np.arange(7), compress=False), "do not belong together"),
    (lambda f: write_idx(f / "t10k-labels-idx1-ubyte", np.full(20, 12), compress=False), r"labels must lie in 0\.\.9"),
    (lambda f: write_idx(f / "t10k-images-idx3-ubyte.gz", np.zeros((20, 14, 14))), "train images are"),
    (lambda f: write_idx(f / "train-labels-idx1-ubyte", np.zeros(40), compress=False, type_code=0x0C), "unsigned bytes"),
])
def test_idx_reader_names_the_broken_file(tmp_path, damage, message):
    folder = tiny_idx_folder(tmp_path / "data")
    damage(folder)
    with pytest.raises(UserError, match=message):
        load_idx_dataset(folder)


def test_missing_folder_and_bad_magic(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_idx_dataset(tmp_path / "nowhere")
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "junk")


def tiny_settings(network: str = "lenet300") -> CompressionSettings:
    names = {"lenet300": ("classifier.2", "classifier.5", "classifier.8"),
             "lenet5": ("features.0", "features.2", "classifier.2", "classifier.5")}[network]
    return CompressionSettings(network, dense_epochs=2, lr=0.02, schedule=Schedule(
        retrain_epochs=1, finetune_epochs=1, lr=0.02 * 0.1, prune=[{name: 0.5 for name in names}, {name: 0.2 for name in names}]))


@pytest.mark.parametrize("network", ["lenet300", "lenet5"])
def test_pipeline_end_to_end_on_tiny_data(tmp_path, network):
    data = load_idx_dataset(tiny_idx_folder(tmp_path / "data"))
    result = compress(tiny_settings(network), data, progress=False, out=tmp_path / "out")
    assert all(kept == pytest.approx(0.2, abs=0.01) for kept in result.kept.values())
    assert len(result.qualities) == 2 and all(q > 0 for q in result.qualities[0].values())
    summary = result.summary()
    assert summary["rate_pruning_params"] == pytest.approx(5, rel=0.05) and summary["rate_PQH"] > summary["rate_PQ"]
    assert 0 <= summary["accuracy_quantized"] <= 100 and summary["wall_seconds"] > 0
    for name in ("model.dc.npz", "sizes.csv", "bytes.csv", "summary.json"):
        assert (tmp_path / "out" / name).is_file()
    decoded = CompressedModel.load(tmp_path / "out" / "model.dc.npz").to_module()
    with torch.no_grad():
        assert torch.equal(decoded(data.test_images), result.model(data.test_images))
    assert len(layers_from_compressed(result.compressed)) == (3 if network == "lenet300" else 2)


def test_pipeline_is_deterministic(tmp_path):
    data = load_idx_dataset(tiny_idx_folder(tmp_path / "data"))
    first, second = (compress(tiny_settings(), data, progress=False) for _ in range(2))
    assert first.accuracy_quantized == second.accuracy_quantized
    assert all(np.array_equal(a.codes, b.codes) and np.array_equal(a.codebook, b.codebook)
               for a, b in zip(first.compressed.layers, second.compressed.layers))


def test_presets_and_bad_settings(tmp_path):
    assert preset("lenet300", "quick").dense_epochs < preset("lenet300", "full").dense_epochs
    with pytest.raises(UserError, match="unknown preset"):
        preset("lenet300", "huge")
    data = load_idx_dataset(tiny_idx_folder(tmp_path / "data"))
    settings = tiny_settings()
    settings.schedule.prune = [{"fc9": 0.5}]
    with pytest.raises(UserError, match="lacks"):
        compress(settings, data, progress=False)


def test_accel_compress_command(tmp_path, capsys):
    folder = tiny_idx_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["compress", "--data", str(folder), "--out", str(out), "--json", "--quiet", "--bits", "hardware"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["network"] == "lenet300" and set(summary["bits"].values()) == {4}
    assert json.loads((out / "summary.json").read_text())["rate_PQH"] == summary["rate_PQH"]
    assert main(["compress", "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compress", "--data", str(folder), "--bits", "huge", "--quiet"]) == 2
    assert "argument --bits: must be 'hardware', 'paper' or a number of bits from 1 to 16" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compress", "--help"])
    assert "accel compress --net lenet5 --preset full --sensitivity" in capsys.readouterr().out
