"""The compressed model file: pruned, weight-shared, Huffman-coded layers in one ``.npz``.

Format ``deep-compression-model`` version 3 (see models/FORMAT.md): an integrity-checked archive
(``accel.arch.npz``: one SHA-256 over the metadata, member list, dtypes, shapes and every array) with a
strictly typed schema, Huffman streams that must be consumed exactly, bounded sizes, and the model's
dataflow graph (``accel.models.graph``) with the host tensors it uses. Version 2 files (no graph) are read
as a chain of their fully connected layers, marked as assumed; version 1 files are converted, after
their CRC-32 checks pass, by ``python -m accel.models.compressed_file upgrade``, which also rewrites version 2.
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from accel.arch.errors import UserError
from accel.arch.files import parse_json
from accel.arch.npz import DIGEST_KEY, FLOAT_DTYPES, MEMBERS_KEY, Schema, check_array, load_npz, read_members, save_npz
from accel.models import huffman
from accel.models.graph import ModelGraph, chain_graph
from accel.models.networks import build_network, compressible_layers
from accel.models.quantization import codebook_and_codes
from accel.models.recurrent import STACKED, StackedLSTM, gate_shape, write_gates
from accel.models.size_report import LayerSize
from accel.models.sparse_storage import decode_relative, encode_relative
from accel.models.tracing import fused_relus, host_params, trace_model

FORMAT = "deep-compression-model"
VERSION = 3
READ_VERSIONS = (2,)
"""Older versions read as they are (version 2: no graph, a chain of the fully connected layers assumed)."""
STREAMS = ("weight", "index")
KINDS = ("linear", "conv2d")
MODULE_TYPES = {"linear": "Linear", "conv2d": "Conv2d"}
MAX_LAYER_WEIGHTS = 1 << 27
"""Most weights in one layer (134M: VGG-16's fc6 has 103M); decoding needs 8 bytes per weight."""
MAX_MODEL_WEIGHTS = 1 << 28
"""Default budget of weights decoded from one file, all layers together (268M, 2 GiB of decoded codes:
VGG-16 has 138M); ``CompressedModel.load(path, max_weights=...)`` and ``--max-weights`` change it."""
MAX_BITS = 16
MAX_HOST_VALUES = 1 << 27
"""Most values in all host tensors of a graph together (the same bound as one layer's weights)."""
RECURRENT_TYPES = ("LSTM", "LSTMCell")


@dataclass
class CompressedLayer:
    """One layer: codes into a codebook (code 0 is zero when ``reserve_zero``), bias, activation."""

    name: str
    kind: str
    shape: tuple[int, ...]
    bits: int
    index_bits: int
    codebook: np.ndarray
    codes: np.ndarray
    bias: np.ndarray | None
    relu: bool
    module: str | None = None
    """Qualified name of the module the layer belongs to in its source model (default: ``name``)."""
    module_type: str | None = None
    """Class name of that module, e.g. ``Linear`` or ``Conv2d`` (default: from ``kind``)."""

    def __post_init__(self) -> None:
        if self.module is None:
            self.module = self.name
        if self.module_type is None:
            self.module_type = MODULE_TYPES.get(self.kind, self.kind)

    def weight(self) -> np.ndarray:
        return self.codebook[self.codes].reshape(self.shape).astype(np.float32)

    def streams(self) -> tuple[huffman.HuffmanStream, huffman.HuffmanStream, np.ndarray, np.ndarray]:
        entry_codes, relative = encode_relative(self.codes, self.index_bits)
        return (huffman.encode(entry_codes, 1 << self.bits), huffman.encode(relative, 1 << self.index_bits),
                entry_codes, relative)

    def size(self) -> LayerSize:
        weight_stream, index_stream, entry_codes, relative = self.streams()
        kept = int(np.count_nonzero(self.codebook[self.codes]))
        fillers = entry_codes == 0
        return LayerSize(
            name=self.name, weights=int(self.codes.size), kept=kept, entries=int(entry_codes.size),
            fillers=int(fillers.sum()), weight_bits=self.bits,
            index_bits=self.index_bits, codebook_entries=int(self.codebook.size),
            biases=0 if self.bias is None else int(self.bias.size),
            weight_huffman_bits=huffman.encoded_bits(entry_codes, weight_stream.lengths),
            index_huffman_bits=huffman.encoded_bits(relative, index_stream.lengths),
            filler_weight_bits=huffman.encoded_bits(entry_codes[fillers], weight_stream.lengths),
            filler_index_bits=huffman.encoded_bits(relative[fillers], index_stream.lengths),
            huffman_table_bits=8 * int(weight_stream.lengths.size + index_stream.lengths.size))


@dataclass
class CompressedModel:
    network: str | None
    layers: list[CompressedLayer] = field(default_factory=list)
    graph: ModelGraph | None = None
    """The model's dataflow (``accel.models.graph``); None: a chain of the fully connected layers, assumed."""

    def sizes(self) -> list[LayerSize]:
        return [layer.size() for layer in self.layers]

    def model_graph(self) -> ModelGraph:
        """The recorded graph, or the chain of fully connected layers with their ReLU flags (marked assumed)."""
        if self.graph is not None:
            return self.graph
        linear = [layer for layer in self.layers if layer.kind == "linear"]
        return chain_graph([layer.name for layer in linear], ["relu" if layer.relu else "none" for layer in linear],
                           "assumed", [linear[0].shape[1]] if linear else None)

    def load_into(self, model: nn.Module) -> nn.Module:
        """Copy the decoded weights and biases into ``model``, each layer into the module of its qualified name.

        A recurrent layer's stacked gate matrix goes back into the model's ``nn.LSTM`` / ``nn.LSTMCell``
        (``weight_ih``, ``weight_hh``; the bias as ``bias_ih``). Every layer is checked (module present,
        kind, shape, bias) before any weight is written.
        """
        modules = dict(compressible_layers(model))
        owners = dict(model.named_modules())
        recurrent = [layer for layer in self.layers if _writes_recurrent(layer, owners)]
        for layer in self.layers:
            if layer in recurrent:
                _check_recurrent_target(layer, owners[layer.module])
            else:
                _check_target(layer, modules.get(layer.name), modules)
        with torch.no_grad():
            for layer in self.layers:
                weight = torch.from_numpy(layer.weight())
                bias = None if layer.bias is None else torch.from_numpy(layer.bias.astype(np.float32))
                if layer in recurrent:
                    write_gates(owners[layer.module], _gate_index(layer), weight, bias)
                    continue
                module = modules[layer.name]
                if hasattr(module, "weight_mask"):
                    prune.remove(module, "weight")
                module.weight.copy_(weight)
                if bias is not None:
                    module.bias.copy_(bias)
        return model

    def to_module(self) -> nn.Module:
        """A dense torch model with the decoded weights (for the built-in networks)."""
        if self.network is None:
            raise UserError("this file does not name a built-in network; use load_into(your_model)")
        return self.load_into(build_network(self.network))

    # Files ----------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model as a ``deep-compression-model`` version 2 archive."""
        arrays: dict[str, np.ndarray] = {}
        layers_meta = []
        for index, layer in enumerate(self.layers):
            weight_stream, index_stream, entry_codes, _ = layer.streams()
            arrays[f"codebook{index}"] = layer.codebook.astype(np.float32)
            if layer.bias is not None:
                arrays[f"bias{index}"] = layer.bias.astype(np.float32)
            for stream_name, stream in zip(STREAMS, (weight_stream, index_stream)):
                arrays[f"{stream_name}{index}_lengths"] = stream.lengths.astype(np.uint8)
                arrays[f"{stream_name}{index}_data"] = stream.data.astype(np.uint8)
            layers_meta.append({"name": layer.name, "module": layer.module, "module_type": layer.module_type,
                                "kind": layer.kind, "shape": [int(v) for v in layer.shape], "bits": int(layer.bits),
                                "index_bits": int(layer.index_bits), "relu": bool(layer.relu),
                                "entries": int(entry_codes.size), "bias": layer.bias is not None})
        graph = self.model_graph()
        for index, name in enumerate(sorted(graph.params)):
            arrays[f"param{index}"] = graph.params[name].astype(np.float32)
        meta = {"format": FORMAT, "version": VERSION, "network": self.network, "layers": layers_meta,
                "graph": graph.to_json()}
        return save_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | Path, max_weights: int = MAX_MODEL_WEIGHTS) -> "CompressedModel":
        """Read and decode a file; refused before decoding when its layers declare more than ``max_weights`` weights."""
        meta, arrays = load_npz(path, FORMAT, VERSION, older=_older_version, also=READ_VERSIONS)
        where = f"{path}: metadata"
        version = meta["version"]
        keys = ("format", "version", "network", "layers", MEMBERS_KEY, DIGEST_KEY) + (("graph",) if version >= 3 else ())
        schema = Schema(meta, where).only(*keys)
        network = schema.get("network", str, optional=True)
        entries = schema.get("layers", list)
        _check_budget(path, entries, max_weights)
        expected = set()
        layers = []
        for index, entry in enumerate(entries):
            try:
                layer, names = _load_layer(path, arrays, index, Schema(entry, f"{where} layer {index}"))
            except MemoryError:
                raise UserError(f"{path}: not enough memory to decode layer {index} (8 bytes per weight); free memory "
                                "or decode on a larger machine") from None
            layers.append(layer)
            expected |= names
        graph = None
        if version >= 3:
            graph, names = _load_graph(path, schema.get("graph", dict), arrays, layers)
            expected |= names
        if set(arrays) != expected:
            raise UserError(f"{path}: arrays {sorted(set(arrays) ^ expected)} do not belong to the layers listed; re-export it")
        return cls(network=network, layers=layers, graph=graph)


