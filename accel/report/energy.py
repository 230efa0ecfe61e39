"""The energy page (``reports/energy/README.md``) and its plots, from the recorded ``energy.json``."""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.benchmarks import SYNTHETIC_NOTE
from accel.arch.files import write_text_atomic
from accel.explore import energy_studies as studies
from accel.report import plots
from accel.report.tables import format_table

COMMAND = "accel energy"
TARGET_POINTS, TARGET_PCT = 5.0, 15.0


def write_energy_pages(folder: Path) -> Path:
    """Render the plots and README.md of an ``accel energy`` folder from its ``energy.json``."""
    record = json.loads((folder / "energy.json").read_text())
    figures(folder, record)
    return write_text_atomic(folder / "README.md", readme(record))


def figures(out: Path, record: dict) -> None:
    comparison, widths, pes, precision = record["alex7"], record["sram_width"], record["pe_padding"], record["precision"]
    names, counts, table_label = record["layers"], record["pe_counts"], record["table"]["label"]
    shares = studies.share_rows(comparison)
    parts = [r["part"] for r in shares]
    series = {"paper (Table II)": [r["paper_pct"] for r in shares]}
    for name in comparison["models"]:
        series[f"{comparison['table_kind']}, {name}"] = [r[f"{name}_pct"] for r in shares]
    plots.grouped_bars(out / "shares.png", parts, series, "% of PE power",
                       "Alex-7 (synthetic stand-in) at 64 PEs, 800 MHz vs Table II: shares by module (first five) "
                       f"and by type (last four)\nenergy table: {table_label}")
    xs = list(studies.SRAM_WIDTHS)
    pick = lambda key, name: [r[key] for r in widths if r["layer"] == name]  # noqa: E731
    base = {name: pick("read_energy_uJ", name)[xs.index(64)] for name in names}
    plots.panels(out / "sram_width.png", xs, [
        ("sparse-matrix line reads (per inference)", {name: pick("line_reads", name) for name in names}),
        ("energy per read (pJ)", {"128 KB SRAM": pick("pJ_per_read", names[0])}),
        ("total read energy / at 64 bits", {name: [v / base[name] for v in pick("read_energy_uJ", name)] for name in names}),
    ], "sparse-matrix SRAM width (bits)", "Sparse-matrix SRAM width: reads x energy per read",
        note=f"{SYNTHETIC_NOTE}; energy per read: {table_label}")
    plots.panels(out / "pe_padding.png", list(counts), [
        ("padding entries (% of real entries)", {name: [r["padding_pct_of_real"] for r in pes if r["layer"] == name] for name in names}),
        ("ALU load efficiency (busy / total)", {name: [r["load_efficiency"] for r in pes if r["layer"] == name] for name in names}),
    ], "processing elements", "Padding and load balance vs PEs (register files sized for one batch)", note=SYNTHETIC_NOTE)
    if precision is not None:
        labels = [r["format"] for r in precision]
        plots.panels_bars(out / "precision.png", labels, [
            ("test accuracy (%)", [r["accuracy_pct"] for r in precision]),
            ("energy of one multiply (pJ)", [r["multiply_pJ"] for r in precision]),
        ], "LeNet-300-100 (compressed, 4-bit shared weights) on Fashion-MNIST: precision vs accuracy and multiplier energy",
            note=f"energy table: {table_label}")


def device_section(record: dict) -> list[str]:
    """The CACTI device pairs for the 128 KB sparse-matrix SRAM, when ``cacti/devices.csv`` was recorded."""
    devices = record.get("cacti_devices")
    if not devices:
        return []
    return [
        "",
        "The SRAM device pair was chosen by a rule fixed before any comparison: the lowest-leakage pair whose 128 KB "
        "array reads within one 1.25 ns cycle (EIE reads its SRAMs in one pipeline stage at 800 MHz). CACTI 7, 45 nm, "
        "`cacti/devices.sh`:",
        "",
        format_table(["bit cells", "periphery", "read pJ (64 bits)", "leakage mW", "access ns", "fits one cycle"],
                     [[d["cell_type"], d["peripheral_type"], 1000 * float(d["read_nJ"]), float(d["leakage_mW"]),
                       float(d["access_ns"]), d["fits_one_800MHz_cycle"]] for d in devices], markdown=True),
    ]


def _target(value: float, limit: float) -> str:
    return "met" if abs(value) <= limit else "not met"


