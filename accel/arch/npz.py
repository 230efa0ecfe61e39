"""Integrity-checked ``.npz`` archives: JSON metadata, a declared member list and one SHA-256 over all of it.

Reading never unpickles and never trusts a declared size: the file size, each member's size and
each array's shape are bounded (``MAX_FILE_BYTES``, ``MAX_EXPANSION``) before anything is
allocated, the members must be exactly those the metadata lists with the dtypes and shapes it
lists, and the digest covers the canonical metadata and every array. The rules are written down
in models/FORMAT.md, section "Container".
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from accel.arch.errors import UserError
from accel.arch.files import parse_json, write_atomic

MAX_FILE_BYTES = 1 << 31
"""Largest archive read (2 GiB)."""
MAX_META_BYTES = 1 << 24
"""Largest metadata JSON (16 MiB)."""
MAX_EXPANSION = 1100
"""A member may declare at most this many times its compressed size (deflate reaches about 1032)."""
FLOAT_DTYPES = ("<f4", "<f8")
DIGEST_KEY = "sha256"
MEMBERS_KEY = "arrays"


def digest(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the canonical metadata (without the digest) and every array's name, dtype, shape and bytes."""
    hasher = hashlib.sha256()
    body = {key: value for key, value in meta.items() if key != DIGEST_KEY}
    hasher.update(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        header = json.dumps([name, array.dtype.str, list(array.shape), array.nbytes]).encode()
        hasher.update(len(header).to_bytes(8, "little") + header)
        hasher.update(array.tobytes())
    return hasher.hexdigest()


def save_npz(path: str | Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and ``meta`` (plus the member list and digest) atomically as a compressed ``.npz``."""
    arrays = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    meta = {**meta, MEMBERS_KEY: {name: {"dtype": array.dtype.str, "shape": list(array.shape)}
                                  for name, array in arrays.items()}}
    meta[DIGEST_KEY] = digest(meta, arrays)
    raw = np.frombuffer(json.dumps(meta, allow_nan=False).encode(), dtype=np.uint8)

    def write(file: io.BufferedIOBase) -> None:
        np.savez_compressed(file, meta=raw, **arrays)

    return write_atomic(path, write)


def read_members(path: str | Path, only: str | None = None) -> dict[str, np.ndarray]:
    """Every array (or the one named ``only``) of an ``.npz`` file, each size checked before it is read (no pickle)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file; check the path")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(f"{path} is {size} bytes, more than the {MAX_FILE_BYTES} bytes this tool reads")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if only is not None:
                infos = [info for info in infos if info.filename == f"{only}.npy"]
            names = [_member_name(path, info) for info in infos]
            if len(set(names)) != len(names):
                raise UserError(f"{path}: the archive lists an array twice; the file is corrupted")
            return {name: _read_array(path, archive, info) for name, info in zip(names, infos)}
    except UserError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError, RuntimeError,
            KeyError, OverflowError, UnicodeDecodeError, MemoryError) as error:
        raise UserError(f"{path} is not a readable .npz file (truncated or corrupted?): {type(error).__name__}") from None


def _member_name(path: Path, info: zipfile.ZipInfo) -> str:
    if not info.filename.endswith(".npy") or info.is_dir():
        raise UserError(f"{path}: member {info.filename!r} is not an array (.npy); the archive is corrupted")
    return info.filename[:-4]


def _read_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    limit = min(MAX_FILE_BYTES, MAX_EXPANSION * max(info.compress_size, 1) + 4096)
    if info.file_size > limit:
        raise UserError(f"{path}: member {info.filename!r} declares {info.file_size} bytes, more than its compressed "
                        f"size allows; the archive is corrupted")
    with archive.open(info) as file:
        return read_npy_stream(file, info.file_size, f"{path}: member {info.filename!r}")


def read_npy_stream(file: IO[bytes], size: int, where: str) -> np.ndarray:
    """A numeric ``.npy`` array from ``file`` of ``size`` bytes; its declared shape must match the size exactly."""
    try:
        version = np.lib.format.read_magic(file)
        with warnings.catch_warnings():  # numpy warns on stderr about headers it reads the Python 2 way
            warnings.simplefilter("ignore")
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
            else:
                raise ValueError(f"npy version {version}")
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError, tokenize.TokenError) as error:
        raise UserError(f"{where} has a corrupt array header ({str(error)[:80]})") from None
    if dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise UserError(f"{where} has dtype {dtype}; only numeric arrays are read")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    header = file.tell()
    if header + nbytes != size:
        raise UserError(f"{where} declares shape {shape} ({nbytes} bytes) but holds {size - header}; "
                        "the file is truncated or corrupted")
    data = file.read(nbytes)
    if len(data) != nbytes or file.read(1):
        raise UserError(f"{where} is truncated")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npy(path: str | Path) -> np.ndarray:
    """A numeric ``.npy`` file, its size checked against its header before anything is allocated."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file; check the path")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path} is empty; write the array with numpy.save(path, array)")
    if size > MAX_FILE_BYTES:
        raise UserError(f"{path} is {size} bytes, more than the {MAX_FILE_BYTES} bytes this tool reads")
    try:
        with path.open("rb") as file:
            return read_npy_stream(file, size, str(path))
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror or error})") from None


def read_input_vector(path: str | Path, length: int) -> np.ndarray:
    """A float input vector of ``length`` finite values from a ``.npy`` file a user hands in."""
    values = read_npy(path)
    if values.dtype.kind not in "iuf" or values.size == 0:
        raise UserError(f"input file {path} must hold real numbers, found {values.size} values of dtype {values.dtype}; "
                        "save one with numpy.save(path, vector)")
    values = values.astype(np.float64).ravel()
    if values.size != length:
        raise UserError(f"input file {path} holds {values.size} values; the first layer takes {length}")
    if not np.all(np.isfinite(values)):
        raise UserError(f"input file {path} holds NaN or infinity")
    return values


def read_json_member(path: str | Path, raw: np.ndarray | None) -> Any:
    """The strict JSON held by a ``meta`` member (a 1-D uint8 array)."""
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise UserError(f"{path} has no metadata; was it written by this tool?")
    try:
        return parse_json(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UserError(f"{path}: its metadata is corrupted (not strict UTF-8 JSON); re-export the file") from None


def file_format(path: str | Path) -> Any:
    """The ``format`` named by an archive's metadata (None when it names none)."""
    meta = read_json_member(path, read_members(path, only="meta").get("meta"))
    return meta.get("format") if isinstance(meta, dict) else None