def _check_budget(path: str | Path, entries: list, max_weights: int) -> None:
    """Sum the weights every layer declares (entries without a readable shape are refused later) against the budget."""
    total = 0
    for entry in entries:
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if isinstance(shape, list) and all(type(v) is int and v >= 1 for v in shape):
            total += math.prod(shape)
    if total > max_weights:
        raise UserError(f"{path}: its layers declare {total:,} weights in all, more than the limit of {max_weights:,} "
                        f"(decoding holds 8 bytes per weight); if the model really is this large, raise it: "
                        f"--max-weights {total} (CompressedModel.load(path, max_weights={total}))")


def _check_target(layer: CompressedLayer, module: nn.Module | None, modules: dict[str, nn.Module]) -> None:
    """One line naming what does not match between a file's layer and the module meant to receive it."""
    if module is None:
        raise UserError(f"the model has no Linear/Conv2d module {layer.name!r} for the file's layer; its modules: "
                        f"{list(modules)}; pass the model the file was compressed from")
    kind = "linear" if isinstance(module, nn.Linear) else "conv2d"
    if kind != layer.kind:
        raise UserError(f"module {layer.name!r} is {type(module).__name__} but the file's layer is {layer.kind}")
    if tuple(module.weight.shape) != layer.shape:
        raise UserError(f"module {layer.name!r} has weight shape {tuple(module.weight.shape)} but the file's layer "
                        f"has {layer.shape}; pass the model the file was compressed from")
    if (layer.bias is None) != (module.bias is None):
        raise UserError(f"module {layer.name!r} {'has' if module.bias is not None else 'lacks'} a bias but the "
                        f"file's layer {'lacks' if layer.bias is None else 'has'} one")


