"""Data sets from IDX folders (MNIST format) or ``.npz`` arrays; nothing is ever downloaded."""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from accel.arch.errors import UserError
from accel.arch.npz import read_members

DEFAULT_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
MAX_CLASSES = 100
MAX_IDX_BYTES = 1 << 30
"""Largest IDX file read (1 GiB after decompression)."""
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


NPZ_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass
class Dataset:
    """Images as float tensors, labels as int64. From IDX: (N, 1, H, W) normalised to zero mean and unit variance."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    name: str

    @property
    def classes(self) -> int:
        return int(self.train_labels.max()) + 1


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into an array of its declared shape."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as file:
            raw = file.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise UserError(f"{path} cannot be read ({type(error).__name__}: {str(error)[:60]}); reinstall the data set "
                        "(apt-get install --reinstall dataset-fashion-mnist) or pass --data DIR") from None
    if len(raw) > MAX_IDX_BYTES:
        raise UserError(f"{path} holds more than {MAX_IDX_BYTES} bytes (uncompressed); is it an IDX file of images?")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number); pass --data with a folder of MNIST-format files")
    dims = raw[3]
    header = 4 + 4 * dims
    if dims == 0 or len(raw) < header:
        raise UserError(f"{path} has a truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python integers: a declared size cannot wrap around
    if len(raw) - header != expected:
        raise UserError(f"{path} holds {len(raw) - header} data bytes but its header promises {expected}: "
                        "truncated or corrupt; reinstall or re-download the data set")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def find_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    hint = "apt-get install dataset-fashion-mnist" if folder == DEFAULT_DATA_DIR else "pass --data with a folder of IDX files"
    raise UserError(f"data set file {stem}[.gz] is missing from {folder}; {hint}")


def load_idx_dataset(folder: str | Path = DEFAULT_DATA_DIR) -> Dataset:
    """Load an MNIST-format data set (train/t10k images and labels) from ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        hint = "install it with: apt-get install dataset-fashion-mnist" if folder == DEFAULT_DATA_DIR else "check --data"
        raise UserError(f"data set folder {folder} does not exist; {hint}")
    paths = {key: find_file(folder, stem) for key, stem in FILES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for key, array in arrays.items():
        if array.dtype != np.uint8 or array.ndim != (3 if key.endswith("images") else 1) or 0 in array.shape[1:]:
            raise UserError(f"{paths[key]} must hold unsigned bytes with {3 if key.endswith('images') else 1} "
                            f"dimensions (MNIST layout), found {array.dtype} {array.shape}")
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
            raise UserError(f"{paths[split + '_images']} holds {images.shape[0]} images but "
                            f"{paths[split + '_labels']} holds {labels.shape[0]} labels; the files do not belong together")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise UserError(f"{folder}: train images are {arrays['train_images'].shape[1:]} pixels, test images "
                        f"{arrays['test_images'].shape[1:]}; use one data set's files")
    classes = int(arrays["train_labels"].max()) + 1
    if classes > MAX_CLASSES:
        raise UserError(f"{paths['train_labels']}: labels go up to {classes - 1}; at most {MAX_CLASSES} classes are "
                        "supported: is it a labels file?")
    if int(arrays["test_labels"].max()) >= classes:
        raise UserError(f"{paths['test_labels']}: labels must lie in 0..{classes - 1} (the classes seen in training), "
                        f"found {int(arrays['test_labels'].max())}; the files do not belong together")
    train = arrays["train_images"].astype(np.float32) / 255.0
    mean, std = float(train.mean()), float(train.std()) or 1.0

    def tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((images.astype(np.float32) / 255.0 - mean) / std).unsqueeze(1)

    return Dataset(tensor(arrays["train_images"]), torch.from_numpy(arrays["train_labels"].astype(np.int64)),
                   tensor(arrays["test_images"]), torch.from_numpy(arrays["test_labels"].astype(np.int64)), folder.name)


def load_npz_dataset(path: str | Path) -> Dataset:
    """Arrays ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` from an ``.npz`` (no pickle).

    Images keep their stored shape (N, ...); unsigned-byte images are normalised as IDX images are,
    float images are taken as they are. Labels are whole numbers 0..classes-1.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"data file {path} does not exist; check --data")
    arrays = read_members(path)
    missing = [key for key in NPZ_KEYS if key not in arrays]
    if missing:
        raise UserError(f"{path} lacks arrays {missing}; it needs {', '.join(NPZ_KEYS)} "
                        "(numpy.savez(path, train_images=..., train_labels=..., ...))")
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype.kind not in "uif" or images.ndim < 2 or not np.all(np.isfinite(images.astype(np.float32))):
            raise UserError(f"{path}: {split}_images must be numbers finite in float32, of shape (N, ...), found "
                            f"{images.dtype} {images.shape}")
        if labels.dtype.kind not in "ui" or labels.ndim != 1:
            raise UserError(f"{path}: {split}_labels must be whole numbers of shape (N,), found {labels.dtype} {labels.shape}")
        if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
            raise UserError(f"{path}: {split}_images holds {images.shape[0]} images but {split}_labels holds "
                            f"{labels.shape[0]} labels; they must match and not be empty")
        if labels.min() < 0:
            raise UserError(f"{path}: {split}_labels must be 0 or more, found {labels.min()}")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise UserError(f"{path}: train images are {arrays['train_images'].shape[1:]}, test images "
                        f"{arrays['test_images'].shape[1:]}; they must have one shape")
    classes = int(arrays["train_labels"].max()) + 1
    if classes > MAX_CLASSES:
        raise UserError(f"{path}: train_labels go up to {classes - 1}; at most {MAX_CLASSES} classes are supported")
    if int(arrays["test_labels"].max()) >= classes:
        raise UserError(f"{path}: test_labels must lie in 0..{classes - 1} (the classes seen in training), "
                        f"found {int(arrays['test_labels'].max())}")
    train, test = arrays["train_images"], arrays["test_images"]
    if train.dtype == np.uint8:
        mean, std = float((train / 255.0).mean()), float((train / 255.0).std()) or 1.0
        train, test = ((images / 255.0 - mean) / std for images in (train, test))
    return Dataset(torch.from_numpy(np.asarray(train, dtype=np.float32)),
                   torch.from_numpy(arrays["train_labels"].astype(np.int64)),
                   torch.from_numpy(np.asarray(test, dtype=np.float32)),
                   torch.from_numpy(arrays["test_labels"].astype(np.int64)), path.stem)


def load_dataset(path: str | Path = DEFAULT_DATA_DIR) -> Dataset:
    """A folder of IDX files or an ``.npz`` of arrays."""
    path = Path(path)
    return load_npz_dataset(path) if path.suffix == ".npz" or path.is_file() else load_idx_dataset(path)