def readme(record: dict) -> str:
    """The page's Markdown: every number comes from ``record`` (``energy.json``)."""
    comparison, widths, pes, precision = record["alex7"], record["sram_width"], record["pe_padding"], record["precision"]
    names, counts, table, table_v = record["layers"], record["pe_counts"], record["table"], record["table_v"]
    shares, metrics = studies.share_rows(comparison), studies.metric_rows(comparison)
    kind = comparison["table_kind"]
    models = list(comparison["models"])
    metric = {r["metric"]: r for r in metrics}
    module_rows = [r for r in shares if r["group"] == "module"]
    minima = studies.width_minima(widths)
    no_reuse_minima = studies.width_minima([{**r, "read_energy_uJ": r["what_if_no_line_reuse_uJ"]} for r in widths])
    alex7 = [r for r in widths if r["layer"] == "Alex-7"]
    no_reuse = {(r["layer"], r["width_bits"]): r["what_if_no_line_reuse_uJ"] for r in widths}
    no_reuse_gap = max(100 * (no_reuse[layer, 64] / no_reuse[layer, width] - 1) for layer, width in no_reuse_minima.items())
    lines = [
        "# Energy model vs the EIE chip, and the paper's design-space studies",
        "",
        f"Regenerate: `{COMMAND}` (writes this folder in a few minutes; `--quick` for fewer sweep points). Energy "
        f"table: **{table['label']}** (`accel/arch/energy_45nm.json`; kind **{kind}**: "
        + ("every number from a published source, nothing fitted to the paper" if kind == "predicted"
           else f"calibrated, fit: {table['fit']}") + "). SRAM numbers are CACTI 7 runs made by "
        "`reports/energy/cacti/run.sh` (device choice and configs there).",
        "",
        f"**Workload: synthetic** ({SYNTHETIC_NOTE}). The chip's config: 64 PEs, 800 MHz, FIFO 8, 64-bit sparse-matrix "
        f"lines, 16-bit destination registers (`acc_bits=16`; every Alex-7 output equals the 32-bit-accumulator run's: "
        f"{'yes' if comparison['outputs_equal_with_32_bit_accumulators'] else 'no'}).",
        "",
        "## Alex-7 against Table II, like for like",
        "",
        "Two readings of the same table: *with leakage* adds CACTI's SRAM leakage for every PE-cycle; *dynamic only* "
        "leaves it out. CACTI's leakage depends on the device choice, which spans four orders of magnitude for the same "
        "array (table below); the chip's foundry SRAM is not public.",
        *device_section(record),
        "",
        format_table(["metric", "paper (chip)", *[f"{kind}, {m}" for m in models], *[f"difference, {m}" for m in models]],
                     [[r["metric"], r["paper"], *[r[m] for m in models], *[f"{r[f'{m}_difference_pct']:+.0f} %" for m in models]]
                      for r in metrics], markdown=True),
        "",
        "Energy per inference = energy of one Alex-7 pass; the paper's is 0.59 W x 12.2 us. Power per PE = energy / "
        "(64 x simulated latency), against Table II's 9.157 mW. Energy per peak operation = power / (64 x 800 MHz x 2), "
        "the chip's 5.8 pJ. `pJ_per_pe_cycle` = energy / (64 x cycles), the chip's 9.157 mW / 800 MHz.",
        "",
        format_table(["Table II part", "paper %", *[f"{m} %" for m in models], *[f"{m}: points" for m in models],
                      "paper mW per PE", *[f"{m}: mW per PE" for m in models]],
                     [[f"{r['group']}: {r['part']}", r["paper_pct"], *[r[f"{m}_pct"] for m in models],
                       *[f"{r[f'{m}_points']:+.1f}" for m in models], r["paper_mW"], *[r[f"{m}_mW"] for m in models]]
                      for r in shares], markdown=True),
        "",
        "![shares](shares.png)",
        "",
        "### Targets",
        "",
    ]
    for m in models:
        within = [r["part"] for r in module_rows if abs(r[f"{m}_points"]) <= TARGET_POINTS]
        outside = [f"{r['part']} ({r[f'{m}_points']:+.1f})" for r in module_rows if abs(r[f"{m}_points"]) > TARGET_POINTS]
        lines.append(
            f"- {kind}, {m}: module shares within {TARGET_POINTS:g} points: {len(within)} of {len(module_rows)}"
            + (f" (outside: {', '.join(outside)})" if outside else "") + "; "
            f"power per PE {metric['power_per_pe_mW'][f'{m}_difference_pct']:+.0f} % "
            f"({_target(metric['power_per_pe_mW'][f'{m}_difference_pct'], TARGET_PCT)}, target within {TARGET_PCT:g} %); "
            f"energy per inference {metric['energy_uJ'][f'{m}_difference_pct']:+.0f} % "
            f"({_target(metric['energy_uJ'][f'{m}_difference_pct'], TARGET_PCT)}).")
    for m in models:
        gaps = sorted(shares, key=lambda r: -abs(r[f"{m}_mW"] - r["paper_mW"]))[:3]
        lines.append(f"- {m}, largest gaps in mW per PE: " + ", ".join(
            f"{r['group']} {r['part']} {r[f'{m}_mW']:.2f} vs {r['paper_mW']:.2f}" for r in gaps) + ".")
    lines += [
        "",
        "The simulated latency is part of every comparison: the model's per-inference energy includes the clock and "
        "leakage of all its cycles. Where the shares miss: see the term list under `alex7` in `energy.json` (activity, pJ per action, "
        "module and type of every term), from which any total here can be recomputed.",
        "",
        "## Sparse-matrix SRAM width (32-512 bits)",
        "",
        "Each width is a separate simulation (line reads are counted by the simulator); energy per read is the table's "
        "128 KB SRAM at that width.",
        "",
        format_table(["width", "line reads", "pJ per read", "read energy uJ", "what-if: no line reuse, reads",
                      "what-if: no line reuse, uJ"],
                     [[r["width_bits"], r["line_reads"], r["pJ_per_read"], r["read_energy_uJ"],
                       r["what_if_no_line_reuse_reads"], r["what_if_no_line_reuse_uJ"]] for r in alex7], markdown=True),
        "",
        "Minimum of the total read energy per layer: "
        + ", ".join(f"{layer} {width} bits" for layer, width in minima.items())
        + ". The paper's minimum is at 64 bits. "
        + ("Here it is not, for two reasons the Alex-7 table shows: (1) the timing rules let a PE skip the read of a "
           "line it has just read, and with wide lines consecutive broadcast columns often share a line, so from 64 to "
           "512 bits the reads fall x{:.1f}; (2) CACTI's energy per read of a 128 KB array grows only x{:.1f} over the "
           "same range. Without line reuse (what-if columns: every column re-reads its first line; not what the "
           "simulator counts) the minima fall at: ".format(alex7[1]["line_reads"] / alex7[-1]["line_reads"],
                                                           alex7[-1]["pJ_per_read"] / alex7[1]["pJ_per_read"])
           + ", ".join(f"{layer} {width} bits" for layer, width in no_reuse_minima.items())
           + f"; there 64 bits costs at most {no_reuse_gap:.0f} % more than the minimum on any layer."
           if any(width != 64 for width in minima.values()) else ""),
        "",
        "![width](sram_width.png)",
        "",
        "## Padding entries and ALU load efficiency vs PEs",
        "",
        "Register files sized so each layer runs as one batch (`regfile_entries = ceil(rows / PEs)`).",
        "",
        format_table(["layer"] + [f"{c} PEs: padding %, efficiency" for c in counts],
                     [[name] + [f"{r['padding_pct_of_real']:.1f} %, {r['load_efficiency']:.2f}" for r in pes if r["layer"] == name]
                      for name in names], markdown=True),
        "",
        "Padding % = padding entries / real (non-zero) entries. More PEs give each PE fewer rows, hence shorter runs of "
        "zeros and less padding, and worse load balance, as in the paper.",
        "",
        "![pes](pe_padding.png)",
        "",
        "## Table V: the EIE row",
        "",
        format_table(["platform", "frames/s", "power W", "frames/J", "source"],
                     [[r["platform"], r["frames_per_s"], r["power_W"], r["frames_per_J"], r["source"]] for r in table_v],
                     markdown=True),
        "",
        "Alex-7, batch 1. The simulated rows use the simulated latency and the energy model; the measured rows are the "
        "torch baselines of `accel report` on this machine (no power measurement, so no frames/J).",
        "",
    ]
    if precision is not None:
        lines += [
            "## Arithmetic precision vs accuracy and multiplier energy",
            "",
            f"`{record['model']}` (the project's compressed LeNet-300-100, 4-bit shared weights), all 10,000 test images of "
            f"`{record['data_dir']}`. Integer bits fixed on the training set (`accel/explore/precision.py`): activations "
            f"{precision[0]['activation_integer_bits']}, weights {precision[0]['weight_integer_bits']} (sign included).",
            "",
            format_table(["format", "accuracy %", "loss vs float (points)", "activation frac bits", "weight frac bits",
                          "multiply pJ"],
                         [[r["format"], r["accuracy_pct"], f"{r['accuracy_loss_points']:+.2f}", r["act_frac"], r["weight_frac"],
                           r["multiply_pJ"]] for r in precision], markdown=True),
            "",
            "The paper (AlexNet): 16-bit fixed point loses about 0.5 % against 32-bit float, 8-bit much more. Here the "
            "weights are already 4-bit shared values, so the weight format barely matters and a small network loses "
            "little even at 8 bits.",
            "",
            "![precision](precision.png)",
            "",
        ]
    lines += ["Files: `energy.json` (the record this page is rendered from, every energy term with its activity), `metrics.csv`, `shares.csv`, `sram_width.csv`, "
              "`pe_padding.csv`, `table_v.csv`" + (", `precision.csv`" if precision is not None else "") + ".", ""]
    return "\n".join(lines)
