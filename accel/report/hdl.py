"""The RTL page (``reports/hdl/README.md``): synthesis results and Icarus speed, from the recorded JSON.

Every number on the page comes from ``synthesis.json`` (one entry per tool run, including runs that did
not place or were stopped before routing converged) and ``rtl_speed.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.config import ArchConfig
from accel.arch.files import write_text_atomic
from accel.report.tables import format_table

INTRO = ("The EIE array's Amaranth description, synthesised with yosys and placed and routed with nextpnr (both the "
         "pip-installed yowasp builds). SRAM sizes are shrunk to fit each FPGA (see each row's config); the "
         "activity-counter ports are left out. Fmax is nextpnr's estimate after place and route.")
NOTES = """\
- iCE40: the HX8K in its 256-ball package. The UltraPlus parts come in packages with far fewer pins than
  the load, input and read-out ports need, and the HX8K has no DSP blocks, so each PE's multiplier is
  built from logic cells (the multipliers column is empty).
- ECP5 memories of the "dual-port pointer RAM", "registered write-back", "group read-out select", "group read-out copies" and "timing-driven rip-up" designs, three block RAMs per PE (yosys's netlist of the
  64-PE array): the sparse-matrix lines, one DP16KD (2,048 bytes of 32-bit lines); the even and odd
  pointer banks, one true dual-port DP16KD, the odd bank above the even one, each bank read through
  a port of its own every cycle (loads write through the even bank's port: a PE never loads and
  computes at once); the accumulators, one DP16KD (64 sums of 32 bits, read and written every cycle).
  The codebook, the output register file and the activation FIFO are distributed (LUT) RAM: 4, 16 and
  11 TRELLIS_DPR16X4 cells. Before, each pointer bank took a block RAM of its own (plus one more
  where yosys split a bank), five per PE, which capped the 85F's 208 block RAMs at 41 PEs; the
  broadcast queue's single block RAM holds the non-zero activations for the whole array. Rows marked
  "not converged" were stopped while nextpnr's router still had overused wires (the minimum seen and
  its iteration are recorded).