def _writes_recurrent(layer: CompressedLayer, owners: dict[str, nn.Module]) -> bool:
    """Whether the layer is an LSTM's gate matrix going back into an ``nn.LSTM`` / ``nn.LSTMCell`` (not its stacked form)."""
    return layer.module_type in RECURRENT_TYPES and not isinstance(owners.get(layer.module), STACKED)


def _gate_index(layer: CompressedLayer) -> int:
    suffix = layer.name.rpartition(".l")[2]
    return int(suffix) if suffix.isdigit() else -1


def _check_recurrent_target(layer: CompressedLayer, module: nn.Module | None) -> None:
    """One line naming what does not match between a file's gate layer and the LSTM meant to receive it."""
    expected = nn.LSTM if layer.module_type == "LSTM" else nn.LSTMCell
    if not isinstance(module, expected):
        raise UserError(f"the model has no {layer.module_type} module {layer.module!r} for the file's gate layer "
                        f"{layer.name!r}; pass the model the file was compressed from")
    index = _gate_index(layer)
    layers = module.num_layers if isinstance(module, nn.LSTM) else 1
    if not 0 <= index < layers or gate_shape(module, index) != layer.shape or (layer.bias is None) == module.bias:
        raise UserError(f"{layer.module_type} {layer.module!r} does not match the file's gate layer {layer.name!r} "
                        f"(shape {layer.shape}, bias {layer.bias is not None}); pass the model the file was compressed from")


