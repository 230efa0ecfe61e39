"""Mutations of input files: byte level (any file) and structure aware (npz archives, JSON, IDX, npy)."""

from __future__ import annotations

import io
import json
import random
import struct
import tempfile
import zipfile
from typing import Any

import numpy as np

from accel.arch.npz import DIGEST_KEY, MEMBERS_KEY, read_members, save_npz

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x20, ord("0"), ord("9"), ord("-"), ord("{"), ord('"')]
INTERESTING_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 10**12, -(2**31), 255, 256, 65535]
_SCRATCH: list[str] = []


def scratch() -> str:
    """A private temporary folder for round-trip checks (created once per process)."""
    if not _SCRATCH:
        _SCRATCH.append(tempfile.mkdtemp(prefix="fuzz-scratch-"))
    return _SCRATCH[0]


# Byte level -------------------------------------------------------------------------------------

def flip_bit(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return b"\0"
    out = bytearray(data)
    position = rng.randrange(len(out))
    out[position] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.choice(INTERESTING)])
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        out[rng.randrange(len(out))] = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
    return bytes(out)


def set_word(rng: random.Random, data: bytes) -> bytes:
    """Overwrite 2, 4 or 8 bytes with an interesting integer (sizes, offsets, counts)."""
    if len(data) < 8:
        return data + b"\0"
    width = rng.choice([2, 4, 8])
    value = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
    position = rng.randrange(len(data) - width + 1)
    packed = value.to_bytes(width, rng.choice(["little", "big"]))
    return data[:position] + packed + data[position + width:]


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)] if data else data


def delete_range(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randrange(1, 64):]


def insert_bytes(rng: random.Random, data: bytes) -> bytes:
    position = rng.randrange(len(data) + 1)
    chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
    return data[:position] + chunk + data[position:]


def duplicate_range(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    chunk = data[start:start + rng.randrange(1, 256)]
    position = rng.randrange(len(data) + 1)
    return data[:position] + chunk + data[position:]


def empty(rng: random.Random, data: bytes) -> bytes:
    return b"" if rng.random() < 0.5 else data[:1]


BYTE_MUTATORS = [flip_bit, flip_bit, set_byte, set_byte, set_word, truncate, delete_range, insert_bytes,
                 duplicate_range, empty]


# npz archives -----------------------------------------------------------------------------------

def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _meta(members: dict[str, bytes]) -> dict:
    return json.loads(np.lib.format.read_array(io.BytesIO(members["meta.npy"])).tobytes())


def _with_meta(members: dict[str, bytes], meta: Any) -> dict[str, bytes]:
    return {**members, "meta.npy": _npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))}


def npz_member_bytes(rng: random.Random, data: bytes) -> bytes:
    """Mutate the (uncompressed) bytes of one member, then re-zip with valid zip CRCs."""
    members = _members(data)
    name = rng.choice(list(members))
    members[name] = rng.choice(BYTE_MUTATORS)(rng, members[name])
    return _zip(members)


def _odd_value(rng: random.Random, value: Any) -> Any:
    """A value of another type or an extreme value for a JSON field."""
    choices: list[Any] = ["false", "true", "1", None, [], {}, 1.5, -1, 0, 2**40, 10**30, True, False, "",
                          [value], {"x": value}, "nan", 1e308]
    if isinstance(value, bool):
        choices += [not value, int(value)]
    elif isinstance(value, int):
        choices += [value + 1, value - 1, float(value), str(value), -value, value * 1000]
    elif isinstance(value, str):
        choices += [value + "x", value.upper(), 0]
    elif isinstance(value, list):
        choices += [value[:-1], value + [1], value[::-1], [v * 2 if isinstance(v, int) else v for v in value]]
    return rng.choice(choices)


def _edit_json(rng: random.Random, document: Any) -> Any:
    """Change, remove or add one field somewhere in a JSON document."""
    containers = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            containers.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            containers.append(node)
            for child in node:
                walk(child)

    walk(document)
    node = rng.choice(containers)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        action = rng.randrange(6)
        if action == 0:
            del node[key]
        elif action == 1:
            node[key + rng.choice(["_", "x", ""]) if rng.random() < 0.5 else "unknown"] = _odd_value(rng, node[key])
        else:
            node[key] = _odd_value(rng, node[key])
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        action = rng.randrange(4)
        if action == 0:
            del node[index]
        elif action == 1:
            node.append(node[index])
        else:
            node[index] = _odd_value(rng, node[index])
    return document


def npz_meta_field(rng: random.Random, data: bytes) -> bytes:
    """Edit one metadata field without updating the digest."""
    members = _members(data)
    return _zip(_with_meta(members, _edit_json(rng, _meta(members))))


def npz_dtype(rng: random.Random, data: bytes) -> bytes:
    """Reinterpret one array as another dtype (same bytes), optionally also in the member list."""
    members = _members(data)
    name = rng.choice([n for n in members if n != "meta.npy"])
    array = np.lib.format.read_array(io.BytesIO(members[name]))
    raw = array.tobytes()
    dtype = np.dtype(rng.choice(["<i4", "<f4", "<f8", "|u1", "|b1", "<c8", "<u2", "<i8", "<M8[s]", "<U1"]))
    usable = len(raw) - len(raw) % dtype.itemsize
    members[name] = _npy(np.frombuffer(raw[:usable], dtype=dtype))
    if "meta.npy" in members and rng.random() < 0.5:
        meta = _meta(members)
        entry = meta.get(MEMBERS_KEY, {}).get(name[:-4])
        if isinstance(entry, dict):
            entry["dtype"], entry["shape"] = dtype.str, [usable // dtype.itemsize]
        members = _with_meta(members, meta)
    return _zip(members)


def npz_drop_member(rng: random.Random, data: bytes) -> bytes:
    members = _members(data)
    del members[rng.choice(list(members))]
    return _zip(members)


def npz_recompress(rng: random.Random, data: bytes) -> bytes:
    """The same members stored or deflated, in another order: must load identically."""
    members = _members(data)
    items = list(members.items())
    rng.shuffle(items)
    return _zip(dict(items), rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))


