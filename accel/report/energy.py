"""The energy page (``reports/energy/README.md``) and its plots, from the recorded ``energy.json``."""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.benchmarks import SYNTHETIC_NOTE
from accel.arch.files import write_text_atomic
from accel.explore import energy_studies as studies
from accel.report import plots
from accel.report.commands import regenerate
from accel.report.tables import format_table

COMMAND = "accel energy"
TARGET_POINTS, TARGET_PCT = 5.0, 15.0
PARAMETERS = {"supply_V": "supply voltage", "sram": "SRAM device pair", "small_storage": "small-storage pricing"}


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
    for name in studies.compared_models(comparison):
        series[name if name.startswith(studies.PREVIOUS) else f"{comparison['table_kind']}, {name}"] = [r[f"{name}_pct"] for r in shares]
    groups = list(dict.fromkeys(r["group"] for r in shares))
    plots.grouped_bars(out / "shares.png", parts, series, "% of PE power",
                       "Alex-7 (synthetic stand-in) at 64 PEs, 800 MHz vs Table II: shares of PE power, each panel "
                       f"sums to 100 %\nenergy table: {table_label}",
                       sections=[(f"by {group}", sum(r["group"] == group for r in shares)) for group in groups])
    band = record["band"]["summary"]
    quantities = list(studies.paper_quantities())
    plots.band_plot(out / "band.png", quantities,
                    {reading: [(r["low"], r["nominal"], r["high"]) for r in band if r["reading"] == reading]
                     for reading in studies.READINGS},
                    [next(r["paper"] for r in band if r["quantity"] == q) for q in quantities],
                    "Alex-7 (synthetic stand-in): the predicted energy over the parameters' published ranges",
                    note=f"the chip = Table II's PE and module powers, 0.59 W x 12.2 us per inference; {band_note(record)}; "
                         f"{SYNTHETIC_NOTE}")
    xs = list(studies.SRAM_WIDTHS)
    pick = lambda key, name: [r[key] for r in widths if r["layer"] == name]  # noqa: E731
    relative = {}
    for rule, key in studies.WIDTH_RULES.items():
        for name in names:
            values = pick(key, name)
            relative[f"{name} | {rule}"] = [v / values[xs.index(64)] for v in values]
    plots.panels(out / "sram_width.png", xs, [
        ("sparse-matrix line reads (per inference)",
         {f"{name} | {rule}": pick("line_reads" if rule == "lines reused" else "what_if_no_line_reuse_reads", name)
          for rule in studies.WIDTH_RULES for name in names}),
        ("energy per read (pJ)", {"128 KB SRAM": pick("pJ_per_read", names[0])}),
        ("total read energy / at 64 bits", relative),
    ], "sparse-matrix SRAM width (bits)",
        "Sparse-matrix SRAM width: reads x energy per read, under both line-read rules (solid: lines reused; "
        "dashed: every column reads its first line)", note=f"{SYNTHETIC_NOTE}; energy per read: {table_label}")
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
            note=f"energy table: {table_label}", dots=("test accuracy (%)",))


def band_note(record: dict) -> str:
    band = record["band"]
    return (f"band: supply {' / '.join(f'{v:g}' for v in band['voltages'])} V x SRAM devices "
            f"({'; '.join(band['devices'])}) x small storage as flip-flops or at the register-file energy")


def device_section(record: dict) -> list[str]:
    """The CACTI device pairs for the 128 KB sparse-matrix SRAM, when ``cacti/devices.csv`` was recorded."""
    devices = record.get("cacti_devices")
    if not devices:
        return []
    return [
        "",
        "**Leakage** keeps the device rule fixed before any comparison: the lowest-leakage CACTI pair whose 128 KB array "
        "reads within one 1.25 ns cycle (EIE reads its SRAMs in one pipeline stage at 800 MHz). It is reported as its own "
        "reading (*with leakage*), never folded into *dynamic only*. CACTI 7, 45 nm, at the sources' own supplies "
        "(`cacti/devices.sh`):",
        "",
        format_table(["bit cells", "periphery", "read pJ (64 bits)", "of it bit lines pJ", "leakage mW", "access ns",
                      "fits one cycle"],
                     [[d["cell_type"], d["peripheral_type"], 1000 * float(d["read_nJ"]), 1000 * float(d["read_bitlines_nJ"]),
                       float(d["leakage_mW"]), float(d["access_ns"]), d["fits_one_800MHz_cycle"]] for d in devices],
                     markdown=True),
    ]


def _target(value: float, limit: float) -> str:
    return "met" if abs(value) <= limit else "not met"


