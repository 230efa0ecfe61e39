"""Benchmark layers read back from the layer cache are the layers and images drawn afresh."""

import numpy as np

from accel.arch.benchmarks import benchmark_layer, synthetic_layer
from accel.arch.config import ArchConfig
from accel.explore import layer_cache
from accel.sim.network import lay_out


def _same(first, second) -> bool:
    (layer_a, layout_a), (layer_b, layout_b) = first, second
    batches = zip(layout_a.image.batches, layout_b.image.batches, strict=True)
    return (np.array_equal(layer_a.codes, layer_b.codes) and np.array_equal(layer_a.codebook, layer_b.codebook)
            and (layer_a.name, layer_a.relu, layer_a.notes) == (layer_b.name, layer_b.relu, layer_b.notes)
            and np.array_equal(layout_a.image.codebook, layout_b.image.codebook)
            and all(np.array_equal(a.entries, b.entries) and np.array_equal(a.pointers, b.pointers)
                    and all(np.array_equal(p.bias, q.bias) for p, q in zip(a.pes, b.pes, strict=True))
                    and (a.row_start, a.n_rows) == (b.row_start, b.n_rows) for a, b in batches)
            and (layout_a.padding_entries, layout_a.stored_entries, layout_a.capacity_problems)
            == (layout_b.padding_entries, layout_b.stored_entries, layout_b.capacity_problems))


def test_a_cached_layer_is_the_layer_drawn_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv(layer_cache.CACHE_VARIABLE, str(tmp_path))
    spec, config = benchmark_layer("NT-Wd"), ArchConfig(n_pes=16, regfile_entries=64)  # several batches
    layer = synthetic_layer(spec, seed=3)
    fresh = (layer, lay_out(layer, config))
    assert len(fresh[1].image.batches) > 1
    first = layer_cache.benchmark_layout(spec, 3, config)
    [written] = (tmp_path / "layers").iterdir()
    second = layer_cache.benchmark_layout(spec, 3, config)
    assert _same(first, fresh) and _same(second, fresh)
    assert second[0].sparse_codes().columns.size == layer.nnz
    other = layer_cache.benchmark_layout(spec, 3, config.replace(n_pes=8))  # another config: another file
    assert len(list((tmp_path / "layers").iterdir())) == 2 and other[1].image.config.n_pes == 8


def test_a_damaged_file_is_drawn_again_and_the_cache_can_be_off(tmp_path, monkeypatch):
    monkeypatch.setenv(layer_cache.CACHE_VARIABLE, str(tmp_path))
    spec, config = benchmark_layer("NT-Wd"), ArchConfig()
    fresh = layer_cache.benchmark_layout(spec, 0, config)
    [written] = (tmp_path / "layers").iterdir()
    written.write_bytes(written.read_bytes()[:1000])
    assert _same(layer_cache.benchmark_layout(spec, 0, config), fresh)
    assert written.stat().st_size > 1000  # replaced
    monkeypatch.setenv(layer_cache.CACHE_VARIABLE, "off")
    assert layer_cache.cache_folder() is None and _same(layer_cache.benchmark_layout(spec, 0, config), fresh)


def test_the_cache_keeps_the_newest_files(tmp_path, monkeypatch):
    monkeypatch.setenv(layer_cache.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.setattr(layer_cache, "KEPT_FILES", 2)
    spec, config = benchmark_layer("NT-Wd"), ArchConfig()
    for seed in range(3):
        layer_cache.benchmark_layout(spec, seed, config)
    assert len(list((tmp_path / "layers").iterdir())) == 2