- Design: rows marked "timing-driven rip-up" are the RTL and flow in the tree: the "group read-out
  copies" design, the same RTL, with nextpnr's router ripping up and rerouting the nets of failing paths
  (`--tmg-ripup`) on the 85F. It acts only where timing fails: seeds 1 and 3 of 64 PEs placed and routed
  exactly as without it (105.6 and 104.0 MHz), seed 2 went from 95.4 to 100.9 MHz, so 64 PEs meet
  100 MHz on all three seeds (31-33 minutes a run, yosys included, three runs sharing two cores). Rows
  marked "group read-out copies" are the "group read-out
  select" design with each group's copy of the place a module of its own (`accel.hdl.rtl.broadcast.Repeater`,
  as the broadcast's copies), so that synthesis keeps the copies apart; their configs add
  `length_register` 1 (accel/arch/TIMING.md, Pointer stage), which registers each column's length once
  more, so the length's carry chain and its compare with zero, the slowest path inside a PE from 16
  PEs on, end in a register instead of running on into the hand-over and the queue's write (a starved
  PE waits one cycle longer for its next column). The 64 PEs were placed and routed twice on each seed:
  first on the RTL as it was before four changes of structure, not of logic (93.1, 100.5 and 103.5 MHz
  on seeds 1, 2 and 3), then on the RTL in the tree (105.6, 95.4 and 104.0 MHz; commit 16a31fe, its
  uncommitted changes outside the RTL); the seed table keeps the latest run of each seed. The changes:
  the PEs take the broadcast as an always-ready stream, the write-back controls come through typed
  copies joined with `wiring.connect`, each PE is built in the stages accel/arch/TIMING.md writes down
  (within its module) and the array's flat top is a shell over a typed core. Yosys's ECP5 netlist of an
  8-PE array kept its flip-flops, carry cells, block RAMs, LUT RAMs and multipliers and gained 33 LUT4s,
  25 PFUMXs and 16 L6MUX21s (about 4 LUT4s per PE). That small a change moved seeds 1 and 2 by 12 and
  5 MHz in opposite directions: at 64 PEs (72 % of the LUTs) the slowest path is wherever the router
  meets congestion, on both slow runs the accumulate loop inside one PE with over 8 ns of routing. Rows marked "group read-out select" are the "registered
  write-back" design with the read-out's groups a power of two of PEs (a PE's group and its place in it
  are bit fields of the PE number, where 32 PEs in groups of 6 divided by 6 on the slowest path) and
  each group's place registered in a copy of its own; same cycle counts. Those copies are registers of
  the array module, and yosys merges registers with the same input, so in the netlist one register
  still drives every group's multiplexer: at 64 PEs it is the slowest path on both seeds run
  (`read_pe2` to a group's register, 9.7 and 10.9 ns of routing). Rows marked "registered
  write-back" are the "dual-port pointer RAM" design with the write-back in two registered steps (ReLU and the range verdicts from the
  accumulator word, then the chosen value into the output LUT RAM), since on both 64-PE seeds of that
  design the slowest path ran from the word through the range check into the LUT RAM's write data.
  Rows marked "dual-port pointer RAM" are the "registered accumulate" design below with both pointer banks in one dual-port block RAM, the broadcast's central
  stages as a fan-out tree of group copies, write-back controls, load writes and read-out addresses
  through a level of group copies, read-out answered through a registered multiplexer per group, and
  the PEs' drained flags gathered by a registered OR tree; same cycle counts. Rows marked "registered
  accumulate" are that earlier RTL. The RTL: pointers
  read as an activation is pushed and registered before the column hand-over, registered broadcast
  with credit flow control (from two stages on, the last stage in each PE; the last central stage
  copied for each group of about sqrt(n) PEs; the credit rule's answer for either outcome of the
  current cycle is registered, so a broadcast only chooses between two registers), MULT18X18D multipliers with their input and output registers, the forwarding choice
  settled a cycle before the add, write-back controls registered in each PE; with
  `pipeline_latency` 10, as in the recorded ECP5 runs, the product and the accumulator's write data
  are registered in the fabric too, so the accumulate loop runs from the forwarding register through
  the adder back into it and neither the DSP block nor the block RAM is in it (accel/arch/TIMING.md);
  sums are kept unsaturated in registers and saturated where used, so the saturation's select starts
  at a register; each PE's activation queue (hdl/rtl/queue.py) writes every arrival into its LUT RAM,
  whether or not the column control takes it at once, so the RAM's write enable does not wait for
  that decision.
  The flow on the ECP5: the PE memories carry yosys's `no_rw_check` (no read ever uses a word written
  in the same cycle, so no read-during-write emulation), yosys keeps the hierarchy (`-noflatten`: the
  PEs' identical registers are not merged into one that drives every PE), and on the 85F each PE's
  block RAMs and multiplier are fixed side by side (hdl/flow/floorplan.py). Rows marked "pipelined" are
  the same RTL and flow with `pipeline_latency` 8, before the credit change: the accumulate loop ran
  from the multiplier's output register through the adder into the block RAM. Rows marked "earlier
  pipelined" are that pipeline before the flow changes (a flat netlist, the bias loads multiplexed
  into the accumulator's write data, one broadcast register for all PEs); rows marked "single-cycle
  hand-over" are the first RTL, whose critical path was the pointer read, the column-length compare
  and the pop it enabled, all in one cycle.
- How the design got here (runs of designs no longer in the tree were not recorded, so no figures are
  given for them): the codebook lookup has its own pipeline stage (pipeline_latency 8), the codebook is
  a small LUT RAM read by the entry's code, and the pointer block RAMs feed registers with nothing in
  between; at 16 PEs the lookup straight into the MULT18X18D's input register (most of the path
  routing to the DSP columns), the lookup in the cycle that picks the entry, and sixteen codebook
  registers behind a mux tree were each slower. Of the flow changes, `no_rw_check`, the floorplan and
  the kept hierarchy each raised Fmax at 16 PEs; the DP16KD's own output register (instantiated
  directly, as yosys cannot use it) made the design slower, because those registers can no longer sit
  next to the logic they feed, and the accumulators in LUT RAM were no faster than block RAM for
  thousands more LUTs. From the "pipelined" design on, each step moved the slowest path: the product
  register alone to the credit rule's count into the broadcast queue's address; the credit answer
  chosen between registers to the accumulate loop into the block RAM; the accumulator write registered
  to the one central broadcast register driving every PE; that register copied per group of PEs to the
  row compares feeding the forwarding choice; the compares registered a cycle early to the queue's LUT
  RAM write enable and the saturation's select; the queue written by every arrival and the sums kept
  unsaturated to the rows above.
