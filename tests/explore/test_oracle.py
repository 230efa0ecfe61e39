"""The second reader of the compressed model file (written from models/FORMAT.md) agrees with the first."""

import ast
import json
from pathlib import Path

import pytest

from accel.arch.npz import DIGEST_KEY, MEMBERS_KEY, read_members, save_npz
from accel.explore.fuzzing import oracle
from accel.explore.fuzzing.targets import compressed_fingerprint, compressed_seed, oracle_fingerprint
from accel.models.compressed_file import CompressedModel

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted([*(ROOT / "reports" / "compression").rglob("*.dc.npz"), *(ROOT / "reports" / "models").rglob("*.dc.npz")])


def test_it_imports_nothing_of_the_project():
    tree = ast.parse((ROOT / "accel" / "explore" / "fuzzing" / "oracle.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "ast", "hashlib", "json", "math", "zipfile", "collections", "dataclasses",
                        "pathlib", "typing", "numpy"}


def test_its_lists_of_host_operations_are_the_format_s_and_the_reader_s():
    from accel.models import host_ops

    assert oracle.HOST_FUNCTIONS == set(host_ops.FUNCTIONS) and oracle.HOST_METHODS == host_ops.METHODS
    text = (ROOT / "models" / "FORMAT.md").read_text()
    assert all(f"`{name}`" in text for name in oracle.HOST_FUNCTIONS | oracle.HOST_METHODS)


@pytest.mark.parametrize("path", MODELS, ids=[str(path.relative_to(ROOT)) for path in MODELS])
def test_both_readers_decode_the_recorded_models_alike(path):
    assert oracle_fingerprint(path) == compressed_fingerprint(CompressedModel.load(path))


def resealed(path: Path, edit) -> Path:
    arrays = read_members(path)
    meta = json.loads(arrays.pop("meta").tobytes())
    meta.pop(MEMBERS_KEY)
    meta.pop(DIGEST_KEY)
    edit(meta, arrays)
    return save_npz(path.with_name("edited.npz"), meta, arrays)


@pytest.mark.parametrize("edit, rule", [
    (lambda meta, arrays: meta.update(version=2.0), "'version' has JSON type float"),
    (lambda meta, arrays: meta["layers"][0].update(bits=4.0), "'bits' has JSON type float"),
    (lambda meta, arrays: meta["layers"][0].update(entries=meta["layers"][0]["entries"] - 1), "bits are left"),
    (lambda meta, arrays: meta["layers"][0].update(extra=1), "unknown keys"),
    (lambda meta, arrays: arrays.update(stray=arrays["codebook0"]), "not exactly those the layers and the graph own"),
    (lambda meta, arrays: meta["layers"][1].update(shape=[1 << 14, 1 << 14]), "more than 2\\^27 weights"),
    (lambda meta, arrays: meta["graph"].update(params=None), "not an object with a list of params"),
    (lambda meta, arrays: meta["graph"].update(params=1.5), "not an object with a list of params"),
])
def test_both_readers_refuse_files_that_break_the_format(tmp_path, edit, rule):
    path = resealed(compressed_seed(tmp_path), edit)
    with pytest.raises(oracle.Refused, match=rule):
        oracle.read_model(path)
    with pytest.raises(Exception):
        CompressedModel.load(path)


def test_a_new_field_is_declared_in_one_place(tmp_path, monkeypatch):
    """A metadata field added to LAYER_FIELDS is read, checked and carried into the decoded model."""
    path = resealed(compressed_seed(tmp_path), lambda meta, arrays: [layer.update(stride=1) for layer in meta["layers"]])
    with pytest.raises(oracle.Refused, match="unknown keys"):
        oracle.read_model(path)
    monkeypatch.setitem(oracle.LAYER_FIELDS, "stride", oracle.Field((int,)))
    assert [layer["stride"] for layer in oracle.read_model(path)["layers"]] == [1, 1, 1]
