"""A user's model from the command line: an importable factory ``package.module:function`` and a state_dict."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import prune

from accel.arch.errors import UserError
from accel.arch.files import read_json
from accel.models.compression import Schedule
from accel.models.export import load_state_dict
from accel.models.tensor_kinds import check_weights


def build_from_factory(spec: str) -> nn.Module:
    """Call ``function`` of ``package.module`` and check it gives a module.

    The current folder is searched last, after the installed packages: a file there cannot stand in
    for a module of Python or of an installed package. The factory's code runs in this process.
    """
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise UserError(f"--model {spec!r} must read package.module:function, e.g. mynets:mlp")
    here = str(Path.cwd())
    if "" not in sys.path and here not in sys.path:
        sys.path.append(here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(f"--model: cannot import {module_name!r} ({error}); run from the folder that holds it "
                        "or install its package") from None
    factory = getattr(module, function_name, None)
    if not callable(factory):
        raise UserError(f"--model: {module_name} has no function {function_name!r}")
    model = factory()
    if not isinstance(model, nn.Module):
        raise UserError(f"--model: {spec}() returned {type(model).__name__!r}, not a torch.nn.Module")
    return model


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state_dict (read without pickle); one saved from a model pruned by torch.nn.utils.prune is accepted.

    Every entry is checked before anything is copied: a plain tensor (``accel.models.tensor_kinds``) of the
    model's kind of values (finite real floating point for floating-point parameters and buffers).
    """
    state = load_state_dict(path)
    modules = dict(model.named_modules())
    for key in state:
        if key.endswith("_mask"):
            owner, _, name = key[:-5].rpartition(".")
            module = modules.get(owner)
            if module is not None and isinstance(getattr(module, name, None), nn.Parameter):
                prune.identity(module, name)
    targets = model.state_dict()
    for key, tensor in state.items():
        target = targets.get(key)
        if target is not None and target.is_floating_point():
            check_weights(path, key, tensor)
        elif target is not None and _value_kind(tensor) != _value_kind(target):
            raise UserError(f"{path}: entry {key!r} has dtype {tensor.dtype} where the model holds {target.dtype}; "
                            "pass the weights of this --model")
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:
        details = "; ".join(line.strip() for line in str(error).splitlines()[1:3])
        raise UserError(f"{path} does not fit the model ({details}); pass the weights of this --model") from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing {result.missing_keys[:5]}")
    if result.unexpected_keys:
        problems.append(f"unexpected {result.unexpected_keys[:5]}")
    if problems:
        raise UserError(f"{path} does not fit the model ({'; '.join(problems)}); pass the weights of this --model")
    return model


def _value_kind(tensor: torch.Tensor) -> str:
    if tensor.dtype == torch.bool:
        return "boolean"
    return "floating-point" if tensor.is_floating_point() or tensor.is_complex() else "integer"


def load_schedule(path: str | Path) -> Schedule:
    """A schedule from a JSON file (see ``Schedule``), read strictly: no NaN, infinity or duplicate keys."""
    values = read_json(path, "--schedule", "write a JSON object with the fields of Schedule (see accel compress --help)")
    return Schedule.from_dict(values, source=str(path))


def compress_model(factory: str, weights: str | Path, data_dir: str | Path, schedule: Schedule, batch_size: int = 64,
                   sensitivity: bool = False, progress: bool = True):
    """Deep Compression of a user's model: ``factory`` ("module:function") built, ``weights`` (its trained
    state_dict) loaded, then pruned, quantized and Huffman coded by ``schedule``, retrained on the data set in
    ``data_dir`` and scored on its test images. Returns the ``CompressionResult``."""
    from accel.models.compression import SENSITIVITY_FRACTIONS, deep_compress
    from accel.models.datasets import load_dataset
    from accel.models.training import accuracy, dataset_trainer

    model = load_weights(build_from_factory(factory), weights)
    data = load_dataset(data_dir)

    def evaluate(net: nn.Module) -> float:
        try:
            return accuracy(net, data.test_images, data.test_labels)
        except RuntimeError as error:
            raise UserError(f"{factory} cannot take the data's images of shape "
                            f"{tuple(data.test_images.shape[1:])} ({str(error).splitlines()[0]})") from None

    trainer = dataset_trainer(data, schedule.lr, l2=schedule.weight_decay, momentum=schedule.momentum,
                              batch_size=batch_size, seed=schedule.seed, progress=progress,
                              finetune_lr=schedule.finetune_lr)
    result = deep_compress(model, trainer, evaluate, schedule, name=factory.partition(":")[2],
                           sensitivity_fractions=SENSITIVITY_FRACTIONS if sensitivity else (),
                           progress=progress, inplace=True, example=data.test_images[:2])
    result.data_name = data.name
    result.settings = {"model": factory, "weights": str(weights), "data": str(data_dir), "batch_size": batch_size,
                       **result.settings}
    return result