- What limits the design in the tree: the critical paths listed above, from the records of its runs."""


def _option(command: str, name: str) -> str | None:
    """The value given to ``name`` on a recorded command line, if any."""
    words = command.split()
    return words[words.index(name) + 1] if name in words[:-1] else None


def synth_command(entry: dict) -> str:
    config = entry["config"]
    target = entry.get("target_mhz") or _option(entry.get("provenance", {}).get("command", ""), "--target-mhz")
    target = f"--target-mhz {float(target):g} " if target else ""
    defaults = ArchConfig().to_dict()
    shown = ["spmat_sram_bytes", "ptr_sram_bytes", "regfile_entries", "broadcast_latency", "pipeline_latency"]
    shown += [name for name in defaults if name not in shown and name not in ("n_pes", "fifo_depth")]
    fields = ", ".join(f"\"{name}\": {config[name]}" for name in shown
                       if name in shown[:3] or config.get(name, defaults[name]) != defaults[name])
    return (f"`accel synth --device {entry['device']} --pes {entry['n_pes']} --fifo {config['fifo_depth']} "
            f"--router {entry['router']} --seed {entry['seed']} {target}--config CFG --record` with CFG = `{{{fields}}}`")


def outcome(entry: dict) -> str:
    if entry["outcome"] == "not converged":
        overuse = entry.get("overuse") or {}
        if "minimum" not in overuse:
            return f"not converged ({entry['message']})"
        at = f" at iteration {overuse['iteration']}" if overuse.get("iteration") else ""
        return f"not converged (fewest overused wires {overuse['minimum']:,}{at}; {entry['message']})"
    return "yes" if entry["fits"] else f"no ({entry['message']})"


CURRENT = "timing-driven rip-up"
"""The label of runs of the RTL and flow in the tree (recorded with each run since labels began)."""
DESIGNS = (CURRENT, "group read-out copies", "group read-out select", "registered write-back", "dual-port pointer RAM", "registered accumulate", "pipelined",
           "earlier pipelined", "single-cycle hand-over")
"""Every design label, newest first."""


def design(entry: dict) -> str:
    """Which RTL a recorded run synthesised: its recorded label, or for the oldest runs the earlier
    RTL's (without a broadcast latency)."""
    return entry.get("design") or ("earlier pipelined" if "broadcast_latency" in entry["config"] else "single-cycle hand-over")


def synthesis_table(entries: list[dict]) -> str:
    rows = []
    for entry in sorted(entries, key=lambda e: (e["device"], e["n_pes"], str(e["router"]), e["seed"])):
        resources = entry["resources"]
        cell = lambda key: f"{resources[key]['used']}/{resources[key]['available']}" if key in resources else "-"  # noqa: E731
        rows.append([entry["device"], entry["n_pes"], design(entry), outcome(entry), cell("luts"), cell("ffs"), cell("brams"),
                     cell("multipliers"), f"{entry['fmax_mhz']:.1f}" if entry["fmax_mhz"] else "-",
                     f"{entry['seconds']:.0f}" if entry["seconds"] else "-", synth_command(entry)])
    return format_table(["device", "PEs", "design", "fits", "LUTs (LCs on iCE40)", "FFs", "block RAMs", "multipliers", "Fmax MHz",
                         "tool s", "command"], rows, markdown=True)


