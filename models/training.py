"""Training and evaluation loops (SGD with momentum, optional L1/L2), with progress bars."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from accel.arch.progress import progress as progress_bar
from accel.models.datasets import Dataset


@dataclass
class TrainSettings:
    epochs: int = 10
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 128
    l2: float = 1e-4
    l1: float = 0.0
    seed: int = 0


def train(model: nn.Module, data: Dataset, settings: TrainSettings, desc: str = "train", progress: bool = True) -> None:
    """Train in place; parameters with ``requires_grad=False`` stay fixed."""
    generator = torch.Generator().manual_seed(settings.seed)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.l2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, settings.epochs))
    loss_fn = nn.CrossEntropyLoss()
    count = data.train_images.shape[0]
    steps = (count + settings.batch_size - 1) // settings.batch_size
    bar = progress_bar(total=settings.epochs * steps, description=desc, enabled=progress)
    for _ in range(settings.epochs):
        model.train()
        order = torch.randperm(count, generator=generator)
        for start in range(0, count, settings.batch_size):
            batch = order[start: start + settings.batch_size]
            loss = loss_fn(model(data.train_images[batch]), data.train_labels[batch])
            if settings.l1:
                loss = loss + settings.l1 * sum(p.abs().sum() for p in parameters if p.dim() > 1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.update(1)
        schedule.step()
    bar.close()


def dataset_trainer(data: Dataset, lr: float, l2: float = 0.0, l1: float = 0.0, momentum: float = 0.9,
                    batch_size: int = 128, seed: int = 0, progress: bool = True, finetune_lr: float | None = None):
    """A ``accel.models.compression.Trainer`` over ``data``: L1/L2 while retraining, none while fine-tuning centroids
    (at ``finetune_lr``, default ``lr``)."""

    def trainer(model: nn.Module, epochs: int, stage: str) -> None:
        retrain = stage == "retrain"
        rate = lr if retrain or finetune_lr is None else finetune_lr
        train(model, data, TrainSettings(epochs, rate, momentum, batch_size, l2 if retrain else 0.0,
                                         l1 if retrain else 0.0, seed), desc=stage, progress=progress)

    return trainer


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 2000) -> float:
    """Top-1 accuracy in percent."""
    model.eval()
    correct = 0
    for start in range(0, images.shape[0], batch_size):
        correct += int((model(images[start: start + batch_size]).argmax(1) == labels[start: start + batch_size]).sum())
    return 100.0 * correct / images.shape[0]