def _within(rows: list[dict], key: str) -> tuple[list[str], list[str]]:
    inside = [r["part"] for r in rows if abs(r[key]) <= TARGET_POINTS]
    outside = [f"{r['part']} ({r[key]:+.1f})" for r in rows if abs(r[key]) > TARGET_POINTS]
    return inside, outside


def outcome_section(record: dict) -> list[str]:
    """The targets, the band and the structure check in a few lines, every number from the record."""
    comparison = record["alex7"]
    shares, metric = studies.share_rows(comparison), {r["metric"]: r for r in studies.metric_rows(comparison)}
    module_rows = [r for r in shares if r["group"] == "module"]
    lines = ["## Outcome", ""]
    for m in (*comparison["models"], *(f"{studies.PREVIOUS}, {name}" for name in comparison["previous"]["models"])):
        inside, outside = _within(module_rows, f"{m}_points")
        energy, power = metric["energy_uJ"], metric["power_per_pe_mW"]
        lines.append(
            f"- {m if m.startswith(studies.PREVIOUS) else f'at the fixed rules, {m}'}: {energy[m]:.2f} uJ per inference "
            f"(chip {energy['paper']:.2f}, {energy[f'{m}_difference_pct']:+.0f} %), {power[m]:.2f} mW per PE "
            f"(Table II {power['paper']:.3f}, {power[f'{m}_difference_pct']:+.0f} %): "
            f"{'within' if max(abs(energy[f'{m}_difference_pct']), abs(power[f'{m}_difference_pct'])) <= TARGET_PCT else 'not within'} "
            f"{TARGET_PCT:g} %; {len(inside)} of {len(module_rows)} module shares within {TARGET_POINTS:g} points"
            + (f" (outside: {', '.join(outside)})" if outside else "") + ".")
    dynamic, leaking = (comparison["models"][reading]["metrics"] for reading in studies.READINGS)
    lines.append(f"- Leakage, its own line: CACTI's SRAM leakage at the fixed rules adds "
                 f"{leaking['power_per_pe_mW'] - dynamic['power_per_pe_mW']:.2f} mW per PE "
                 f"({leaking['energy_uJ'] - dynamic['energy_uJ']:.2f} uJ per Alex-7 inference); *dynamic only* leaves it out.")
    for reading in studies.READINGS:
        rows = [r for r in record["band"]["summary"] if r["reading"] == reading]
        inside = [r["quantity"].split(" (")[0] for r in rows if r["paper_inside"]]
        outside = [r["quantity"].split(" (")[0] for r in rows if not r["paper_inside"]]
        lines.append(f"- Band, {reading}: the chip inside for {len(inside)} of {len(rows)} quantities"
                     + (f" ({', '.join(inside)})" if inside else "") + (f"; outside: {', '.join(outside)}" if outside else "")
                     + ".")
    for reading, check in record["structure"].items():
        inside = [r for r in check["modules"] if abs(r["calibrated_points"]) <= TARGET_POINTS]
        lines.append(f"- Structure check, {reading}: fitted to the four type rows, {len(inside)} of {len(check['modules'])} "
                     "module shares within 5 points (" + ", ".join(f"{r['module']} {r['calibrated_points']:+.1f}"
                                                                  for r in check["modules"]) + ").")
    spans = [r for r in record["band"]["spans"] if r["reading"] == "dynamic only" and r["quantity"].startswith(
        tuple(studies.PE_MODULES))]
    moved = {parameter: [r["quantity"].split(" (")[0] for r in spans if r["parameter"] == parameter and r["high"] > 1.01 * r["low"]]
             for parameter in record["band"]["nominal"]}
    lowest = [r["quantity"].split(" (")[0] for r in record["band"]["summary"]
              if r["reading"] == "dynamic only" and r["nominal"] <= r["low"] * (1 + 1e-9)]
    terms = {t["name"]: t for t in comparison["models"]["dynamic only"]["energy"]["terms"]}
    read, write = terms["destination register read"], terms["destination register write"]
    lines += [
        "",
        "Why, from the band and the structure check: the supply voltage scales every dynamic term together and the "
        f"table's {record['table']['supply_V']:g} V is the lowest of its range; dynamic only, the fixed rules give the "
        "band's lowest point for " + (", ".join(lowest) or "no quantity") + ". The SRAM device pair moves "
        + (", ".join(moved["sram"]) or "no module")
        + "; the small-storage pricing moves " + (", ".join(moved["small_storage"]) or "no module")
        + ". A module whose chip value lies below the band is one that no combination of the three parameters makes as "
        "cheap as the chip: what it costs then comes from the terms the band holds fixed (Horowitz's arithmetic, the "
        "Nangate cells' energies, the counted activity). The structure check fits each circuit type's level to Table II; "
        "the misses it leaves are in how the model attributes a type's power to modules. The destination register file "
        f"({read['storage'].split(': ', 1)[1]}) costs {read['pJ']:.2f} pJ per read and {write['pJ']:.2f} pJ per write at "
        f"the fixed rules, and is read and written once per issued entry.",
        "",
    ]
    return lines


