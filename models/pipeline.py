"""The LeNet presets: train dense, then Deep Compression through ``models.compression``; write the reports."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from accel.arch.errors import UserError
from accel.arch.files import write_csv_atomic, write_text_atomic
from models.compression import SENSITIVITY_FRACTIONS, CompressionResult, Schedule, check_layers, deep_compress
from models.datasets import Dataset
from models.networks import build_network, compressible_layers
from models.size_report import bytes_rows, total_row
from models.training import TrainSettings, accuracy, dataset_trainer, train


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
    finetune_lr_factor: float | None = None
    """Learning rate of centroid fine-tuning / ``lr`` (default: ``retrain_lr_factor``)."""
    l1: float = 0.0
    l2: float = 1e-4
    dropout: float = 0.0
    bits: str | int = "hardware"
    init: str = "linear"
    finetune_epochs: int = 2
    index_bits: int | str | dict[str, int] = 5
    """Relative-index bits in the file: a number, per layer, or "auto" (smallest after Huffman coding)."""
    seed: int = 0
    sensitivity: bool = False
    """Also sweep each layer's pruning sensitivity on the dense model."""


def _schedule(names: tuple[str, ...], **kept: list[float]) -> list[dict[str, float]]:
    """Per-iteration kept fractions from one list per layer, given by position (``l0=[...]``, ``l1=[...]``)."""
    steps = len(next(iter(kept.values())))
    return [{name: kept[f"l{index}"][step] for index, name in enumerate(names)} for step in range(steps)]


LENET300 = ("classifier.2", "classifier.5", "classifier.8")
LENET5 = ("features.0", "features.2", "classifier.2", "classifier.5")
PRESETS: dict[str, dict[str, CompressionSettings]] = {
    "lenet300": {
        "quick": CompressionSettings("lenet300", dense_epochs=3, retrain_epochs=2, finetune_epochs=2,
                                     prune_schedule=_schedule(LENET300, l0=[0.25, 0.08], l1=[0.3, 0.1], l2=[0.5, 0.3])),
        "full": CompressionSettings("lenet300", dense_epochs=20, retrain_epochs=4, retrain_lr_factor=0.2,
                                    finetune_epochs=4, finetune_lr_factor=0.02, index_bits="auto",
                                    prune_schedule=_schedule(LENET300, l0=[0.5, 0.3, 0.18, 0.11, 0.085, 0.072],
                                                             l1=[0.5, 0.3, 0.2, 0.13, 0.1, 0.085],
                                                             l2=[0.8, 0.6, 0.45, 0.35, 0.3, 0.25])),
    },
    "lenet5": {
        "quick": CompressionSettings("lenet5", dense_epochs=2, lr=0.02, retrain_epochs=1, finetune_epochs=1,
                                     prune_schedule=_schedule(LENET5, l0=[0.8, 0.7], l1=[0.5, 0.3], l2=[0.3, 0.1],
                                                              l3=[0.5, 0.3])),
        "full": CompressionSettings("lenet5", dense_epochs=6, lr=0.02, retrain_epochs=3, retrain_lr_factor=0.2,
                                    finetune_epochs=2, index_bits="auto",
                                    prune_schedule=_schedule(LENET5, l0=[0.9, 0.8, 0.7, 0.66, 0.62],
                                                             l1=[0.6, 0.35, 0.22, 0.17, 0.15],
                                                             l2=[0.4, 0.2, 0.1, 0.07, 0.055],
                                                             l3=[0.6, 0.4, 0.28, 0.22, 0.18])),
    },
}


def preset(network: str, name: str) -> CompressionSettings:
    if network not in PRESETS:
        raise UserError(f"unknown network {network!r}; choose one of {', '.join(PRESETS)}")
    if name not in PRESETS[network]:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS[network])}")
    return dataclasses.replace(PRESETS[network][name])


def finetune_lr(settings: CompressionSettings) -> float | None:
    return None if settings.finetune_lr_factor is None else settings.lr * settings.finetune_lr_factor


def schedule_of(settings: CompressionSettings) -> Schedule:
    """The preset's prune rounds, bits and epochs as a Schedule of the general API."""
    return Schedule(prune=settings.prune_schedule, prune_by="kept", bits=settings.bits, index_bits=settings.index_bits,
                    init=settings.init, retrain_epochs=settings.retrain_epochs, finetune_epochs=settings.finetune_epochs,
                    lr=settings.lr * settings.retrain_lr_factor, finetune_lr=finetune_lr(settings),
                    weight_decay=settings.l2, dropout=settings.dropout, seed=settings.seed)


def compress(settings: CompressionSettings, data: Dataset, progress: bool = True,
             out: str | Path | None = None) -> CompressionResult:
    """Train the network dense, then ``deep_compress`` it; deterministic for a given seed.

    With ``out`` the outputs of ``write_outputs`` are written there too.
    """
    if tuple(data.train_images.shape[1:]) != (1, 28, 28):
        raise UserError(f"{settings.network} takes 28x28 grey images; {data.name} has {tuple(data.train_images.shape[1:])}")
    torch.manual_seed(settings.seed)
    model = build_network(settings.network, data.classes, settings.dropout)
    check_layers(schedule_of(settings), [name for name, _ in compressible_layers(model)])
    start, cpu_start = time.perf_counter(), time.process_time()
    train(model, data, TrainSettings(settings.dense_epochs, settings.lr, l2=settings.l2, l1=settings.l1, seed=settings.seed),
          desc="dense training", progress=progress)
    dense_seconds, dense_cpu = time.perf_counter() - start, time.process_time() - cpu_start

    trainer = dataset_trainer(data, settings.lr * settings.retrain_lr_factor, l2=settings.l2, l1=settings.l1,
                              seed=settings.seed, progress=progress, finetune_lr=finetune_lr(settings))
    result = deep_compress(model, trainer, lambda net: accuracy(net, data.test_images, data.test_labels),
                           schedule_of(settings), name=settings.network, network=settings.network,
                           sensitivity_fractions=SENSITIVITY_FRACTIONS if settings.sensitivity else (),
                           progress=progress, inplace=True, example=data.test_images[:2])
    result.settings, result.data_name = dataclasses.asdict(settings), data.name
    result.seconds = {"dense": dense_seconds, **result.seconds}
    result.cpu_seconds += dense_cpu
    if out is not None:
        write_outputs(result, Path(out))
    return result


def write_outputs(result: CompressionResult, out: Path, provenance: dict | None = None) -> dict[str, Path]:
    """The recorded results of a run: the compressed model file, sizes and bytes per layer (CSV), the JSON
    summary (with the same rows), the sensitivity sweep (CSV). Pages and plots are rendered from them."""
    sizes = result.sizes
    rows = [size.row() for size in sizes] + [total_row(sizes)]
    summary = {**({"provenance": provenance} if provenance else {}), **result.summary(), "sizes": rows, "bytes": bytes_rows(sizes), "sensitivity": result.sensitivity,
               "sensitivity_fractions": sorted({row["fraction_pruned"] for row in result.sensitivity})
               or list(SENSITIVITY_FRACTIONS)}
    paths = {
        "model": result.compressed.save(out / "model.dc.npz"),
        "sizes_csv": write_csv_atomic(out / "sizes.csv", rows),
        "bytes_csv": write_csv_atomic(out / "bytes.csv", bytes_rows(sizes)),
        "summary": write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n"),
    }
    if result.sensitivity:
        paths["sensitivity_csv"] = write_csv_atomic(out / "sensitivity.csv", result.sensitivity)
    return paths