def pes(count: int) -> str:
    """``count`` PEs, in words."""
    return f"{count} PE" if count == 1 else f"{count} PEs"


SEEDS = 3
"""An Fmax claim is the worst over this many placement seeds: one seed's Fmax moves by several MHz."""


def by_seed(routed: list[dict]) -> dict[tuple[str, str, int], dict[int, dict]]:
    """Routed runs by (device, design, PEs), then by placement seed (the latest run of each seed)."""
    groups: dict[tuple[str, str, int], dict[int, dict]] = {}
    for entry in routed:
        groups.setdefault((entry["device"], design(entry), entry["n_pes"]), {})[entry["seed"]] = entry
    return groups


def worst_of_seeds(routed: list[dict]) -> list[dict]:
    """For each (device, design, PEs) routed with ``SEEDS`` seeds or more, its slowest run."""
    return [min(runs.values(), key=lambda entry: entry["fmax_mhz"] or 0)
            for runs in by_seed(routed).values() if len(runs) >= SEEDS]


def largest(routed: list[dict], at_least_mhz: float = 0.0) -> dict | None:
    """The routed run with the most PEs (the fastest among equals); with ``at_least_mhz``, the slowest seed's
    run of the most PEs whose ``SEEDS`` seeds all reach it, if any."""
    if at_least_mhz:
        routed = [entry for entry in worst_of_seeds(routed) if (entry["fmax_mhz"] or 0) >= at_least_mhz]
    return max(routed, key=lambda entry: (entry["n_pes"], entry["fmax_mhz"] or 0)) if routed else None


def largest_on_most_seeds(routed: list[dict], at_least_mhz: float) -> tuple[int, list[int]] | None:
    """The most PEs whose ``SEEDS`` recorded seeds reach ``at_least_mhz`` on a majority, with those seeds."""
    found = []
    for (_, _, count), runs in by_seed(routed).items():
        fast = sorted(seed for seed, entry in runs.items() if (entry["fmax_mhz"] or 0) >= at_least_mhz)
        if len(runs) >= SEEDS and 2 * len(fast) > len(runs):
            found.append((count, fast))
    return max(found) if found else None


def seed_table(entries: list[dict]) -> list[str]:
    """Fmax of every PE count placed and routed with more than one seed, each seed and the worst."""
    rows = []
    for (device, kind, count), runs in sorted(by_seed([e for e in entries if e["fits"]]).items()):
        if len(runs) > 1:
            worst = min(entry["fmax_mhz"] or 0 for entry in runs.values())
            rows.append([device, count, kind, ", ".join(f"{seed}: {runs[seed]['fmax_mhz']:.2f}" for seed in sorted(runs)),
                         f"{worst:.2f}"])
    if not rows:
        return []
    return [f"Fmax over placement seeds (a claim is the worst of {SEEDS} seeds; the table above has every run):", "",
            format_table(["device", "PEs", "design", "Fmax MHz by seed", "worst MHz"], rows, markdown=True), ""]


