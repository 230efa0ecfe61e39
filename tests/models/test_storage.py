"""Relative-index storage with fillers, canonical Huffman coding, and the size accounting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.arch.errors import UserError
from accel.models import huffman
from accel.models.compressed_file import CompressedLayer
from accel.models.size_report import bytes_rows, total_row
from accel.models.sparse_storage import decode_relative, encode_relative


@pytest.mark.parametrize("index_bits, gap, fillers", [
    (5, 30, 0), (5, 31, 0), (5, 32, 1), (5, 63, 1), (5, 64, 2),
    (4, 14, 0), (4, 15, 0), (4, 16, 1), (4, 31, 1), (4, 32, 2)])
def test_filler_entries_at_exact_gap_boundaries(index_bits, gap, fillers):
    step = 1 << index_bits
    codes = np.zeros(100, dtype=np.int64)
    codes[gap] = 7
    entry_codes, relative = encode_relative(codes, index_bits)
    assert entry_codes.tolist() == [0] * fillers + [7]
    assert relative.tolist() == [step - 1] * fillers + [gap - step * fillers]
    assert relative.max() <= step - 1
    assert np.array_equal(decode_relative(entry_codes, relative, 100), codes)


def test_eie_worked_example_and_trailing_zeros():
    # EIE paper: values [1, 2, 0, 3] with relative indices [2, 0, 15, 2] (one filler for a gap of 17).
    codes = np.zeros(40, dtype=np.int64)
    codes[[2, 3, 21]] = [1, 2, 3]
    entry_codes, relative = encode_relative(codes, 4)
    assert entry_codes.tolist() == [1, 2, 0, 3] and relative.tolist() == [2, 0, 15, 1]
    assert np.array_equal(decode_relative(entry_codes, relative, 40), codes)  # zeros after the last entry need nothing
    with pytest.raises(UserError, match="corrupt sparse layer"):
        decode_relative(entry_codes, relative, 20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 15), max_size=400), st.integers(2, 6))
def test_relative_storage_round_trip(values, index_bits):
    codes = np.array(values, dtype=np.int64)
    entry_codes, relative = encode_relative(codes, index_bits)
    assert np.array_equal(decode_relative(entry_codes, relative, codes.size), codes)


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 64).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=500))))
def test_huffman_round_trip_is_bit_exact(case):
    alphabet, values = case
    symbols = np.array(values, dtype=np.int64)
    stream = huffman.encode(symbols, alphabet)
    assert np.array_equal(huffman.decode(stream), symbols)
    used = np.flatnonzero(stream.lengths)
    assert 2.0 ** -stream.lengths[used].astype(float) @ np.ones(used.size) <= 1.0  # Kraft: a prefix code
    payload = huffman.encoded_bits(symbols, stream.lengths)
    assert stream.data.size == (payload + 7) // 8
    if symbols.size:  # never worse than a fixed-length code over the symbols that occur
        assert payload <= max(1, int(np.ceil(np.log2(used.size)))) * symbols.size


def test_huffman_code_lengths_follow_frequencies():
    symbols = np.array([0] * 8 + [1] * 4 + [2] * 2 + [3] * 2)
    assert huffman.encode(symbols, 4).lengths.tolist() == [1, 2, 3, 3]
    assert huffman.encode(np.array([5, 5, 5]), 8).lengths.tolist() == [0] * 5 + [1, 0, 0]


def test_corrupt_huffman_streams_are_refused():
    stream = huffman.encode(np.arange(16).repeat(3), 16)
    stream.data = stream.data[:-3]
    with pytest.raises(UserError, match="ends before"):
        huffman.decode(stream)
    bad_table = huffman.HuffmanStream(np.ones(4, dtype=np.int64), np.zeros(2, dtype=np.uint8), 3)
    with pytest.raises(UserError, match="Kraft"):
        huffman.decode(bad_table)
    with pytest.raises(UserError, match="must lie in"):
        huffman.encode(np.array([0, 9]), 8)


def small_layer() -> CompressedLayer:
    codes = np.zeros((4, 25), dtype=np.int64)
    codes[0, 3], codes[1, 10], codes[3, 24] = 1, 2, 3  # flat gaps 3, 31, 63: 0, 0 and 1 fillers (index 5 bits)
    return CompressedLayer("fc", "linear", (4, 25), bits=2, index_bits=5, codebook=np.array([0.0, -0.5, 0.25, 1.0]),
                           codes=codes, bias=np.zeros(4), relu=False)


def test_size_accounting_by_hand():
    size = small_layer().size()
    assert (size.weights, size.kept, size.entries, size.fillers) == (100, 3, 4, 1)
    assert size.original_bits == 32 * 104
    assert size.quantized_bits == 4 * (2 + 5) + 32 * (4 + 4)  # entries x (code + index) + codebook + biases
    assert size.pruned_bits == 4 * (32 + 5) + 32 * 4
    row = size.row()
    assert row["rate_P_params"] == pytest.approx(100 / 3) and row["rate_PQ"] == pytest.approx(32 * 104 / size.quantized_bits)
    breakdown = bytes_rows([size])
    parts = sum(value for key, value in breakdown[0].items() if key not in ("layer", "total"))
    assert parts == pytest.approx(breakdown[0]["total"]) == pytest.approx(size.huffman_bits / 8)
    assert breakdown[0]["fillers"] > 0 and breakdown[-1]["layer"] == "total"
    assert total_row([size, size])["rate_PQH"] == pytest.approx(row["rate_PQH"])
