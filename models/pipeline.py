"""The LeNet presets: train dense, then Deep Compression through ``accel.models.compression``; write the reports."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from accel.arch.errors import UserError
from accel.arch.files import write_csv_atomic, write_text_atomic
from accel.models.compression import SENSITIVITY_FRACTIONS, CompressionResult, Schedule, check_layers, deep_compress
from accel.models.datasets import Dataset
from accel.models.networks import build_network, compressible_layers
from accel.models.size_report import bytes_rows, total_row
from accel.models.training import TrainSettings, accuracy, dataset_trainer, train


@dataclass
class CompressionSettings:
    """A built-in network trained dense, then compressed by ``schedule``: the same ``Schedule`` that compresses a
    user's own model (``accel.models.user_model.compress_model``). Presets below."""

    network: str = "lenet300"
    dense_epochs: int = 10
    lr: float = 0.05
    """Dense training's learning rate (the schedule's ``lr`` retrains after pruning)."""
    l1: float = 0.0
    """L1 while training dense and retraining; the schedule's ``weight_decay`` is the L2 of both, its ``dropout``
    and ``seed`` serve the dense training too."""
    sensitivity: bool = False
    """Also sweep each layer's pruning sensitivity on the dense model."""
    schedule: Schedule = field(default_factory=Schedule)
    """Pruning rounds (kept fractions of the original weights, each reached by the std rule: summary: qualities),
    bits, epochs and learning rates of the compression."""


def _schedule(names: tuple[str, ...], **kept: list[float]) -> list[dict[str, float]]:
    """Per-iteration kept fractions from one list per layer, given by position (``l0=[...]``, ``l1=[...]``)."""
    steps = len(next(iter(kept.values())))
    return [{name: kept[f"l{index}"][step] for index, name in enumerate(names)} for step in range(steps)]


LENET300 = ("classifier.2", "classifier.5", "classifier.8")
LENET5 = ("features.0", "features.2", "classifier.2", "classifier.5")
PRESETS: dict[str, dict[str, CompressionSettings]] = {
    "lenet300": {
        "quick": CompressionSettings("lenet300", dense_epochs=3, schedule=Schedule(
            prune=_schedule(LENET300, l0=[0.25, 0.08], l1=[0.3, 0.1], l2=[0.5, 0.3]), retrain_epochs=2,
            finetune_epochs=2, lr=0.05 * 0.1)),
        "full": CompressionSettings("lenet300", dense_epochs=20, schedule=Schedule(
            prune=_schedule(LENET300, l0=[0.5, 0.3, 0.18, 0.11, 0.085, 0.072], l1=[0.5, 0.3, 0.2, 0.13, 0.1, 0.085],
                            l2=[0.8, 0.6, 0.45, 0.35, 0.3, 0.25]),
            retrain_epochs=4, lr=0.05 * 0.2, finetune_epochs=4, finetune_lr=0.05 * 0.02, index_bits="auto")),
    },
    "lenet5": {
        "quick": CompressionSettings("lenet5", dense_epochs=2, lr=0.02, schedule=Schedule(
            prune=_schedule(LENET5, l0=[0.8, 0.7], l1=[0.5, 0.3], l2=[0.3, 0.1], l3=[0.5, 0.3]), retrain_epochs=1,
            finetune_epochs=1, lr=0.02 * 0.1)),
        "full": CompressionSettings("lenet5", dense_epochs=6, lr=0.02, schedule=Schedule(
            prune=_schedule(LENET5, l0=[0.9, 0.8, 0.7, 0.66, 0.62], l1=[0.6, 0.35, 0.22, 0.17, 0.15],
                            l2=[0.4, 0.2, 0.1, 0.07, 0.055], l3=[0.6, 0.4, 0.28, 0.22, 0.18]),
            retrain_epochs=3, lr=0.02 * 0.2, finetune_epochs=2, index_bits="auto")),
    },
}
"""Retraining rates as fractions of the dense rate, written as products so each is the number used before."""


def preset(network: str, name: str) -> CompressionSettings:
    """A copy of a preset (its schedule too), free to change."""
    if network not in PRESETS:
        raise UserError(f"unknown network {network!r}; choose one of {', '.join(PRESETS)}")
    if name not in PRESETS[network]:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS[network])}")
    return copy.deepcopy(PRESETS[network][name])


def compress(settings: CompressionSettings, data: Dataset, progress: bool = True,
             out: str | Path | None = None) -> CompressionResult:
    """Train the network dense, then ``deep_compress`` it; deterministic for a given seed.

    With ``out`` the outputs of ``write_outputs`` are written there too.
    """
    if tuple(data.train_images.shape[1:]) != (1, 28, 28):
        raise UserError(f"{settings.network} takes 28x28 grey images; {data.name} has {tuple(data.train_images.shape[1:])}")
    schedule = settings.schedule
    torch.manual_seed(schedule.seed)
    model = build_network(settings.network, data.classes, schedule.dropout)
    check_layers(schedule, [name for name, _ in compressible_layers(model)])
    start, cpu_start = time.perf_counter(), time.process_time()
    train(model, data, TrainSettings(settings.dense_epochs, settings.lr, l2=schedule.weight_decay, l1=settings.l1,
                                     seed=schedule.seed), desc="dense training", progress=progress)
    dense_seconds, dense_cpu = time.perf_counter() - start, time.process_time() - cpu_start

    trainer = dataset_trainer(data, schedule.lr, l2=schedule.weight_decay, l1=settings.l1, momentum=schedule.momentum,
                              seed=schedule.seed, progress=progress, finetune_lr=schedule.finetune_lr)
    result = deep_compress(model, trainer, lambda net: accuracy(net, data.test_images, data.test_labels),
                           schedule, name=settings.network, network=settings.network,
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
