"""The demo's page: ``report.md`` and ``energy.png`` rendered from the demo's recorded ``report.json``."""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.files import write_text_atomic
from accel.report import plots
from accel.report.compression import size_markdown
from accel.report.tables import format_table


def short_table(report: dict) -> str:
    """Accuracy, compression and per-layer cycles, latency, energy and traffic: what ``accel demo`` prints."""
    rows = report["layers"]
    head = format_table(["", "value"], [
        ["top-1 accuracy dense / pruned / P+Q+H", f"{report['accuracy_dense']:.2f} / {report['accuracy_pruned']:.2f} / "
                                                  f"{report['accuracy_quantized']:.2f} %"],
        ["compression (pruning params / P+Q+H bytes)", f"{report['compression_pruning']:.1f}x / {report['compression_PQH']:.1f}x"],
        ["EIE fixed point vs torch: same class", f"{report['eie_vs_torch_class_agreement']:.0f} % of {report['images_simulated']} images"],
    ])
    body = format_table(["layer", "shape", "density", "cycles", "latency us", "EIE uJ", "dense DRAM uJ",
                         "SRAM reads (EIE)", "DRAM reads (dense)"],
                        [[r["layer"], r["shape"], f"{100 * r['weight_density']:.1f}%", r["cycles"], r["latency_us"],
                          r["eie_uJ"], r["dense_dram_uJ"], r["sram_accesses"], r["dram_accesses_dense"]] for r in rows])
    total_cycles = sum(r["cycles"] for r in rows)
    total = sum(r["latency_us"] for r in rows)
    return f"{head}\n\n{body}\n\nwhole network: {total_cycles:,.0f} cycles, {total:.2f} us per image, " \
           f"{sum(r['eie_uJ'] for r in rows):.3f} uJ on EIE vs {sum(r['dense_dram_uJ'] for r in rows):.1f} uJ dense from DRAM"


def demo_markdown(report: dict, summary: dict) -> str:
    return "\n".join([
        "# EIE demo: LeNet-300-100 on Fashion-MNIST",
        "",
        "Made by `accel demo` (`make demo`). Quick preset: short training, so accuracy is below the full benchmark's.",
        "",
        "```", short_table(report), "```",
        "",
        "## Compression (Deep Compression columns)", "", size_markdown(summary),
        "## Energy per image", "", "![energy](energy.png)", "",
        f"EIE energy counts on-chip SRAM, register-file and arithmetic actions, the clock network per PE-cycle and SRAM "
        f"leakage from the energy table ({report['energy_table']}); the dense comparison streams every 32-bit weight "
        "from DRAM. Control logic is not modelled.",
        "",
        f"Fixed point vs float: the largest logit difference over {report['images_simulated']} images is "
        f"{report['max_logit_error']:.3f}; predicted classes agree on {report['eie_vs_torch_class_agreement']:.0f} %.",
        "",
    ])


def write_demo_pages(folder: Path) -> dict[str, Path]:
    """``report.md`` and ``energy.png`` from ``folder/report.json`` and the compression run's ``summary.json``."""
    report = json.loads((folder / "report.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    rows = report["layers"]
    config = report["config"]
    return {
        "energy_png": plots.energy_breakdown(
            folder / "energy.png", [row["layer"] for row in rows],
            {"EIE, weights in SRAM": [row["eie_components_pJ"] for row in rows],
             "dense, weights in DRAM": [row["dense_components_pJ"] for row in rows]},
            "LeNet-300-100 FC layers: energy per image by component",
            note=f"trained on {report['data']}; mean of {report['images_simulated']} test images; {config['n_pes']} PEs"),
        "report_md": write_text_atomic(folder / "report.md", demo_markdown(report, summary)),
    }
