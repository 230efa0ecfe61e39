"""Benchmark layers kept on disk once drawn and laid out, as numba keeps its compiled loops.

Drawing Alex-7's synthetic weights (1.5 million of 16.8 million positions) and laying them out over
64 PEs costs about half a second of CPU; reading both back costs a few hundredths. A file is named by
a digest of the layer's name, its seed, the architecture config and the source of every module that
draws, quantizes or lays out a layer, so a change to any of them is a miss and the layer is drawn
again. Files are plain ``.npz`` arrays read without pickle and written atomically; one that does not
read back is drawn again; the newest ``KEPT_FILES`` are kept. ``$EIE_ACCEL_CACHE`` names the folder
(``off`` turns the cache off); the default is ``$XDG_CACHE_HOME/eie-accel``, else ``~/.cache/eie-accel``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from accel import arch
from accel.arch.benchmarks import BenchmarkLayer, synthetic_layer
from accel.arch.config import ArchConfig
from accel.arch.images import BatchImage, LayerImage, batch_image
from accel.arch.layer import QuantizedLayer, SparseCodes
from accel.sim.network import LayerLayout, lay_out

CACHE_VARIABLE = "EIE_ACCEL_CACHE"
KEPT_FILES = 12
"""Files the cache keeps; writing one more removes the least recently written (Alex-7 takes 17 MB)."""
SOURCES = ("benchmarks.py", "config.py", "fixed_point.py", "images.py", "layer.py", "layout_kernels.py")
"""The modules of ``accel.arch`` whose source decides a benchmark layer's codes and image (read, not imported:
the layout loop imports numba)."""


def benchmark_layout(spec: BenchmarkLayer, seed: int, config: ArchConfig) -> tuple[QuantizedLayer, LayerLayout]:
    """``spec``'s synthetic layer (``synthetic_layer(spec, seed)``) and its layout for ``config``, from the cache
    when it holds them."""
    path = _path(spec, seed, config)
    if path is not None and path.exists():
        try:
            return _read(path, config)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged or partial file: drawn again below, and replaced
    layer = synthetic_layer(spec, seed=seed)
    layout = lay_out(layer, config)
    if path is not None:
        _write(path, layer, layout.image)
    return layer, layout


def cache_folder() -> Path | None:
    """Where laid-out benchmark layers are kept, or None when the cache is off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "eie-accel"


def _path(spec: BenchmarkLayer, seed: int, config: ArchConfig) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    digest = hashlib.sha256(json.dumps([spec.name, seed, config.to_dict()], sort_keys=True).encode())
    for name in SOURCES:
        digest.update((Path(arch.__file__).parent / name).read_bytes())
    return folder / "layers" / f"{spec.name}-{digest.hexdigest()[:20]}.npz"


def _write(path: Path, layer: QuantizedLayer, image: LayerImage) -> None:
    """Write atomically; a folder that cannot be written only costs the next run the drawing."""
    sparse = layer.sparse_codes()
    meta = {"name": layer.name, "relu": layer.relu, "notes": layer.notes, "cols": layer.cols,
            "batches": [[batch.row_start, batch.n_rows] for batch in image.batches]}
    arrays = {"meta": np.array(json.dumps(meta)), "row_begin": sparse.row_begin, "columns": sparse.columns,
              "codes": sparse.codes, "codebook": layer.codebook, "image_codebook": image.codebook}
    for index, batch in enumerate(image.batches):
        arrays[f"entries{index}"] = batch.entries
        arrays[f"pointers{index}"] = batch.pointers
        arrays[f"bias{index}"] = _row_order(batch, image.config.n_pes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
            np.savez(file, **arrays)
        os.replace(file.name, path)
        kept = sorted(path.parent.glob("*.npz"), key=lambda kept: kept.stat().st_mtime, reverse=True)
        for old in kept[KEPT_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def _read(path: Path, config: ArchConfig) -> tuple[QuantizedLayer, LayerLayout]:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["meta"]))
    sparse = SparseCodes(row_begin=arrays["row_begin"], columns=arrays["columns"], codes=arrays["codes"])
    layer = QuantizedLayer.from_sparse(sparse, meta["cols"], arrays["codebook"], meta["relu"], meta["name"], meta["notes"])
    batches = []
    for index, (row_start, n_rows) in enumerate(meta["batches"]):
        batches.append(batch_image(row_start, n_rows, arrays[f"entries{index}"], arrays[f"pointers{index}"],
                                   arrays[f"bias{index}"], config.n_pes))
    image = LayerImage(config=config, name=layer.name, rows=layer.rows, cols=layer.cols,
                       codebook=arrays["image_codebook"], relu=layer.relu, batches=batches)
    return layer, LayerLayout(image, image.padding_entries, image.total_entries, image.capacity_problems())


def _row_order(batch: BatchImage, n_pes: int) -> np.ndarray:
    """A batch's fixed-point biases in row order (row r is local row r // n_pes of PE r % n_pes)."""
    bias = np.empty(batch.n_rows, dtype=batch.pes[0].bias.dtype)
    for pe, pe_image in enumerate(batch.pes):
        bias[pe::n_pes] = pe_image.bias
    return bias