def load_npz(path: str | Path, fmt: str, version: int, older: Callable[[int], str] | None = None,
             also: tuple[int, ...] = ()) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of an integrity-checked archive of format ``fmt`` and ``version`` (or one in ``also``).

    ``older(version)`` gives the advice for an older version of the format that is no longer read.
    """
    arrays = read_members(path)
    meta = read_json_member(path, arrays.pop("meta", None))
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise UserError(f"{path} is not an {fmt} file (format {found!r})")
    found_version = meta.get("version")
    readable = type(found_version) is int and found_version in also
    if type(found_version) is int and found_version < version and older is not None and not readable:
        raise UserError(f"{path}: {older(found_version)}")
    if type(found_version) is not int or (found_version != version and not readable):  # 2.0 or true are not versions
        raise UserError(f"{path} has {fmt} version {found_version!r}, this tool reads version {version}; re-export it")
    members = meta.get(MEMBERS_KEY)
    if not isinstance(members, dict) or not isinstance(meta.get(DIGEST_KEY), str):
        raise UserError(f"{path}: its metadata lacks the member list or digest; the file is corrupted")
    if set(members) != set(arrays):
        missing, extra = sorted(set(members) - set(arrays)), sorted(set(arrays) - set(members))
        raise UserError(f"{path}: the archive's arrays do not match its member list (missing {missing}, unlisted {extra}); "
                        "the file is damaged: re-export it")
    for name, array in arrays.items():
        declared = members[name]
        if not isinstance(declared, dict) or declared.get("dtype") != array.dtype.str or declared.get("shape") != list(array.shape):
            raise UserError(f"{path}: array {name} is {array.dtype.str} {list(array.shape)}, its member list says {declared}; "
                            "the file is damaged")
    if digest(meta, arrays) != meta[DIGEST_KEY]:
        raise UserError(f"{path}: integrity check failed (SHA-256 of metadata and arrays differs); the file is damaged or "
                        "was edited: re-export it")
    return meta, arrays


class Schema:
    """Typed reads of one metadata object: every error names the file, the place and the expected type."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise UserError(f"{where} must be a JSON object, found {type(data).__name__}")
        self.data, self.where = data, where

    def only(self, *keys: str) -> "Schema":
        unknown = sorted(set(self.data) - set(keys))
        if unknown:
            raise UserError(f"{self.where}: unknown keys {unknown}")
        return self

    def get(self, key: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        if key not in self.data:
            if optional:
                return None
            raise UserError(f"{self.where}: key {key!r} is missing")
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if value is None and optional:
            return None
        if type(value) not in kinds:
            names = " or ".join(k.__name__ for k in kinds)
            raise UserError(f"{self.where}: {key!r} must be {names}, found {json.dumps(value)[:40]}")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.get(key, int)
        if not low <= value <= high:
            raise UserError(f"{self.where}: {key!r} must lie in {low}..{high}, found {value}")
        return value

    def shape(self, key: str, dims: tuple[int, ...]) -> tuple[int, ...]:
        value = self.get(key, list)
        if len(value) not in dims or any(type(v) is not int or v < 1 for v in value):
            raise UserError(f"{self.where}: {key!r} must list {' or '.join(map(str, dims))} positive integers, found {value}")
        return tuple(value)


def check_array(where: str, name: str, array: np.ndarray, dtypes: tuple[str, ...], shape: tuple[int, ...] | None,
                ndim: int | None = None) -> np.ndarray:
    """Refuse an array of another dtype, shape or number of dimensions than the format says."""
    if array.dtype.str not in dtypes:
        raise UserError(f"{where}: array {name} must be of dtype {' or '.join(dtypes)}, found {array.dtype.str}")
    if (shape is not None and array.shape != shape) or (ndim is not None and array.ndim != ndim):
        raise UserError(f"{where}: array {name} must have shape {shape if shape is not None else f'of {ndim} dimensions'}, "
                        f"found {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise UserError(f"{where}: array {name} holds NaN or infinity")
    return array