def _load_graph(path: str | Path, data: dict, arrays: dict[str, np.ndarray], layers: list[CompressedLayer]
                ) -> tuple[ModelGraph, set[str]]:
    """The file's graph with its host tensors, checked against the layers; also the array names it owns."""
    where = f"{path}: metadata"
    names = data.get("params")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise UserError(f"{where}: graph params must be a list of names")
    owned = {f"param{index}": name for index, name in enumerate(sorted(names))}
    missing = sorted(set(owned) - set(arrays))
    if missing:
        raise UserError(f"{where}: graph arrays {missing} are missing")
    params = {name: check_array(where, key, arrays[key], FLOAT_DTYPES, None) for key, name in owned.items()}
    if sum(array.size for array in params.values()) > MAX_HOST_VALUES:
        raise UserError(f"{where}: the graph's host tensors hold more than {MAX_HOST_VALUES} values")
    kinds = {layer.name: layer.kind for layer in layers}
    graph = ModelGraph.from_json(data, params, kinds, where)
    relus = {layer.name: layer.relu for layer in layers}
    for node in graph.nodes:
        if node.op == "linear" and node.kwargs.get("relu", False) != relus[node.target]:
            raise UserError(f"{where}: graph node {node.name!r} and layer {node.target!r} disagree on its ReLU")
    return graph, set(owned)


def _older_version(version: int) -> str:
    return (f"deep-compression-model version {version} has no integrity check over its metadata; convert it with "
            "`python -m accel.models.compressed_file upgrade FILE` (it checks the file's CRC-32s and schema first) or re-export it")


def _load_layer(path: str | Path, arrays: dict[str, np.ndarray], index: int, entry: Schema
                ) -> tuple[CompressedLayer, set[str]]:
    """One layer from its metadata entry and arrays, every field typed and bounded; also the array names it owns."""
    entry.only("name", "module", "module_type", "kind", "shape", "bits", "index_bits", "relu", "entries", "bias")
    name = entry.get("name", str)
    where = f"{path}: layer {name!r}"
    kind = entry.get("kind", str)
    if kind not in KINDS:
        raise UserError(f"{where}: kind must be one of {', '.join(KINDS)}, found {kind!r}")
    shape = entry.shape("shape", (2,) if kind == "linear" else (4,))
    weights = int(np.prod(shape, dtype=object))
    if weights > MAX_LAYER_WEIGHTS:
        raise UserError(f"{where}: shape {shape} has {weights} weights, more than the limit of {MAX_LAYER_WEIGHTS}")
    bits, index_bits = entry.integer("bits", 1, MAX_BITS), entry.integer("index_bits", 1, MAX_BITS)
    count = entry.integer("entries", 0, weights)
    names = {f"codebook{index}"} | {f"{stream}{index}_{part}" for stream in STREAMS for part in ("lengths", "data")}
    if entry.get("bias", bool):
        names.add(f"bias{index}")
    missing = sorted(names - set(arrays))
    if missing:
        raise UserError(f"{where}: arrays {missing} are missing")
    codebook = check_array(where, f"codebook{index}", arrays[f"codebook{index}"], FLOAT_DTYPES, (1 << bits,))
    bias = arrays.get(f"bias{index}") if f"bias{index}" in names else None
    if bias is not None:
        bias = check_array(where, f"bias{index}", bias, FLOAT_DTYPES, (shape[0],))
    streams = []
    for stream_name, alphabet in zip(STREAMS, (1 << bits, 1 << index_bits)):
        lengths = check_array(where, f"{stream_name}{index}_lengths", arrays[f"{stream_name}{index}_lengths"],
                              ("|u1",), (alphabet,))
        data = check_array(where, f"{stream_name}{index}_data", arrays[f"{stream_name}{index}_data"], ("|u1",), None, ndim=1)
        streams.append(huffman.HuffmanStream(lengths.astype(np.int64), data, count))
    try:
        entry_codes, relative = (huffman.decode(stream) for stream in streams)
        codes = decode_relative(entry_codes, relative, weights).reshape(shape)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    layer = CompressedLayer(name=name, kind=kind, shape=shape, bits=bits, index_bits=index_bits,
                            codebook=codebook.astype(np.float64), codes=codes,
                            bias=None if bias is None else bias.astype(np.float64), relu=entry.get("relu", bool),
                            module=entry.get("module", str), module_type=entry.get("module_type", str))
    return layer, names


# Version 1 ----------------------------------------------------------------------------------------