def largest_routed(entries: list[dict]) -> list[str]:
    """One sentence per device: the largest PE count that routed, and what happened above it."""
    lines = []
    for device, kind in sorted({(entry["device"], design(entry)) for entry in entries}):
        runs = [entry for entry in entries if entry["device"] == device and design(entry) == kind]
        routed = [entry for entry in runs if entry["fits"]]
        if not routed:
            continue
        best = largest(routed)
        above = sorted({entry["n_pes"] for entry in runs if not entry["fits"] and entry["n_pes"] > best["n_pes"]})
        sentence = f"- {device}, {kind} design: {pes(best['n_pes'])} is the largest count that placed and routed"
        if best["fmax_mhz"]:
            sentence += f" ({best['fmax_mhz']:.1f} MHz)"
        top = largest(routed, 100.0)
        most = largest_on_most_seeds(routed, 100.0)
        if most and (not top or most[0] > top["n_pes"]):
            seeds = ", ".join(map(str, most[1]))
            sentence += f"; {pes(most[0])} reached 100 MHz on {len(most[1])} of {SEEDS} seeds ({seeds})"
        if top:
            sentence += (f"; the largest at 100 MHz or more on {SEEDS} seeds is {pes(top['n_pes'])} (worst seed "
                         f"{top['fmax_mhz']:.2f} MHz)")
        elif device.startswith("ecp5"):
            sentence += f"; no count recorded with {SEEDS} seeds reached 100 MHz on all of them"
        if above:
            sentence += f"; {', '.join(map(str, above))} PEs did not place or route in the runs recorded"
        lines.append(sentence + ".")
    return lines


def critical_paths(entries: list[dict], target_mhz: float = 100.0) -> list[str]:
    """nextpnr's slowest path of every pipelined run below ``target_mhz``."""
    lines = []
    for entry in entries:
        path = entry.get("critical_path")
        if design(entry) != CURRENT or not path or not entry["fmax_mhz"] or entry["fmax_mhz"] >= target_mhz:
            continue
        lines.append(f"- {entry['device']}, {pes(entry['n_pes'])} ({entry['fmax_mhz']:.2f} MHz): {path['total_ns']} ns from "
                     f"`{path['from']}` to `{path['to']}` ({path['logic_ns']} ns logic, {path['routing_ns']} ns routing).")
    return ["Critical paths below 100 MHz (nextpnr's report):", "", *lines, ""] if lines else []


def per_pe_budget(entries: list[dict]) -> list[str]:
    """Resources one more PE costs: the difference between the smallest and largest routed pipelined runs."""
    lines = []
    for device in sorted({entry["device"] for entry in entries}):
        runs = sorted((e for e in entries if e["device"] == device and e["fits"] and design(e) == CURRENT),
                      key=lambda e: e["n_pes"])
        if len(runs) < 2 or runs[0]["n_pes"] == runs[-1]["n_pes"]:
            continue
        low, high = runs[0], runs[-1]
        step = high["n_pes"] - low["n_pes"]
        costs = [f"{(high['resources'][key]['used'] - low['resources'][key]['used']) / step:.0f} {label}"
                 for key, label in (("luts", "LUTs"), ("ffs", "flip-flops"), ("brams", "block RAMs"),
                                    ("multipliers", "multipliers")) if key in low["resources"] and key in high["resources"]]
        lines.append(f"- {device}: one PE costs {', '.join(costs)} (from {low['n_pes']} to {high['n_pes']} PEs).")
    return [f"Per-PE budget ({CURRENT} design):", "", *lines, ""] if lines else []


def campaign_lines(campaign: dict | None) -> list[str]:
    """The recorded co-simulation campaign's figures."""
    if not campaign:
        return []
    command = campaign.get("provenance", {}).get("command") or f"accel verify --layers {campaign['layers']} --seed {campaign['seed']} --record"
    return ["## Co-simulation campaign", "", f"Regenerate: `{command}`.", "",
            f"{campaign['layers']:,} random layers on {campaign['configs']} random configs ({campaign['batches']:,} batches, "
            f"{campaign['clock_cycles']:,} clock cycles, {campaign['compute_cycles']:,} of them in compute mode) ran under "
            f"{campaign['simulator']}{_on_commit(campaign)} in {campaign['wall_s']:.0f} s on {campaign.get('workers', 1)} process"
            f"{'es' if campaign.get('workers', 1) > 1 else ''} with {campaign['mismatches']} mismatches in outputs, "
            "cycles, T_issue, stall cycles, broadcasts, line reads, bypasses, busy cycles, pops and pointer reads.", ""]


