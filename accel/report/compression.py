"""Compression pages: the Deep Compression size tables and the sensitivity plot of one recorded run.

Everything is rendered from the run's ``summary.json`` (written by ``accel.models.pipeline.write_outputs``).
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.files import write_text_atomic
from accel.report import plots
from accel.report.tables import format_table

SIZE_HEADERS = ["layer", "#weights", "kept %", "weight bits P+Q", "weight bits P+Q+H", "index bits P+Q",
                "index bits P+Q+H", "size P+Q", "size P+Q+H", "rate P (params)", "rate P+Q", "rate P+Q+H"]


def size_table(rows: list[dict], markdown: bool = True) -> str:
    """Per-layer sizes in the Deep Compression paper's columns (``summary["sizes"]``, total row last)."""
    return format_table(SIZE_HEADERS, [
        [row["layer"], row["weights"], f"{row['kept_pct']:.1f}%", row["weight_bits_PQ"], f"{row['weight_bits_PQH']:.2f}",
         row["index_bits_PQ"], f"{row['index_bits_PQH']:.2f}", f"{row['size_pct_PQ']:.2f}%", f"{row['size_pct_PQH']:.2f}%",
         f"{row['rate_P_params']:.1f}x", f"{row['rate_PQ']:.1f}x", f"{row['rate_PQH']:.1f}x"] for row in rows],
        markdown=markdown)


def bytes_table(rows: list[dict], markdown: bool = True) -> str:
    """Bytes by component after P+Q+H (``summary["bytes"]``, total row last)."""
    return format_table(list(rows[0]), [[row["layer"], *(f"{value:,.0f}" for key, value in row.items() if key != "layer")]
                                        for row in rows], markdown=markdown)


def size_markdown(summary: dict) -> str:
    """``sizes.md``: accuracies, the papers' columns, bytes by component."""
    return (f"# {summary['network']} on {summary['data']}: Deep Compression sizes\n\n"
            f"Top-1 test accuracy: dense {summary['accuracy_dense']:.2f} %, pruned {summary['accuracy_pruned']:.2f} %, "
            f"pruned + quantized {summary['accuracy_quantized']:.2f} %. Rates include codebooks, biases (32-bit), "
            f"filler entries and Huffman tables; original = 32-bit weights and biases.\n\n"
            f"{size_table(summary['sizes'])}\n\n## Bytes by component after P+Q+H\n\n{bytes_table(summary['bytes'])}\n")


def write_every_compression_page(folder: Path) -> list[Path]:
    """The pages of every compression run under ``folder`` (each ``NAME/summary.json``, one level or more down)."""
    return [path for summary in sorted(folder.rglob("summary.json")) for path in write_compression_pages(summary.parent).values()]


def write_compression_pages(folder: Path) -> dict[str, Path]:
    """Render ``sizes.md`` (and ``sensitivity.png`` when the run swept it) from ``folder/summary.json``."""
    summary = json.loads((folder / "summary.json").read_text())
    paths = {"sizes_md": write_text_atomic(folder / "sizes.md", size_markdown(summary))}
    rows = summary.get("sensitivity") or []
    if rows:
        layers = list(dict.fromkeys(row["layer"] for row in rows))
        paths["sensitivity_png"] = plots.line_plot(
            folder / "sensitivity.png", [100 * f for f in summary["sensitivity_fractions"]],
            {layer: [row["accuracy"] for row in rows if row["layer"] == layer] for layer in layers},
            "weights pruned in this layer alone (%)", "top-1 test accuracy (%)",
            f"Pruning sensitivity of {summary['network']} ({summary['data']}), no retraining", logx=False,
            legend_title="layer")
    return paths