def rules_section(record: dict, comparison: dict) -> list[str]:
    table = record["table"]
    storages = sorted({term["storage"] for term in comparison["models"]["dynamic only"]["energy"]["terms"] if term["storage"]})
    return [
        "## The rules, fixed before the comparison",
        "",
        f"**One supply voltage.** {table['rules']['supply voltage']}",
        "",
        f"**Small storage by its implementation.** {table['rules']['small storage']} The storages at the chip's config: "
        + "; ".join(storages) + ".",
        *device_section(record),
        "",
        f"The table at {table['supply_V']:g} V: every entry as its source published it, the voltage it was published at, "
        "the scaling applied and the energy the model uses (`table_entries.csv`).",
        "",
        format_table(["entry", "published pJ", "source V", "scaling", "pJ at the supply", "source"],
                     [[r["entry"], r["published_pJ"], r["source_voltage_V"], f"{r['scaling']:.3f}", r["pJ_at_supply"],
                       r["source"].split(",")[0]] for r in table["entries"]], markdown=True),
    ]


def comparison_section(comparison: dict) -> list[str]:
    shares, metrics = studies.share_rows(comparison), studies.metric_rows(comparison)
    kind, models = comparison["table_kind"], list(comparison["models"])
    previous = [name for name in studies.compared_models(comparison) if name not in models]
    metric = {r["metric"]: r for r in metrics}
    module_rows = [r for r in shares if r["group"] == "module"]
    lines = [
        "## Alex-7 against Table II, like for like",
        "",
        "*Dynamic only* leaves leakage out; *with leakage* adds CACTI's SRAM leakage for every PE-cycle. Beside them, "
        f"the previous rules ({comparison['previous']['table'].split(': ', 1)[1]}), recomputed from the same activity.",
        "",
        format_table(["metric", "paper (chip)", *[f"{kind}, {m}" for m in models], *previous,
                      *[f"difference, {m}" for m in models], *[f"difference, {m}" for m in previous]],
                     [[r["metric"], r["paper"], *[r[m] for m in models], *[r[m] for m in previous],
                       *[f"{r[f'{m}_difference_pct']:+.0f} %" for m in (*models, *previous)]] for r in metrics],
                     markdown=True),
        "",
        "Energy per inference = energy of one Alex-7 pass; the paper's is 0.59 W x 12.2 us. Power per PE = energy / "
        "(64 x simulated latency), against Table II's 9.157 mW. Energy per peak operation = power / (64 x 800 MHz x 2), "
        "the chip's 5.8 pJ. `pJ_per_pe_cycle` = energy / (64 x cycles), the chip's 9.157 mW / 800 MHz.",
        "",
        format_table(["Table II part", "paper %", *[f"{m} %" for m in models], *[f"{m} %" for m in previous],
                      *[f"{m}: points" for m in models], "paper mW per PE", *[f"{m}: mW per PE" for m in models]],
                     [[f"{r['group']}: {r['part']}", r["paper_pct"], *[r[f"{m}_pct"] for m in (*models, *previous)],
                       *[f"{r[f'{m}_points']:+.1f}" for m in models], r["paper_mW"], *[r[f"{m}_mW"] for m in models]]
                      for r in shares], markdown=True),
        "",
        "![shares](shares.png)",
        "",
        "### Targets",
        "",
    ]
    for m in (*models, *previous):
        inside, outside = _within(module_rows, f"{m}_points")
        lines.append(
            f"- {m if m in previous else f'{kind}, {m}'}: module shares within {TARGET_POINTS:g} points: "
            f"{len(inside)} of {len(module_rows)}" + (f" (outside: {', '.join(outside)})" if outside else "") + "; "
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
        "leakage of all its cycles. Every term (activity, pJ per action, module, type and the storage it prices, with "
        "its implementation) is under `alex7` in `energy.json`, from which any total here can be recomputed.",
        "",
    ]
    return lines


