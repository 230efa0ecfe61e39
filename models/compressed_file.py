"""The compressed model file: pruned, weight-shared, Huffman-coded layers in one ``.npz``.

Format ``deep-compression-model`` version 1 (see models/FORMAT.md) is read with
``allow_pickle=False`` and validated: structure, CRC-32 of every stream, code ranges and shapes.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from accel.arch.errors import UserError
from accel.arch.files import write_atomic
from accel.arch.layer import load_npz, read_meta
from models import huffman
from models.networks import build_network, compressible_layers, relu_follows
from models.quantization import codebook_and_codes
from models.size_report import LayerSize
from models.sparse_storage import decode_relative, encode_relative

FORMAT = "deep-compression-model"
VERSION = 1
STREAMS = ("weight", "index")
KINDS = ("linear", "conv2d")


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

    def sizes(self) -> list[LayerSize]:
        return [layer.size() for layer in self.layers]

    def load_into(self, model: nn.Module) -> nn.Module:
        """Copy the decoded weights and biases into ``model``, each layer into the module of its qualified name.

        Every layer is checked (module present, kind, shape, bias) before any weight is written.
        """
        modules = dict(compressible_layers(model))
        for layer in self.layers:
            _check_target(layer, modules.get(layer.name), modules)
        with torch.no_grad():
            for layer in self.layers:
                module = modules[layer.name]
                if hasattr(module, "weight_mask"):
                    prune.remove(module, "weight")
                module.weight.copy_(torch.from_numpy(layer.weight()))
                if layer.bias is not None:
                    module.bias.copy_(torch.from_numpy(layer.bias.astype(np.float32)))
        return model

    def to_module(self) -> nn.Module:
        """A dense torch model with the decoded weights (for the built-in networks)."""
        if self.network is None:
            raise UserError("this file does not name a built-in network; use load_into(your_model)")
        return self.load_into(build_network(self.network))

    # Files ----------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        arrays: dict[str, np.ndarray] = {}
        layers_meta = []
        for index, layer in enumerate(self.layers):
            weight_stream, index_stream, entry_codes, _ = layer.streams()
            own = {f"codebook{index}": layer.codebook.astype(np.float32)}
            if layer.bias is not None:
                own[f"bias{index}"] = layer.bias.astype(np.float32)
            for stream_name, stream in zip(STREAMS, (weight_stream, index_stream)):
                own[f"{stream_name}{index}_lengths"] = stream.lengths.astype(np.uint8)
                own[f"{stream_name}{index}_data"] = stream.data
            arrays.update(own)
            layers_meta.append({"name": layer.name, "kind": layer.kind, "shape": list(layer.shape), "bits": layer.bits,
                                "index_bits": layer.index_bits, "relu": layer.relu, "entries": int(entry_codes.size),
                                "crc32": {key: zlib.crc32(value.tobytes()) for key, value in own.items()}})
        meta = {"format": FORMAT, "version": VERSION, "network": self.network, "layers": layers_meta}

        def write(file: io.BufferedIOBase) -> None:
            np.savez_compressed(file, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)

        return write_atomic(path, write)

    @classmethod
    def load(cls, path: str | Path) -> "CompressedModel":
        arrays = load_npz(path, required=("meta",))
        meta = read_meta(arrays["meta"], path, FORMAT, VERSION)
        try:
            return cls(network=meta.get("network"),
                       layers=[_load_layer(arrays, index, entry) for index, entry in enumerate(meta["layers"])])
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(f"{path}: malformed compressed model ({error!s}); re-export it") from None
        except UserError as error:
            raise UserError(f"{path}: {error}") from None


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


def _load_layer(arrays: dict[str, np.ndarray], index: int, entry: dict) -> CompressedLayer:
    for key, crc in entry["crc32"].items():
        if key not in arrays:
            raise UserError(f"layer {entry['name']!r}: array {key} is missing")
        if zlib.crc32(arrays[key].tobytes()) != crc:
            raise UserError(f"layer {entry['name']!r}: array {key} is corrupted (CRC-32 mismatch)")
    name = entry["name"]
    shape = tuple(int(v) for v in entry["shape"])
    bits, index_bits = int(entry["bits"]), int(entry["index_bits"])
    if entry["kind"] not in KINDS or len(shape) != (2 if entry["kind"] == "linear" else 4) or min(shape) < 1:
        raise UserError(f"layer {name!r}: a {entry['kind']} layer cannot have shape {shape}")
    if not 1 <= bits <= 16 or not 1 <= index_bits <= 16:
        raise UserError(f"layer {name!r}: {bits} weight bits and {index_bits} index bits are out of range 1..16")
    codebook = arrays[f"codebook{index}"].astype(np.float64)
    if codebook.shape != (1 << bits,) or not np.all(np.isfinite(codebook)):
        raise UserError(f"layer {name!r}: codebook must hold {1 << bits} finite values, has shape {codebook.shape}")
    bias = arrays.get(f"bias{index}")
    if bias is not None and (bias.shape != (shape[0],) or not np.all(np.isfinite(bias))):
        raise UserError(f"layer {name!r}: bias must hold {shape[0]} finite values, has shape {bias.shape}")
    entries = int(entry["entries"])
    if not 0 <= entries <= int(np.prod(shape)):
        raise UserError(f"layer {name!r}: {entries} stored entries cannot fit a layer of shape {shape}")
    streams = []
    for stream_name, alphabet in zip(STREAMS, (1 << bits, 1 << index_bits)):
        lengths = arrays[f"{stream_name}{index}_lengths"].astype(np.int64)
        if lengths.shape != (alphabet,):
            raise UserError(f"layer {name!r}: {stream_name} code lengths must have {alphabet} entries, has {lengths.shape}")
        streams.append(huffman.HuffmanStream(lengths, arrays[f"{stream_name}{index}_data"], entries))
    entry_codes, relative = (huffman.decode(stream) for stream in streams)
    codes = decode_relative(entry_codes, relative, int(np.prod(shape))).reshape(shape)
    return CompressedLayer(name=name, kind=entry["kind"], shape=shape, bits=bits, index_bits=index_bits,
                           codebook=codebook, codes=codes, bias=None if bias is None else bias.astype(np.float64),
                           relu=bool(entry["relu"]))


def compress_module(model: nn.Module, network: str | None, index_bits: int = 5) -> CompressedModel:
    """Collect the quantized layers of ``model`` (after quantize_model) into a CompressedModel."""
    relus = relu_follows(model)
    layers = []
    for name, module in compressible_layers(model):
        codebook, codes = codebook_and_codes(module)
        bits = int(codebook.numel()).bit_length() - 1
        bias = None if module.bias is None else module.bias.detach().double().numpy()
        layers.append(CompressedLayer(name=name, kind="linear" if isinstance(module, nn.Linear) else "conv2d",
                                      shape=tuple(codes.shape), bits=bits, index_bits=index_bits,
                                      codebook=codebook.double().numpy(), codes=codes.numpy().astype(np.int64),
                                      bias=bias, relu=relus.get(name, False)))
    return CompressedModel(network, layers)
