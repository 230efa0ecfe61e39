"""Size accounting in the papers' columns: kept %, bits per weight and index, compression rates."""

from __future__ import annotations

from dataclasses import dataclass

FLOAT_BITS = 32


@dataclass
class LayerSize:
    """Bits of one layer in each representation (biases stored as 32-bit floats in all of them)."""

    name: str
    weights: int
    kept: int
    entries: int
    """Stored entries: kept weights plus filler entries."""
    fillers: int
    weight_bits: int
    index_bits: int
    codebook_entries: int
    biases: int
    weight_huffman_bits: int
    index_huffman_bits: int
    filler_weight_bits: int
    """Part of ``weight_huffman_bits`` spent on the codes of filler entries."""
    filler_index_bits: int
    """Part of ``index_huffman_bits`` spent on the indices of filler entries."""
    huffman_table_bits: int

    @property
    def original_bits(self) -> int:
        return FLOAT_BITS * (self.weights + self.biases)

    @property
    def pruned_bits(self) -> int:
        """After pruning alone: 32-bit values with relative indices, fillers included."""
        return self.entries * (FLOAT_BITS + self.index_bits) + FLOAT_BITS * self.biases

    @property
    def quantized_bits(self) -> int:
        """After pruning and quantization: codes and indices, codebook, biases."""
        return (self.entries * (self.weight_bits + self.index_bits)
                + FLOAT_BITS * (self.codebook_entries + self.biases))

    @property
    def huffman_bits(self) -> int:
        """After Huffman coding of both streams, tables included."""
        return (self.weight_huffman_bits + self.index_huffman_bits + self.huffman_table_bits
                + FLOAT_BITS * (self.codebook_entries + self.biases))

    def row(self) -> dict:
        entries = max(1, self.entries)
        return {
            "layer": self.name, "weights": self.weights, "kept_pct": 100 * self.kept / self.weights,
            "fillers": self.fillers,
            "weight_bits_PQ": self.weight_bits, "weight_bits_PQH": self.weight_huffman_bits / entries,
            "index_bits_PQ": self.index_bits, "index_bits_PQH": self.index_huffman_bits / entries,
            "size_pct_PQ": 100 * self.quantized_bits / self.original_bits,
            "size_pct_PQH": 100 * self.huffman_bits / self.original_bits,
            "rate_P_params": self.weights / max(1, self.kept), "rate_P_storage": self.original_bits / self.pruned_bits,
            "rate_PQ": self.original_bits / self.quantized_bits, "rate_PQH": self.original_bits / self.huffman_bits,
            "original_bytes": self.original_bits / 8, "PQH_bytes": self.huffman_bits / 8,
        }

    def bytes_row(self) -> dict:
        """Bytes of the Huffman-coded layer by component (they add up to ``huffman_bits / 8``).

        The relative indices run across row boundaries (one stream per layer, as in Deep Compression),
        so no row or column pointers are stored; EIE's per-PE column pointers are built by accel.arch.images.
        """
        return {"layer": self.name, "weight_codes": (self.weight_huffman_bits - self.filler_weight_bits) / 8,
                "relative_indices": (self.index_huffman_bits - self.filler_index_bits) / 8,
                "fillers": (self.filler_weight_bits + self.filler_index_bits) / 8, "huffman_tables": self.huffman_table_bits / 8,
                "codebook": FLOAT_BITS * self.codebook_entries / 8, "biases": FLOAT_BITS * self.biases / 8,
                "total": self.huffman_bits / 8}


def total_row(layers: list[LayerSize]) -> dict:
    def total(attribute: str) -> int:
        return sum(getattr(layer, attribute) for layer in layers)

    weights, kept, entries = total("weights"), total("kept"), max(1, total("entries"))
    original = total("original_bits")
    return {
        "layer": "total", "weights": weights, "kept_pct": 100 * kept / weights, "fillers": total("fillers"),
        "weight_bits_PQ": "", "weight_bits_PQH": total("weight_huffman_bits") / entries,
        "index_bits_PQ": "", "index_bits_PQH": total("index_huffman_bits") / entries,
        "size_pct_PQ": 100 * total("quantized_bits") / original, "size_pct_PQH": 100 * total("huffman_bits") / original,
        "rate_P_params": weights / max(1, kept), "rate_P_storage": original / total("pruned_bits"),
        "rate_PQ": original / total("quantized_bits"), "rate_PQH": original / total("huffman_bits"),
        "original_bytes": original / 8, "PQH_bytes": total("huffman_bits") / 8,
    }


def bytes_rows(layers: list[LayerSize]) -> list[dict]:
    """Per-layer byte breakdown of the Huffman-coded model, with a total row."""
    rows = [layer.bytes_row() for layer in layers]
    return rows + [{key: "total" if key == "layer" else sum(row[key] for row in rows) for key in rows[0]}]
