"""Deep Compression end to end: train, prune and retrain, quantize and fine-tune, Huffman-code, save."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from accel.arch.errors import UserError
from accel.arch.files import write_csv_atomic, write_text_atomic
from models.compressed_file import CompressedModel, compress_module
from models.datasets import Dataset
from models.networks import build_network, compressible_layers
from models.pruning import kept_fractions, make_permanent, prune_to_kept, rescale_dropout, sensitivity
from models.quantization import quantize_model
from models.size_report import LayerSize, bytes_rows, total_row
from models.training import TrainSettings, accuracy, train


@dataclass
class CompressionSettings:
    """Everything that decides a compression run; presets below."""

    network: str = "lenet300"
    dense_epochs: int = 10
    lr: float = 0.05
    prune_schedule: list[dict[str, float]] = field(default_factory=list)
    """One {layer: kept fraction of the original weights} per prune-retrain iteration. Each layer is
    pruned by the std rule, its quality chosen so that about that fraction survives (summary: qualities)."""
    retrain_epochs: int = 3
    retrain_lr_factor: float = 0.1
    l1: float = 0.0
    l2: float = 1e-4
    dropout: float = 0.0
    bits: str | int = "hardware"
    init: str = "linear"
    finetune_epochs: int = 2
    index_bits: int = 5
    seed: int = 0
    sensitivity: bool = False
    """Also sweep each layer's pruning sensitivity on the dense model."""


def _schedule(names: tuple[str, ...], **kept: list[float]) -> list[dict[str, float]]:
    """Per-iteration kept fractions from one list per layer, given by position (``l0=[...]``, ``l1=[...]``)."""
    steps = len(next(iter(kept.values())))
    return [{name: kept[f"l{index}"][step] for index, name in enumerate(names)} for step in range(steps)]


SENSITIVITY_FRACTIONS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
LENET300 = ("classifier.2", "classifier.5", "classifier.8")
LENET5 = ("features.0", "features.2", "classifier.2", "classifier.5")
PRESETS: dict[str, dict[str, CompressionSettings]] = {
    "lenet300": {
        "quick": CompressionSettings("lenet300", dense_epochs=3, retrain_epochs=2, finetune_epochs=2,
                                     prune_schedule=_schedule(LENET300, l0=[0.25, 0.08], l1=[0.3, 0.1], l2=[0.5, 0.3])),
        "full": CompressionSettings("lenet300", dense_epochs=20, retrain_epochs=5, retrain_lr_factor=0.2,
                                    finetune_epochs=4,
                                    prune_schedule=_schedule(LENET300, l0=[0.5, 0.3, 0.18, 0.11, 0.078],
                                                             l1=[0.5, 0.3, 0.2, 0.13, 0.09],
                                                             l2=[0.8, 0.6, 0.45, 0.35, 0.25])),
    },
    "lenet5": {
        "quick": CompressionSettings("lenet5", dense_epochs=2, lr=0.02, retrain_epochs=1, finetune_epochs=1,
                                     prune_schedule=_schedule(LENET5, l0=[0.8, 0.7], l1=[0.5, 0.3], l2=[0.3, 0.1],
                                                              l3=[0.5, 0.3])),
        "full": CompressionSettings("lenet5", dense_epochs=6, lr=0.02, retrain_epochs=3, retrain_lr_factor=0.2,
                                    finetune_epochs=2,
                                    prune_schedule=_schedule(LENET5, l0=[0.9, 0.8, 0.7, 0.66], l1=[0.6, 0.35, 0.22, 0.17],
                                                             l2=[0.4, 0.2, 0.1, 0.065], l3=[0.6, 0.4, 0.28, 0.2])),
    },
}


def preset(network: str, name: str) -> CompressionSettings:
    if network not in PRESETS:
        raise UserError(f"unknown network {network!r}; choose one of {', '.join(PRESETS)}")
    if name not in PRESETS[network]:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS[network])}")
    return dataclasses.replace(PRESETS[network][name])


@dataclass
class CompressionResult:
    """Accuracies (top-1 %, test set) after each stage, the compressed model, its sizes and timings."""

    settings: CompressionSettings
    accuracy_dense: float
    accuracy_pruned: float
    accuracy_quantized: float
    kept: dict[str, float]
    qualities: list[dict[str, float]]
    """The std-rule quality each prune iteration used per layer."""
    bits: dict[str, int]
    compressed: CompressedModel
    sizes: list[LayerSize]
    seconds: dict[str, float]
    """Wall-clock seconds per stage."""
    cpu_seconds: float
    """CPU time of this process over the whole run (below the wall time when cores are shared)."""
    model: torch.nn.Module
    data_name: str = ""
    sensitivity: list[dict] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float:
        return sum(self.seconds.values())

    def summary(self) -> dict:
        total = total_row(self.sizes)
        return {
            "network": self.settings.network, "data": self.data_name,
            "accuracy_dense": self.accuracy_dense, "accuracy_pruned": self.accuracy_pruned,
            "accuracy_quantized": self.accuracy_quantized, "kept_fraction": self.kept, "bits": self.bits,
            "rate_pruning_params": total["rate_P_params"], "rate_pruning_storage": total["rate_P_storage"],
            "rate_PQ": total["rate_PQ"], "rate_PQH": total["rate_PQH"], "original_bytes": total["original_bytes"],
            "compressed_bytes": total["PQH_bytes"], "seconds": self.seconds, "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "torch_threads": torch.get_num_threads(), "qualities": self.qualities,
            "settings": dataclasses.asdict(self.settings),
        }