def _on_commit(campaign: dict) -> str:
    commit = campaign.get("provenance", {}).get("commit")
    return f" on the RTL of commit {commit[:7]}{' with changes' if commit.endswith('+changes') else ''}" if commit else ""


def hdl_markdown(entries: list[dict], speed: list[dict] | None, campaign: dict | None = None) -> str:
    lines = ["# RTL: FPGA synthesis and simulation speed", "", INTRO, "", synthesis_table(entries), "",
             *seed_table(entries), *largest_routed(entries), "", *per_pe_budget(entries), *critical_paths(entries),
             "Notes:", "", NOTES, "", *campaign_lines(campaign)]
    if speed:
        lines += ["## Icarus simulation speed", "", "Regenerate: `accel synth --rtl-speed`.", "",
                  format_table(list(speed[0]), [list(row.values()) for row in speed], markdown=True), ""]
    return "\n".join(lines)


def board_section(builds: list[dict]) -> str:
    """The bitstreams built for boards (``board.json``): the array behind its UART bridge."""
    rows = []
    for build in builds:
        resources = build["resources"]
        cell = lambda key: f"{resources[key]['used']}/{resources[key]['available']}" if key in resources else "-"  # noqa: E731
        config, pll = build["config"], build.get("pll")
        clock = (f"{pll['out_mhz']:g} (PLL from {pll['in_mhz']:g})" if pll else f"{build['clock_mhz']:g} (oscillator)")
        rows.append([build["board"], build["device"], f"{config['n_pes']} x {config['regfile_entries']}",
                     f"{build['baud']} ({build['divisor']} clocks per bit)", cell("luts"), cell("ffs"), cell("brams"),
                     cell("multipliers"), f"{build['fmax_mhz']:.1f}" if build["fmax_mhz"] else "-",
                     f"{clock}, {'met' if build['meets_clock'] else 'NOT met'}",
                     f"{build['bitstream_bytes']:,}", f"`{build['bitstream_sha256'][:16]}`" if build.get("bitstream_sha256") else "-",
                     f"`{build['git_commit'][:12]}`" if build.get("git_commit") else "-",
                     f"`{build['boots_with'][:12]}`" if build.get("boots_with") else "-",
                     " + ".join(f"{v:.0f}" for v in build["seconds"].values()), f"`{build['provenance']['command']}`"])
    table = format_table(["board", "device", "PEs x rows", "baud", "LUTs", "FFs", "block RAMs", "multipliers",
                          "Fmax MHz", "core clock MHz", "bitstream bytes", "bitstream SHA-256", "commit", "boots holding",
                          "tool s (yosys + nextpnr + ecppack)", "command"], rows, markdown=True)
    return "\n".join([
        "## A board: bitstream of the array behind its UART bridge", "",
        "`accel synth --board` builds the array behind its UART host bridge (byte protocol in `hdl/protocol/uart_protocol.py`) "
        "with the board's pins from amaranth-boards, then yosys, nextpnr (router2) and ecppack from pip. The core clock comes "
        "from the ECP5's PLL (its dividers recorded) fed by the board's 25 MHz oscillator; the UART runs at the core clock "
        "divided per bit. Resources and Fmax come from nextpnr's report; each build records its bitstream's SHA-256 and "
        "the git commit it was built from (older rows, built on the oscillator without a PLL, record neither), and the "
        "digest of the layer batch it boots holding (`--layer`; \"-\": empty memories, every batch loaded over the UART). "
        "`accel run MODEL --port DEVICE` runs layers on the loaded board and checks them against the simulator; "
        "its host code is the one `make test` runs against the bridge in Amaranth's simulator, over the simulated line "
        "and over a pseudo-terminal, and the one the gate-level runs below drive. No bitstream recorded here has yet run "
        "on a physical board. The first 64-PE build missed its 100 MHz core clock (64.8 MHz) on the reset alone: one "
        "register of the reset synchroniser drove every flip-flop's synchronous reset across the chip (14.3 ns of "
        "routing to a PE at the far corner), a path the array alone does not have (its reset is a port); an "
        "asynchronously asserted reset made the yowasp build of yosys abort in ABC9 on that design. Since then the "
        "array runs in a clock domain without reset on the core clock: it starts from its configuration values, and "
        "the bridge, held in reset until the PLL locks, sends it nothing before; the 64-PE build then met 100 MHz "
        "(109.0 MHz). The board gate-level test of `make test` boots that way.", "",
        table, ""])