def band_section(record: dict) -> list[str]:
    band = record["band"]
    summary = band["summary"]
    lines = [
        "## Uncertainty band",
        "",
        f"The same activity priced at every combination of the parameters the papers do not publish, over their "
        f"published ranges: supply voltage {' / '.join(f'{v:g}' for v in band['voltages'])} V (the table's sources span "
        f"0.9 to 1.1 V); every CACTI device pair whose 128 KB array reads within the cycle ({'; '.join(band['devices'])}); "
        f"small storage as flip-flops or at Horowitz's register-file energy: {len(band['points']) // len(studies.READINGS)} "
        "tables, both readings (`band_points.csv`). The nominal prediction is the table at its fixed rules.",
        "",
        format_table(["reading", "quantity", "band low", "predicted (fixed rules)", "band high", "the chip", "chip inside"],
                     [[r["reading"], r["quantity"], r["low"], r["nominal"], r["high"], r["paper"],
                       "yes" if r["paper_inside"] else "no"] for r in summary], markdown=True),
        "",
        "![band](band.png)",
        "",
    ]
    for reading in studies.READINGS:
        rows = [r for r in summary if r["reading"] == reading]
        inside = [r["quantity"] for r in rows if r["paper_inside"]]
        below = [r["quantity"] for r in rows if r["paper"] < r["low"]]
        above = [r["quantity"] for r in rows if r["paper"] > r["high"]]
        lines.append(f"- {reading}: the chip's value lies inside the band for {len(inside)} of {len(rows)} quantities"
                     + (f"; below the band's lowest point: {', '.join(below)}" if below else "")
                     + (f"; above its highest: {', '.join(above)}" if above else "") + ".")
    spans = band["spans"]
    quantities = [q for q in studies.paper_quantities() if q != "energy per inference (uJ)"]
    lines += [
        "",
        "Each parameter alone (the others at the fixed rules), low to high:",
        "",
        format_table(["reading", "parameter", *quantities],
                     [[reading, PARAMETERS[parameter], *[_span(spans, parameter, reading, q) for q in quantities]]
                      for reading in studies.READINGS for parameter in band["nominal"]], markdown=True),
        "",
    ]
    return lines


def _span(spans: list[dict], parameter: str, reading: str, quantity: str) -> str:
    row = next(r for r in spans if r["parameter"] == parameter and r["reading"] == reading and r["quantity"] == quantity)
    return f"{row['low']:.3g} - {row['high']:.3g}"


def structure_section(record: dict) -> list[str]:
    lines = [
        "## Structure check",
        "",
        "A calibrated reading of the prediction: one factor per circuit type (memory, register, combinational, clock), "
        "each the ratio of Table II's type row to the predicted power of that type, applied to every term of that type. "
        "It is fitted to the four type rows only and compared with the five module rows, which it was not fitted to: if "
        "the counted activity and its attribution to modules are right, the module shares follow once each type's level "
        "is right (`structure.csv`).",
        "",
    ]
    for reading, check in record["structure"].items():
        modules = check["modules"]
        inside = [r["module"] for r in modules if abs(r["calibrated_points"]) <= TARGET_POINTS]
        worst = max(modules, key=lambda r: abs(r["calibrated_points"]))
        parts = ", ".join(f"{kind} {mw:.2f}" for kind, mw in worst["calibrated_by_type_mW"].items() if mw > 0)
        lines += [
            f"**{reading}**: factors " + ", ".join(f"{kind} x{factor:.3g}" for kind, factor in check["factors"].items())
            + f"; after the fit {len(inside)} of {len(modules)} module shares lie within {TARGET_POINTS:g} points "
            f"(largest miss: {worst['module']}, {worst['calibrated_points']:+.1f} points; its calibrated "
            f"{worst['calibrated_mW']:.2f} mW against the chip's {worst['paper_mW']:.2f}: {parts} mW).",
            "",
            format_table(["module", "paper %", "predicted %", "calibrated %", "calibrated: points", "paper mW",
                          "calibrated mW"],
                         [[r["module"], r["paper_pct"], r["predicted_pct"], r["calibrated_pct"],
                           f"{r['calibrated_points']:+.1f}", r["paper_mW"], r["calibrated_mW"]] for r in modules],
                         markdown=True),
            "",
        ]
    return lines