def upgrade(source: str | Path, target: str | Path) -> Path:
    """Rewrite a version 1 or 2 file as version 3 (its graph: the chain of its fully connected layers, assumed).

    A version 1 file is converted once its CRC-32s and a strict reading of its metadata agree.
    """
    arrays = read_members(source)
    try:
        meta = parse_json(arrays.pop("meta").tobytes().decode("utf-8"))
    except (KeyError, UnicodeDecodeError, ValueError, RecursionError):
        raise UserError(f"{source}: its metadata is missing or corrupted; re-export the model") from None
    if isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("version") in (*READ_VERSIONS, VERSION):
        return CompressedModel.load(source).save(target)
    schema = Schema(meta, f"{source}: metadata").only("format", "version", "network", "layers")
    if schema.get("format", str) != FORMAT or schema.get("version", int) != 1:
        raise UserError(f"{source} is not a {FORMAT} file of version 1 to {VERSION}")
    renamed = {}
    layers = []
    for index, entry in enumerate(schema.get("layers", list)):
        entry = Schema(entry, f"{source}: metadata layer {index}")
        crcs = Schema(entry.get("crc32", dict), f"{source}: layer {index} crc32").data
        owned = {f"codebook{index}", f"bias{index}"} | {f"{s}{index}_{p}" for s in STREAMS for p in ("lengths", "data")}
        required = owned - {f"bias{index}"}
        present = {key for key in owned if key in arrays}
        if set(crcs) != present or not required <= present:
            raise UserError(f"{source}: layer {index} lists CRC-32s for {sorted(crcs)} but holds {sorted(present)}; re-export it")
        for key, crc in crcs.items():
            if type(crc) is not int or zlib.crc32(arrays[key].tobytes()) != crc:
                raise UserError(f"{source}: array {key} fails its CRC-32; re-export the model")
        renamed.update({key: arrays[key] for key in present})
        fields = {key: entry.data[key] for key in ("name", "kind", "shape", "bits", "index_bits", "relu", "entries")
                  if key in entry.data}
        layers.append({**fields, "module": entry.get("name", str),
                       "module_type": MODULE_TYPES.get(entry.get("kind", str), "?"), "bias": f"bias{index}" in present})
    if set(arrays) != set(renamed):
        raise UserError(f"{source}: arrays {sorted(set(arrays) - set(renamed))} belong to no layer; re-export it")
    arrays = {key: value.astype(np.float32) if key.startswith(("codebook", "bias")) else value for key, value in renamed.items()}
    meta = {"format": FORMAT, "version": 2, "network": meta.get("network"), "layers": layers}
    staged = save_npz(Path(target).with_name(f".{Path(target).name}.check.npz"), meta, arrays)
    try:
        model = CompressedModel.load(staged)
    finally:
        staged.unlink(missing_ok=True)
    return model.save(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accel.models.compressed_file",
                                     description=f"Convert a version 1 or 2 compressed model file to version {VERSION}.")
    parser.add_argument("command", choices=("upgrade",))
    parser.add_argument("source", type=Path, help="version 1 or 2 file")
    parser.add_argument("target", type=Path, nargs="?", help="output file (default: overwrite SOURCE)")
    args = parser.parse_args(argv)
    try:
        print(upgrade(args.source, args.target or args.source))
    except UserError as error:
        print(f"upgrade: error: {error}", file=sys.stderr)
        return 2
    return 0


def compress_module(model: nn.Module, network: str | None, index_bits: int = 5, graph: ModelGraph | None = None
                    ) -> CompressedModel:
    """Collect the quantized layers of ``model`` (after quantize_model) into a CompressedModel.

    ``graph`` (default: traced from ``model``) gives each fully connected layer's fused ReLU; its host
    tensors are taken from ``model`` as they are now.
    """
    graph = trace_model(model) if graph is None else graph
    graph = ModelGraph(graph.nodes, host_params(graph, model), graph.input_shape, graph.origin)
    relus = fused_relus(graph)
    owners = {f"{name}.{child}": (name, "LSTM" if isinstance(module, StackedLSTM) else "LSTMCell")
              for name, module in model.named_modules() if isinstance(module, STACKED)
              for child, _ in module.named_children()}
    layers = []
    for name, module in compressible_layers(model):
        codebook, codes = codebook_and_codes(module)
        bits = int(codebook.numel()).bit_length() - 1
        bias = None if module.bias is None else module.bias.detach().double().numpy()
        owner, owner_type = owners.get(name, (name, parametrize.type_before_parametrizations(module).__name__))
        layers.append(CompressedLayer(name=name, kind="linear" if isinstance(module, nn.Linear) else "conv2d",
                                      shape=tuple(codes.shape), bits=bits, index_bits=index_bits,
                                      codebook=codebook.double().numpy(), codes=codes.numpy().astype(np.int64),
                                      bias=bias, relu=relus.get(name, False), module=owner, module_type=owner_type))
    return CompressedModel(network, layers, graph)


if __name__ == "__main__":
    sys.exit(main())
