"""The user-models page: models written without this tool in mind, compressed and run on EIE with real data.

Rendered from each model folder's records: ``summary.json`` (``accel compress --model``) and
``eie_on_data.json`` (``accel simulate MODEL --data DIR --out``).
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.files import write_text_atomic
from accel.report.tables import format_table, partition_rows

RECORD = "eie_on_data.json"
ORIGINS = {"traced": "traced by torch.fx", "exported": "traced by running the model, torch.export",
           "declared": "declared as a chain", "assumed": "assumed to be a chain"}
COMMAND = "python -m examples.user_models_on_eie"


def write_models_page(folder: Path) -> Path:
    """``folder/README.md`` from every ``folder/NAME/{summary.json, eie_on_data.json}``."""
    sections = [_section(run.parent) for run in sorted(folder.glob(f"*/{RECORD}"))]
    return write_text_atomic(folder / "README.md", "\n".join([_heading(), *sections]))


def index_section(folder: Path) -> list[str]:
    """The summary of every model for the reports index (empty when none is recorded)."""
    rows = []
    for run in sorted(folder.glob(f"*/{RECORD}")):
        record = json.loads(run.read_text())
        partition = record["import"]["partition"]
        rows.append([run.parent.name, sum(row["runs_on"] == "EIE" for row in partition),
                     sum(row["runs_on"] == "host" for row in partition), record["samples"],
                     record["top1_percent"]["quantized_torch"], record["top1_percent"]["eie"],
                     f"{record['agreement']['eie_vs_quantized_torch_percent']:.1f} %", record["model"]["cycles"]["mean"],
                     record["model"]["energy_uJ"]["mean"]])
    if not rows:
        return []
    return ["## Models of other shapes on EIE, with real data", "",
            f"`{COMMAND}` -> [models/README.md](models/README.md): models written without this tool in mind (F.relu "
            "in forward, GELU, LayerNorm and residual adds between Linear layers, an LSTM), their dataflow traced, "
            "compressed, and the test images run through the host and the simulated EIE.", "",
            format_table(["model", "EIE operations", "host operations", "test images", "top-1 % quantized torch",
                          "top-1 % EIE", "same class", "EIE cycles per image", "EIE uJ per image"], rows, markdown=True),
            ""]


def _heading() -> str:
    return "\n".join([
        "# Models of other shapes on EIE, with real data",
        "",
        f"`{COMMAND}` trains each model of `examples/user_models.py` dense, compresses it with "
        "`accel compress --model` and its schedule in `examples/`, then runs the first 1,000 Fashion-MNIST test "
        "images through it with `accel simulate MODEL --data DIR --limit 1000 --act-frac auto --out NAME/eie_on_data.json` "
        "(the activations' binary point chosen on 256 training images, never the test images); "
        "`accel report --render` renders this page from those records. None of the models was designed for this "
        "tool: their forward methods call `F.relu`, `F.gelu`, LayerNorm, residual adds, reshapes and an LSTM; "
        "`row_transformer` uses torch's own `TransformerEncoderLayer` (attention on the host, its Linear layers on "
        "EIE), and `example_convnet` is the network of PyTorch's own MNIST example as written there "
        "(convolutions, max pooling, dropout, `F.log_softmax`).",
        "",
        "Each model's dataflow is traced from its forward (`torch.fx`, or by running the model with `torch.export` "
        "where fx cannot follow its Python); every `nn.Linear` (and each LSTM layer's "
        "stacked gate matrix `[W_ih W_hh]`) runs on the simulated 64-PE EIE in its fixed point, with a ReLU that "
        "follows it fused; every other operation runs on the host in float, as EIE's host CPU would. "
        "*Quantized torch* is the compressed model in float arithmetic; *EIE* is the same model with its EIE layers "
        "on the cycle-level simulator. Cycles, latency and energy are per sample over the 1,000 samples "
        "(mean, 50th and 99th percentile), EIE only: host operations are not timed.",
        "",
    ])


def fixed_point_line(record: dict) -> str:
    """How the run's activation fixed point was chosen."""
    point = record.get("fixed_point") or {"act_frac": record["config"]["act_frac"], "chosen": "config"}
    bits, frac = record["config"]["act_bits"], point["act_frac"]
    line = f"activations: {bits}-bit fixed point with {frac} fraction bits (range +-{2.0 ** (bits - 1 - frac):g})"
    if point["chosen"] == "config":
        return line + ", from the config"
    return (line + f", calibrated on {point['samples']} training samples: largest value entering or leaving an EIE "
            f"layer {point['largest_magnitude']:.3g}, held {point['headroom']:g} times over")