def width_section(record: dict) -> list[str]:
    widths = record["sram_width"]
    alex7 = [r for r in widths if r["layer"] == "Alex-7"]
    rules = studies.width_rule_rows(widths)
    names = list(dict.fromkeys(r["layer"] for r in widths))
    by = {(r["rule"], r["layer"]): r for r in rules}
    lines = [
        "## Sparse-matrix SRAM width (32-512 bits), both line-read rules",
        "",
        "Each width is a separate simulation; energy per read is the table's 128 KB SRAM at that width. Two line-read "
        "rules: *lines reused* is what the simulator counts (a PE skips reading the line it read last, as the timing "
        "rules allow, so consecutive columns that share a line read it once); *first line re-read* is a what-if in which "
        "every column reads the lines it spans, its first line again included.",
        "",
        format_table(["width", "reads, lines reused", "reads, first line re-read", "pJ per read", "uJ, lines reused",
                      "uJ, first line re-read"],
                     [[r["width_bits"], r["line_reads"], r["what_if_no_line_reuse_reads"], r["pJ_per_read"],
                       r["read_energy_uJ"], r["what_if_no_line_reuse_uJ"]] for r in alex7], markdown=True),
        "",
        "Per layer: the cheapest width, and how much more total read energy the paper's 64-bit choice costs "
        "(`sram_width_rules.csv`):",
        "",
        format_table(["layer", *[f"{rule}: {what}" for rule in studies.WIDTH_RULES for what in ("cheapest", "64 bits costs")]],
                     [[name, *[value for rule in studies.WIDTH_RULES
                               for value in (f"{by[rule, name]['best_width_bits']} bits",
                                             f"+{by[rule, name]['64_bit_excess_pct']:.1f} % (rank "
                                             f"{by[rule, name]['64_bit_rank']} of {len(studies.SRAM_WIDTHS)})")]]
                      for name in names],
                     markdown=True),
        "",
    ]
    for rule in studies.WIDTH_RULES:
        mine = [by[rule, name] for name in names]
        at_64 = [r["layer"] for r in mine if r["best_width_bits"] == 64]
        lines.append(f"- {rule}: 64 bits is the cheapest width on {len(at_64)} of {len(mine)} layers"
                     + (f" ({', '.join(at_64)})" if at_64 else "")
                     + f"; on any layer it costs at most {max(r['64_bit_excess_pct'] for r in mine):.1f} % more than the "
                     "cheapest width.")
    lines += [
        "",
        f"From 64 to 512 bits the lines-reused reads of Alex-7 fall x{alex7[1]['line_reads'] / alex7[-1]['line_reads']:.1f} "
        f"and the first-line re-read reads x{alex7[1]['what_if_no_line_reuse_reads'] / alex7[-1]['what_if_no_line_reuse_reads']:.1f}, "
        f"while the energy per read of the 128 KB array grows x{alex7[-1]['pJ_per_read'] / alex7[1]['pJ_per_read']:.1f}. "
        "For 64 bits to be the cheapest width, the energy per read must grow faster than the reads fall above 64 bits, "
        "and slower below.",
        "",
        "![width](sram_width.png)",
        "",
    ]
    return lines


def readme(record: dict) -> str:
    """The page's Markdown: every number comes from ``record`` (``energy.json``)."""
    comparison, pes, precision = record["alex7"], record["pe_padding"], record["precision"]
    names, counts, table, table_v = record["layers"], record["pe_counts"], record["table"], record["table_v"]
    kind = comparison["table_kind"]
    lines = [
        "# Energy model vs the EIE chip, and the paper's design-space studies",
        "",
        regenerate(record, COMMAND, "writes this folder in a few minutes; `--quick` for fewer sweep points",
                   f"quick: the sweeps cover {' and '.join(names)} at {len(counts)} PE counts; `{COMMAND}` covers "
                   "all nine layers")
        + f" Energy table: **{table['label']}** (`accel/arch/energy_45nm.json`; kind **{kind}**: "
        + ("every number from a published source, nothing fitted to the paper" if kind == "predicted"
           else f"calibrated, fit: {table['fit']}") + "). SRAM numbers are CACTI 7 runs made by "
        "`reports/energy/cacti/run.sh` (device choice and configs there).",
        "",
        f"**Workload: synthetic** ({SYNTHETIC_NOTE}). The chip's config: 64 PEs, 800 MHz, FIFO 8, 64-bit sparse-matrix "
        f"lines, 16-bit destination registers (`acc_bits=16`; every Alex-7 output equals the 32-bit-accumulator run's: "
        f"{'yes' if comparison['outputs_equal_with_32_bit_accumulators'] else 'no'}).",
        "",
        *outcome_section(record),
        *rules_section(record, comparison),
        "",
        *comparison_section(comparison),
        *band_section(record),
        *structure_section(record),
        *width_section(record),
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
    lines += ["Files: `energy.json` (the record this page is rendered from, every energy term with its activity), "
              "`metrics.csv`, `shares.csv`, `table_entries.csv`, `band.csv`, `band_points.csv`, `structure.csv`, "
              "`sram_width.csv`, `sram_width_rules.csv`, `pe_padding.csv`, `table_v.csv`"
              + (", `precision.csv`" if precision is not None else "") + ".", ""]
    return "\n".join(lines)
