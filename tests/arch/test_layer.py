"""The compressed-layer file format and the architecture config: validation and round trips."""

import json

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations, scaled_product, write_back
from accel.arch.layer import QuantizedLayer

CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def test_layer_round_trip(tmp_path):
    layer = QuantizedLayer(codes=np.array([[0, 3], [15, 1]]), codebook=CODEBOOK, bias=np.array([0.5, -1.0]), relu=False, name="fc")
    loaded = QuantizedLayer.load(layer.save(tmp_path / "fc.npz"))
    assert np.array_equal(loaded.codes, layer.codes) and np.array_equal(loaded.codebook, CODEBOOK)
    assert np.array_equal(loaded.bias, layer.bias) and loaded.relu is False and loaded.name == "fc"
    assert np.allclose(loaded.forward(np.array([1.0, 2.0])), layer.forward(np.array([1.0, 2.0])))


def test_sparse_codes_list_the_non_zeros_and_cannot_go_stale():
    given = np.array([[0, 3, 0], [15, 0, 1]])
    layer = QuantizedLayer(codes=given, codebook=CODEBOOK)
    sparse = layer.sparse_codes()
    assert sparse.row_begin.tolist() == [0, 1, 3] and sparse.columns.tolist() == [1, 0, 2]
    assert sparse.codes.tolist() == [3, 15, 1] and layer.sparse_codes() is sparse
    given[0, 0] = 7  # the caller's array stays theirs: the layer holds a copy
    assert layer.codes[0, 0] == 0 and given.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        layer.codes[0, 0] = 7


@pytest.mark.parametrize("codes, codebook, message", [
    (np.array([[0, 16]]), CODEBOOK, "codes must lie"),
    (np.array([[0, 1]]), np.r_[0.5, CODEBOOK[1:]], "entry 0 must be exactly 0.0"),
    (np.array([0, 1]), CODEBOOK, "2-D"),
    (np.array([[0, 1]]), CODEBOOK[:12], "power of two"),
])
def test_bad_layers_are_refused(codes, codebook, message):
    with pytest.raises(UserError, match=message):
        QuantizedLayer(codes=codes, codebook=codebook)


def test_truncated_and_foreign_files_give_clear_errors(tmp_path):
    path = QuantizedLayer(codes=np.eye(4, dtype=int), codebook=CODEBOOK).save(tmp_path / "l.npz")
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="truncated or corrupted"):
        QuantizedLayer.load(truncated)
    other = tmp_path / "o.npz"
    np.savez(other, meta=np.frombuffer(json.dumps({"format": "x"}).encode(), dtype=np.uint8), codes=np.eye(2), codebook=CODEBOOK)
    with pytest.raises(UserError, match="not an eie-layer file"):
        QuantizedLayer.load(other)
    with pytest.raises(UserError, match="does not exist"):
        QuantizedLayer.load(tmp_path / "missing.npz")


def test_config_file_validation(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps({"n_pes": 16, "fifo_depth": 2}))
    config = ArchConfig.load(path)
    assert (config.n_pes, config.fifo_depth, config.entries_per_line) == (16, 2, 8)
    path.write_text(json.dumps({"n_pe": 16}))
    with pytest.raises(UserError, match="unknown architecture config keys"):
        ArchConfig.load(path)
    with pytest.raises(UserError, match="n_pes=0"):
        ArchConfig(n_pes=0)


def test_fixed_point_rules():
    config = ArchConfig()
    assert quantize_activations(np.array([1.0, -0.001953125, 1000.0]), config).tolist() == [256, 0, 32767]
    # 1.5 (Q8.8 = 384) x 0.5 (Q4.12 = 2048) = 0.75 -> 192; halves round up after the shift.
    assert scaled_product(np.array([384, 1, -1]), np.array([2048, 2048, 2048]), config).tolist() == [192, 1, 0]
    assert write_back(np.array([-5, 40000, 7]), relu=True, config=config).tolist() == [0, 32767, 7]
    assert write_back(np.array([-40000]), relu=False, config=config).tolist() == [-32768]


def test_layer_files_check_members_dtypes_and_integrity(tmp_path):
    path = QuantizedLayer(codes=np.eye(4, dtype=int), codebook=CODEBOOK, bias=np.ones(4)).save(tmp_path / "l.npz")
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    without_bias = {key: value for key, value in arrays.items() if key != "bias"}
    np.savez(tmp_path / "nobias.npz", **without_bias)
    with pytest.raises(UserError, match="do not match its member list"):
        QuantizedLayer.load(tmp_path / "nobias.npz")
    for codebook in (CODEBOOK.astype(bool), CODEBOOK.astype(complex), CODEBOOK.astype(str),
                     np.arange(16).astype("datetime64[s]")):
        np.savez(tmp_path / "odd.npz", **{**arrays, "codebook": codebook})
        with pytest.raises(UserError):
            QuantizedLayer.load(tmp_path / "odd.npz")
        with pytest.raises(UserError, match="real numbers"):
            QuantizedLayer(codes=np.eye(4, dtype=int), codebook=codebook)
    meta = json.loads(arrays["meta"].tobytes())
    meta["version"] = 1
    np.savez(tmp_path / "v1.npz", **{**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)})
    with pytest.raises(UserError, match="version 1 files are no longer read"):
        QuantizedLayer.load(tmp_path / "v1.npz")


def test_nan_through_the_python_api_raises():
    config = ArchConfig()
    with pytest.raises(UserError, match="NaN"):
        quantize_activations(np.array([1.0, np.nan]), config)


@pytest.mark.parametrize("text, message", [
    ('{"clock_mhz": NaN}', "not valid JSON"),
    ('{"clock_mhz": 1e999}', "finite"),
    ('{"spmat_sram_bytes": 0}', "spmat_sram_bytes=0"),
    ('{"act_bits": 40, "acc_bits": 48}', "at most 40"),
    ('{"n_pes": "4"}', "must be a finite number"),
    ('[' * 100000 + ']' * 100000, "nests too deeply|not valid JSON"),
    ('{"n_pes": 4, "n_pes": 8}', "duplicate key"),
])
def test_config_fields_are_finite_positive_and_bounded(tmp_path, text, message):
    path = tmp_path / "arch.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        ArchConfig.load(path)


def test_config_python_api_and_unreadable_files(tmp_path):
    for changes in ({"clock_mhz": float("nan")}, {"clock_mhz": float("inf")}, {"ptr_sram_bytes": -1},
                    {"n_pes": 2.5}, {"weight_bits": 30}):
        with pytest.raises(UserError, match="invalid architecture config"):
            ArchConfig(**changes)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(UserError, match="not UTF-8"):
        ArchConfig.load(tmp_path / "binary.json")
    with pytest.raises(UserError, match="is a folder"):
        ArchConfig.load(tmp_path)
    assert ArchConfig(n_pes=np.int64(8)).n_pes == 8 and type(ArchConfig(n_pes=np.int64(8)).n_pes) is int