def booted(run: dict, layer: dict) -> bool:
    """Whether a gate-level run's layer booted in the memories (older records hold only the design's boot digest)."""
    return layer.get("booted", bool(run["design"].get("boots_with")))


def gate_level_section(runs: list[dict]) -> str:
    """Gate-level runs of board netlists over their UART pins (``gate_level.json``)."""
    rows = []
    for run in runs:
        design, config = run["design"], run["design"]["config"]
        for layer in run["layers"]:
            rows.append([f"{config['n_pes']} x {config['regfile_entries']}", f"{design['pll']['out_mhz']:g}",
                         f"{design['baud']:,} ({design['divisor']} clocks per bit)", layer["layer"],
                         "booted holding it" if booted(run, layer) else "over the UART", layer["outputs"],
                         f"{layer['array_cycles']:,}", f"{layer['simulator_cycles']:,}",
                         "yes" if not layer["problems"] else "NO", run["simulator"], f"{run['clock_cycles']:,}",
                         f"{run['wall_s']:.0f}", f"`{run['bitstream_sha256'][:16]}`" if run.get("bitstream_sha256") else "-",
                         f"`{run['provenance']['command']}`"])
    table = format_table(["PEs x rows", "core MHz", "baud", "layer", "layer loaded", "outputs", "array cycles", "simulator cycles",
                          "match", "simulator", "core clock cycles simulated", "wall s", "bitstream SHA-256", "command"],
                         rows, markdown=True)
    return "\n".join([
        "## The board's netlist over its UART pins", "",
        "`accel run SOURCE --gate-sim FOLDER --record` runs yosys's ECP5 netlist of a board build (the netlist nextpnr "
        "places, written back as Verilog) with the ECP5 cell models, the PLL's model making the core clock from a 25 MHz "
        "oscillator, under Icarus or Verilator. The host is the code that drives the real board: it loads the layer batch "
        "by batch over the receive pin, sends the inputs, starts the array and reads the outputs and the cycle counter "
        "from the transmit pin, and compares every output and the cycle count with the simulator. \"match\" means all "
        "outputs bit for bit and the cycle count equal. \"wall s\" is the simulation alone: Verilator first spends "
        "about 8 minutes on 2 cores turning the 64-PE netlist (95,000 cells) into C++ and compiling it, with only the "
        "top's pins public (the bench touches nothing else; every net public made 2 GB of C++ that did not finish "
        "compiling), and Icarus had not finished compiling that netlist after 11 CPU-minutes.", "", table, ""])


def write_hdl_page(folder: Path) -> Path:
    synthesis_file = folder / "synthesis.json"
    entries = json.loads(synthesis_file.read_text()) if synthesis_file.exists() else []
    speed_file = folder / "rtl_speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.exists() else None
    campaign_file = folder / "campaign.json"
    campaign = json.loads(campaign_file.read_text()) if campaign_file.exists() else None
    text = hdl_markdown(entries, speed, campaign)
    board_file = folder / "board.json"
    if board_file.exists():
        text += "\n" + board_section(json.loads(board_file.read_text()))
    gate_file = folder / "gate_level.json"
    if gate_file.exists():
        text += "\n" + gate_level_section(json.loads(gate_file.read_text()))
    return write_text_atomic(folder / "README.md", text)
