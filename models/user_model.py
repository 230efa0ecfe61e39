"""A user's model from the command line: an importable factory ``package.module:function`` and a state_dict."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import prune

from accel.arch.errors import UserError
from models.compression import Schedule


def build_from_factory(spec: str) -> nn.Module:
    """Call ``function`` of ``package.module`` (the current folder is importable) and check it gives a module."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise UserError(f"--model {spec!r} must read package.module:function, e.g. mynets:mlp")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
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
    """Load a state_dict (read without pickle); one saved from a model pruned by torch.nn.utils.prune is accepted."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"--weights {path} does not exist") from None
    except Exception as error:  # torch.load raises many kinds on a file it cannot read
        raise UserError(f"{path} is not a torch state_dict readable without pickle ({type(error).__name__}); "
                        "save one with torch.save(model.state_dict(), path)") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state_dict; save model.state_dict()")
    modules = dict(model.named_modules())
    for key in state:
        if key.endswith("_mask"):
            owner, _, name = key[:-5].rpartition(".")
            module = modules.get(owner)
            if module is not None and isinstance(getattr(module, name, None), nn.Parameter):
                prune.identity(module, name)
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


def load_schedule(path: str | Path) -> Schedule:
    """A schedule from a JSON file (see ``Schedule``)."""
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"--schedule {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"--schedule {path} is not readable JSON ({error})") from None
    return Schedule.from_dict(values, source=str(path))