def compress(settings: CompressionSettings, data: Dataset, progress: bool = True,
             out: str | Path | None = None) -> CompressionResult:
    """Train, prune and retrain, quantize and fine-tune, Huffman-code; deterministic for a given seed.

    With ``out`` the outputs of ``write_outputs`` are written there too.
    """
    if tuple(data.train_images.shape[1:]) != (1, 28, 28):
        raise UserError(f"{settings.network} takes 28x28 grey images; {data.name} has {tuple(data.train_images.shape[1:])}")
    torch.manual_seed(settings.seed)
    model = build_network(settings.network, data.classes, settings.dropout)
    names = [name for name, _ in compressible_layers(model)]
    for kept_targets in settings.prune_schedule:
        unknown = set(kept_targets) - set(names)
        if unknown:
            raise UserError(f"prune schedule names layers {sorted(unknown)} that {settings.network} lacks; layers: {names}")
    seconds: dict[str, float] = {}
    cpu_start = time.process_time()

    def evaluate() -> float:
        return accuracy(model, data.test_images, data.test_labels)

    start = time.perf_counter()
    train(model, data, TrainSettings(settings.dense_epochs, settings.lr, l2=settings.l2, l1=settings.l1, seed=settings.seed),
          desc="dense training", progress=progress)
    accuracy_dense = evaluate()
    seconds["dense"] = time.perf_counter() - start
    sensitivity_rows = []
    if settings.sensitivity:
        start = time.perf_counter()
        sensitivity_rows = sensitivity(model, lambda _: evaluate(), SENSITIVITY_FRACTIONS)
        seconds["sensitivity"] = time.perf_counter() - start

    start = time.perf_counter()
    retrain = TrainSettings(settings.retrain_epochs, settings.lr * settings.retrain_lr_factor, l2=settings.l2,
                            l1=settings.l1, seed=settings.seed)
    qualities = []
    for iteration, kept_targets in enumerate(settings.prune_schedule, 1):
        qualities.append(prune_to_kept(model, kept_targets))
        if settings.dropout:
            rescale_dropout(model, settings.dropout, kept_fractions(model))
        train(model, data, retrain, desc=f"prune + retrain {iteration}/{len(settings.prune_schedule)}", progress=progress)
    make_permanent(model)
    accuracy_pruned = evaluate()
    kept = kept_fractions(model)
    seconds["prune"] = time.perf_counter() - start

    start = time.perf_counter()
    bits = quantize_model(model, settings.bits, settings.init, reserve_zero=True, seed=settings.seed)
    finetune = TrainSettings(settings.finetune_epochs, settings.lr * settings.retrain_lr_factor, l2=0.0, seed=settings.seed)
    train(model, data, finetune, desc="quantized fine-tuning", progress=progress)
    accuracy_quantized = evaluate()
    seconds["quantize"] = time.perf_counter() - start

    start = time.perf_counter()
    compressed = compress_module(model, settings.network, settings.index_bits)
    sizes = compressed.sizes()
    seconds["huffman"] = time.perf_counter() - start
    result = CompressionResult(settings, accuracy_dense, accuracy_pruned, accuracy_quantized, kept, qualities, bits,
                               compressed, sizes, seconds, time.process_time() - cpu_start, model,
                               data_name=data.name, sensitivity=sensitivity_rows)
    if out is not None:
        write_outputs(result, Path(out))
    return result


def write_outputs(result: CompressionResult, out: Path, provenance: dict | None = None) -> dict[str, Path]:
    """The recorded results of a run: the compressed model file, sizes and bytes per layer (CSV), the JSON
    summary (with the same rows), the sensitivity sweep (CSV). Pages and plots are rendered from them."""
    sizes = result.sizes
    rows = [size.row() for size in sizes] + [total_row(sizes)]
    summary = {**({"provenance": provenance} if provenance else {}), **result.summary(), "sizes": rows, "bytes": bytes_rows(sizes), "sensitivity": result.sensitivity,
               "sensitivity_fractions": list(SENSITIVITY_FRACTIONS)}
    paths = {
        "model": result.compressed.save(out / "model.dc.npz"),
        "sizes_csv": write_csv_atomic(out / "sizes.csv", rows),
        "bytes_csv": write_csv_atomic(out / "bytes.csv", bytes_rows(sizes)),
        "summary": write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n"),
    }
    if result.sensitivity:
        paths["sensitivity_csv"] = write_csv_atomic(out / "sensitivity.csv", result.sensitivity)
    return paths
