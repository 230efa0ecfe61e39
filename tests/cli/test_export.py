"""`accel export`: layer files from a compressed model, which simulate and verilog then read."""

from pathlib import Path

from accel.arch.layer import QuantizedLayer
from accel.cli import main
from accel.models.export import layers_from_compressed_file

MODEL = Path(__file__).resolve().parents[2] / "reports" / "compression" / "lenet300" / "model.dc.npz"


def test_export_writes_one_file_per_layer_equal_to_the_model(tmp_path, capsys):
    assert main(["export", str(MODEL), "--out", str(tmp_path)]) == 0
    for layer in layers_from_compressed_file(MODEL):
        saved = QuantizedLayer.load(tmp_path / f"{layer.name}.npz")
        assert saved.name == layer.name and saved.relu == layer.relu
        assert (saved.codes == layer.codes).all() and (saved.codebook == layer.codebook).all() and (saved.bias == layer.bias).all()
    assert main(["simulate", str(tmp_path / "classifier.8.npz"), "--pes", "2"]) == 0
    assert main(["export", f"{MODEL}:classifier.5", "--out", str(tmp_path / "one")]) == 0
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["classifier.5.npz", "manifest.json"]
    capsys.readouterr()
    assert main(["export", f"{MODEL}:fc1", "--out", str(tmp_path / "none")]) == 2
    assert "its layers: classifier.2, classifier.5, classifier.8" in capsys.readouterr().err
