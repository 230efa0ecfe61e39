"""Canonical Huffman coding of small-alphabet symbol streams, with a real bit-level decoder."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from accel.arch.errors import UserError

MAX_LENGTH = 62
"""Longest code the decoder accepts (bit windows are 64-bit integers)."""


@dataclass
class HuffmanStream:
    """An encoded stream: code length per symbol (0 = unused), the packed bits and the symbol count."""

    lengths: np.ndarray
    data: np.ndarray
    count: int


def code_lengths(frequencies: np.ndarray) -> np.ndarray:
    """Huffman code length of each symbol (0 for symbols that never occur; 1 if only one occurs)."""
    used = [int(s) for s in np.flatnonzero(frequencies)]
    lengths = np.zeros(frequencies.size, dtype=np.int64)
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths
    heap = [(int(frequencies[s]), index, [s]) for index, s in enumerate(used)]
    heapq.heapify(heap)
    tiebreak = len(heap)
    while len(heap) > 1:
        weight_a, _, group_a = heapq.heappop(heap)
        weight_b, _, group_b = heapq.heappop(heap)
        for symbol in group_a + group_b:
            lengths[symbol] += 1
        heapq.heappush(heap, (weight_a + weight_b, tiebreak, group_a + group_b))
        tiebreak += 1
    return lengths


def canonical_codes(lengths: np.ndarray) -> dict[int, tuple[int, int]]:
    """Canonical code (value, length) per symbol: shorter codes first, then by symbol."""
    codes = {}
    code, previous = 0, 0
    for symbol in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        length = int(lengths[symbol])
        code <<= length - previous
        codes[int(symbol)] = (code, length)
        code += 1
        previous = length
    return codes


def encode(symbols: np.ndarray, alphabet: int) -> HuffmanStream:
    symbols = np.asarray(symbols, dtype=np.int64)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet):
        raise UserError(f"Huffman symbols must lie in 0..{alphabet - 1}")
    lengths = code_lengths(np.bincount(symbols, minlength=alphabet))
    if symbols.size == 0:
        return HuffmanStream(lengths, np.zeros(0, dtype=np.uint8), 0)
    codes = canonical_codes(lengths)
    table_value = np.zeros(alphabet, dtype=np.int64)
    table_length = np.zeros(alphabet, dtype=np.int64)
    for symbol, (value, length) in codes.items():
        table_value[symbol], table_length[symbol] = value, length
    values, widths = table_value[symbols], table_length[symbols]
    max_length = int(widths.max())
    # Expand every code into its bits, most significant first.
    column = np.arange(max_length)[None, :]
    keep = column < widths[:, None]
    bit_matrix = (values[:, None] >> np.maximum(widths[:, None] - 1 - column, 0)) & 1
    bits = bit_matrix[keep].astype(np.uint8)
    return HuffmanStream(lengths, np.packbits(bits), int(symbols.size))


def decode(stream: HuffmanStream) -> np.ndarray:
    """Decode exactly ``stream.count`` symbols with the canonical code's first-code-per-length rule.

    The stream must end with them: at most seven zero bits of padding may follow.

    Every bit position is decoded at once (the code that would start there), then the chain of
    code starts is followed from position 0.
    """
    lengths = np.asarray(stream.lengths, dtype=np.int64)
    data = np.asarray(stream.data, dtype=np.uint8)
    if stream.count == 0:
        if data.size:
            raise UserError("corrupt Huffman stream: it holds bits but no symbols")
        return np.zeros(0, dtype=np.int64)
    if not 0 < stream.count <= 8 * data.size:
        raise UserError(f"corrupt Huffman stream: {stream.count} symbols cannot fit in {data.size} bytes")
    if lengths.min() < 0 or lengths.max() > MAX_LENGTH or not lengths.any():
        raise UserError("corrupt Huffman table: code lengths out of range")
    if sum(1 << (MAX_LENGTH - int(length)) for length in lengths[lengths > 0]) > 1 << MAX_LENGTH:  # Kraft, in integers
        raise UserError("corrupt Huffman table: code lengths violate the Kraft inequality")
    longest = int(lengths.max())
    if data.size > -(-stream.count * longest // 8):
        raise UserError(f"corrupt Huffman stream: {data.size} bytes are more than {stream.count} symbols of at most "
                        f"{longest} bits can fill")
    bits = np.unpackbits(data).astype(np.int64)
    total = bits.size
    padded = np.concatenate([bits, np.zeros(longest, dtype=np.int64)])
    order = sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s))
    symbols_by_rank = np.array(order, dtype=np.int64)
    code_length = np.zeros(total, dtype=np.int64)
    symbol = np.full(total, -1, dtype=np.int64)
    window = np.zeros(total, dtype=np.int64)
    first_code = rank = 0
    for length in range(1, longest + 1):
        window = (window << 1) | padded[length - 1: length - 1 + total]
        count = int(np.count_nonzero(lengths == length))
        match = (code_length == 0) & (window >= first_code) & (window < first_code + count)
        code_length[match] = length
        symbol[match] = symbols_by_rank[rank + window[match] - first_code]
        first_code, rank = (first_code + count) << 1, rank + count
    following = (np.arange(total) + code_length).tolist()
    output = np.empty(stream.count, dtype=np.int64)
    position = 0
    for index in range(stream.count):
        if position >= total or following[position] > total:
            raise UserError("corrupt Huffman stream: it ends before all symbols were decoded")
        if code_length[position] == 0:
            raise UserError("corrupt Huffman stream: no code matches")
        output[index] = symbol[position]
        position = following[position]
    if total - position >= 8 or bits[position:].any():
        raise UserError(f"corrupt Huffman stream: {total - position} bits are left after {stream.count} symbols "
                        "(only zero padding up to the next byte may follow)")
    return output


def encoded_bits(symbols: np.ndarray, lengths: np.ndarray) -> int:
    """Exact payload bits (without byte padding) of ``symbols`` under ``lengths``."""
    return int(np.asarray(lengths)[np.asarray(symbols, dtype=np.int64)].sum())
