"""Plain-text and Markdown tables for the command line and the reports."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool = False) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in cells)) if cells else len(str(header))
              for i, header in enumerate(headers)]
    if markdown:
        lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(value.rjust(w) if _numeric(value) else value.ljust(w) for value, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(value: str) -> bool:
    return value.replace(",", "").replace(".", "").replace("-", "").replace("+", "").replace("%", "").replace("x", "").isdigit()


def partition_rows(partition: list[dict]) -> tuple[list[list[str]], int]:
    """A model's partition as table rows (runs on, operation, output shape), without the host operations that
    only carry sizes and tuples; and how many of those were left out."""
    shown = [row for row in partition if row["runs_on"] == "EIE" or row["shape"] is not None]
    return ([[row["runs_on"], row["operation"], "x".join(map(str, row["shape"])) if row["shape"] else ""]
             for row in shown], len(partition) - len(shown))