def _section(folder: Path) -> str:
    summary = json.loads((folder / "summary.json").read_text())
    record = json.loads((folder / RECORD).read_text())
    top1, agreement = record["top1_percent"], record["agreement"]
    point = fixed_point_line(record)
    samples = record["samples"]
    differing = agreement["disagreeing_samples"]
    accuracy = format_table(["model", "top-1 %", "test images"], [
        ["dense (before compression)", summary["accuracy_dense"], "all (accel compress)"],
        ["pruned + quantized + Huffman, torch", summary["accuracy_quantized"], "all (accel compress)"],
        ["quantized, torch", top1["quantized_torch"], f"first {samples:,}"],
        ["EIE (simulated fixed point) + host", top1["eie"], f"first {samples:,}"]], markdown=True)
    rows, hidden = partition_rows(record["import"]["partition"])
    partition = format_table(["runs on", "operation", "output shape (one sample)"], rows, markdown=True) + (
        f"\n\nand {hidden} host operation(s) on sizes and tuples (recorded in `eie_on_data.json`)." if hidden else "")
    layers = format_table(
        ["layer", "shape", "weight density %", "input density % (mean)", "ReLU fused", "runs per sample",
         "cycles per run", "cycles mean", "p50",
         "p99", "latency us mean", "p99", "EIE uJ mean", "p99"],
        [[row["layer"], f"{row['shape'][0]}x{row['shape'][1]}", 100 * row["weight_density"],
          100 * row["input_density"]["mean"], "yes" if row["relu"] else "no", f"{row['invocations_per_sample']:g} ({row['invocation']}s)",
          row["cycles_per_invocation"],
          row["cycles"]["mean"], row["cycles"]["p50"], row["cycles"]["p99"], row["latency_us"]["mean"],
          row["latency_us"]["p99"], row["energy_uJ"]["mean"], row["energy_uJ"]["p99"]] for row in record["layers"]]
        + [["whole model", "", "", "", "", "", "", record["model"]["cycles"]["mean"], record["model"]["cycles"]["p50"],
            record["model"]["cycles"]["p99"], record["model"]["latency_us"]["mean"],
            record["model"]["latency_us"]["p99"], record["model"]["energy_uJ"]["mean"],
            record["model"]["energy_uJ"]["p99"]]], markdown=True)
    return "\n".join([
        f"## {folder.name}: `{summary['settings']['model']}`", "",
        f"Compressed {summary['rate_PQH']:.1f}x (P+Q+H, bytes; pruning {summary['rate_pruning_params']:.1f}x in "
        f"parameters): [sizes]({folder.name}/sizes.md). Commands: `{summary['provenance']['command']}`, then "
        f"`{record['provenance']['command']}`.", "",
        accuracy, "",
        f"EIE gives the quantized torch model's class on **{agreement['eie_vs_quantized_torch_percent']:.1f} %** of "
        f"the {samples:,} images" + (f" (differing: image {', '.join(map(str, differing))}, where quantized torch's "
                                     f"two best classes lie {', '.join(f'{m:.3g}' for m in agreement['disagreeing_margins'])} "
                                     "apart)" if differing else "")
        + f"; the largest difference of any output is {agreement['max_output_difference']:.3g}. The first image's "
        f"EIE layers are bit-exact with the independent numpy fixed-point model: "
        f"{'yes' if record['numpy_model_bit_exact_on_first_sample'] else 'NO'}.", "",
        point[0].upper() + point[1:] + ".", "",
        f"Partition (graph {ORIGINS[record['import']['graph']]}):", "", partition, "",
        "Per sample on the 64-PE EIE at 800 MHz:", "", layers, "",
    ])