def npz_zip_directory(rng: random.Random, data: bytes) -> bytes:
    """Damage one field of the zip central directory (entry count, sizes, offsets, names)."""
    end = data.rfind(b"PK\x05\x06")
    directory = data.rfind(b"PK\x01\x02", 0, end if end >= 0 else len(data))
    if directory < 0:
        return flip_bit(rng, data)
    starts = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)]
    start = rng.choice(starts) if starts else directory
    field = rng.choice([10, 16, 20, 24, 28, 42, 46])  # method, crc, sizes, name length, offset, name
    width = 2 if field in (10, 28) else 4
    value = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
    packed = struct.pack("<H" if width == 2 else "<I", value)
    return data[:start + field] + packed + data[start + field + width:]


def npz_resealed(rng: random.Random, data: bytes) -> bytes:
    """Edit the metadata or one array, then write a fresh member list and digest (as a forger would)."""
    buffer_path = f"{scratch()}/reseal-in.npz"
    with open(buffer_path, "wb") as file:
        file.write(data)
    arrays = read_members(buffer_path)
    meta = json.loads(arrays.pop("meta").tobytes())
    meta.pop(MEMBERS_KEY, None)
    meta.pop(DIGEST_KEY, None)
    if rng.random() < 0.6:
        meta = _edit_json(rng, meta)
    else:
        name = rng.choice(list(arrays))
        array = arrays[name]
        action = rng.randrange(4)
        if action == 0 and array.size:
            flat = array.reshape(-1).copy()
            flat[rng.randrange(flat.size)] = rng.choice([0, 1, 255, 7]) if flat.dtype.kind in "iu" else \
                rng.choice([0.0, -0.0, 1e30, float("nan"), float("inf"), 0.5])
            arrays[name] = flat.reshape(array.shape)
        elif action == 1:
            arrays[name] = array.reshape(-1)[: max(0, array.size - 1)]
        elif action == 2:
            arrays[name] = array.astype(rng.choice(["<f8", "<f4", "<i4", "|u1", "<u2", "|b1"]))
        else:
            del arrays[name]
    path = save_npz(f"{scratch()}/reseal-out.npz", meta, arrays)
    with open(path, "rb") as file:
        return file.read()


# JSON, IDX and npy -----------------------------------------------------------------------------

def json_structure(rng: random.Random, data: bytes) -> bytes:
    """Typed edits of a JSON document, or a document of another shape (deep, huge, non-UTF-8, NaN)."""
    choice = rng.randrange(10)
    if choice == 0:
        depth = rng.choice([10, 1000, 100000])
        return b"[" * depth + b"]" * depth
    if choice == 1:
        return rng.choice([b"\xff\xfe{}", "{\"n_pes\": 4}".encode("utf-16"), b"{\"n_pes\": NaN}", b"{\"clock_mhz\": -Infinity}",
                           b"{\"n_pes\": 4, \"n_pes\": 8}", b"null", b"[]", b"\"text\"", b"1e999", b"{\"n_pes\": 1e400}"])
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return flip_bit(rng, data)
    if not isinstance(document, (dict, list)):
        return data
    return json.dumps(_edit_json(rng, document)).encode()


def idx_header(rng: random.Random, data: bytes) -> bytes:
    """Change the IDX type code, dimension count or one declared dimension."""
    if len(data) < 8:
        return data + b"\0\0\x08\x01"
    out = bytearray(data)
    dims = out[3]
    choice = rng.randrange(5)
    if choice == 4:  # four dimensions of 2**16: the declared size is 2**64 bytes, 0 when counted in 64 bits
        return bytes(out[:3]) + bytes([4]) + (1 << 16).to_bytes(4, "big") * 4 + bytes(out[4 + 4 * dims:])[:rng.choice([0, 8])]
    if choice == 0:
        out[2] = rng.choice([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF])
    elif choice == 1:
        out[3] = rng.choice([0, 1, 2, 3, 4, 255])
    else:
        index = rng.randrange(max(1, dims))
        value = rng.choice(INTERESTING_INTS + [0, 1, 2, 3, 5, 6, 28]) % (1 << 32)
        out[4 + 4 * index: 8 + 4 * index] = value.to_bytes(4, "big")
    return bytes(out)


def npy_header(rng: random.Random, data: bytes) -> bytes:
    """Rewrite the npy header with another shape, dtype or order, keeping the data bytes."""
    try:
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 - an earlier mutation broke the header: mutate bytes instead
        return flip_bit(rng, data)
    raw = array.tobytes()
    descr = rng.choice(["<f8", "<f4", "<i8", "|b1", "<c16", "<U2", "|O", "<M8[s]", ">f8", "<f2", "|V8"])
    shape = rng.choice([(len(raw) // 8,), (3, 8), (10**12,), (0,), (), (-1,), (2**62, 2**62), (1, 24, 1)])
    fortran = rng.random() < 0.2
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    text = repr(header) if rng.random() < 0.9 else rng.choice(["{'descr': '<f8'", "{}", "[1,2]", "{'descr': 1}"])
    padded = text + " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(padded)) + padded.encode("latin1") + raw
