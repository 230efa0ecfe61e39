"""Every bad input tried on the command line, and what it gets: the table of reports/reliability/bad_inputs.md.

    python -m accel.cli.bad_inputs --out reports/reliability

Each case makes its files in a scratch folder, runs ``accel`` in this process from that folder and
records the exit status and the last line printed (status 2: the one line on stderr). The files
of a case are made by the functions below from a small network, so the table can be regenerated
anywhere; ``tests/cli/test_bad_inputs.py`` runs every case and checks its exit status and that a
refusal is exactly one line with no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.arch.files import write_text_atomic
from accel.report import records
from accel.report.reliability import bad_inputs_markdown

Make = Callable[[Path], None]
PROJECT = str(Path(__file__).resolve().parents[2])
"""Removed from the messages recorded (they name files of the project by absolute path)."""


@dataclass(frozen=True)
class BadInput:
    kind: str
    what: str
    argv: tuple[str, ...]
    make: Make | None = None
    status: int = 2
    """Expected exit status: 2 for a refusal, 1 for a run that reports a failure, 0 for an input that is accepted."""


# Files ------------------------------------------------------------------------------------------

def _network():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))


def state_dict(change: Callable | None = None, name: str = "w.pt") -> Make:
    """A state_dict of a 16-12-4 perceptron, with ``change(state)`` applied (``1.weight``, ``1.bias``, ``3.*``)."""
    def make(folder: Path) -> None:
        import torch

        state = dict(_network().state_dict())
        if change is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                change(state)
        torch.save(state, folder / name)
    return make


def _set(key: str, function: Callable) -> Callable:
    def change(state: dict) -> None:
        state[key] = function(state[key])
    return change


def pickled_module(folder: Path) -> None:
    import torch

    torch.save(_network(), folder / "w.pt")


def user_model(weights: Make) -> Make:
    """A factory module ``user_nets.py``, a tiny ``.npz`` data set and the weights ``weights`` writes."""
    def make(folder: Path) -> None:
        (folder / "user_nets.py").write_text(
            "from torch import nn\n\ndef mlp():\n"
            "    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))\n")
        rng = np.random.default_rng(0)
        np.savez(folder / "data.npz", train_images=rng.random((8, 4, 4), dtype=np.float32),
                 train_labels=np.arange(8) % 4, test_images=rng.random((4, 4, 4), dtype=np.float32),
                 test_labels=np.arange(4) % 4)
        weights(folder)
    return make


def text(name: str, content: str) -> Make:
    def make(folder: Path) -> None:
        (folder / name).write_text(content)
    return make


def both(*makes: Make) -> Make:
    def make(folder: Path) -> None:
        for step in makes:
            step(folder)
    return make


def model_file(folder: Path) -> None:
    compressed_model(folder)


def compressed_model(folder: Path) -> Path:
    from accel.models.compressed_file import compress_module
    from accel.models.quantization import quantize_model

    model = _network()
    quantize_model(model, {"1": 4, "3": 4})
    return compress_module(model, None, index_bits=3).save(folder / "m.dc.npz")


def resealed_model(edit: Callable[[dict], None]) -> Make:
    """The compressed model with its metadata edited and its digest recomputed, as a forger would."""
    def make(folder: Path) -> None:
        from accel.arch.npz import DIGEST_KEY, MEMBERS_KEY, read_members, save_npz

        arrays = read_members(compressed_model(folder))
        meta = json.loads(arrays.pop("meta").tobytes())
        meta.pop(MEMBERS_KEY)
        meta.pop(DIGEST_KEY)
        edit(meta)
        save_npz(folder / "m.dc.npz", meta, arrays)
    return make


def many_huge_layers(meta: dict) -> None:
    """Sixty-four copies of the first layer, each declaring 2^27 weights: 64 GiB of decoded codes."""
    first = meta["layers"][0]
    first.update(shape=[1, 1 << 27], bias=False)
    meta["layers"] = [dict(first, name=f"fc{index}") for index in range(64)]


def one_layer_too_large(meta: dict) -> None:
    meta["layers"][0]["shape"] = [1 << 14, (1 << 13) + 1]


def damaged_model(folder: Path) -> None:
    path = compressed_model(folder)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def idx_folder(images_header: bytes | None = None, truncate: bool = False) -> Make:
    """An MNIST-format folder of 6 + 4 images of 4x4; ``images_header`` replaces the training images' header."""
    def make(folder: Path) -> None:
        data = folder / "idx"
        data.mkdir()
        rng = np.random.default_rng(0)
        for stem, count in (("train", 6), ("t10k", 4)):
            images = rng.integers(0, 256, (count, 4, 4), dtype=np.uint8)
            header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
            if stem == "train" and images_header is not None:
                header = images_header
            raw = header + images.tobytes()
            (data / f"{stem}-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-7] if truncate else raw, mtime=0))
            labels = np.arange(count, dtype=np.uint8) % 3
            (data / f"{stem}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + count.to_bytes(4, "big") + labels.tobytes())
    return make


def spec(body: str, name: str = "spec.toml") -> Make:
    return text(name, body)


SWEEP = 'metrics = ["cycles"]\n[axes]\nworkload = ["NT-We"]\nn_pes = [4, 8]\n'


def run_folder_with(change: Callable[[Path], None] | None) -> Make:
    """A folder committed by a run (two files and manifest.json), then ``change(folder)``."""
    def make(folder: Path) -> None:
        from accel.arch.run_folder import run_folder

        with run_folder(folder / "out", "accel export m.dc.npz --out out") as staged:
            (staged / "a.npz").write_bytes(b"1")
            (staged / "b.npz").write_bytes(b"2")
        if change is not None:
            change(folder / "out")
    return make


def energy_table(change: Callable[[dict], None]) -> Make:
    def make(folder: Path) -> None:
        from accel.arch.energy import DEFAULT_TABLE

        table = json.loads(DEFAULT_TABLE.read_text())
        change(table)
        (folder / "energy.json").write_text(json.dumps(table))
    return make


# The cases --------------------------------------------------------------------------------------

def _cases() -> list[BadInput]:
    import torch

    weight, bias = "1.weight", "1.bias"
    pt = "A .pt tensor kind"
    number = "NaN, infinity and numbers out of range"
    args = "An argument out of its range"
    cases: list[BadInput] = []
    kinds = [
        ("meta-device tensors (every entry)", lambda state: state.update({k: v.to("meta") for k, v in state.items()})),
        ("a sparse COO weight", _set(weight, lambda t: t.to_sparse())),
        ("a sparse CSR weight", _set(weight, lambda t: t.to_sparse_csr())),
        ("a sparse CSC weight", _set(weight, lambda t: t.to_sparse_csc())),
        ("a sparse BSR weight", _set(weight, lambda t: t.to_sparse_bsr((2, 2)))),
        ("a sparse BSC weight", _set(weight, lambda t: t.to_sparse_bsc((2, 2)))),
        ("a quantized (per tensor, qint8) weight", _set(weight, lambda t: torch.quantize_per_tensor(t, 0.05, 0, torch.qint8))),
        ("a quantized (per channel) weight", _set(weight, lambda t: torch.quantize_per_channel(
            t, torch.full((12,), 0.05), torch.zeros(12, dtype=torch.long), 0, torch.qint8))),
        ("a nested tensor", lambda state: state.update({"extra": torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])})),
        ("a packed float4 weight", _set(weight, lambda t: t.to(torch.uint8).view(torch.float4_e2m1fn_x2))),
        ("a bits8 weight", _set(weight, lambda t: t.to(torch.uint8).view(torch.bits8))),
        ("a complex32 weight", _set(weight, lambda t: t.to(torch.complex32))),
        ("a uint64 weight", _set(weight, lambda t: t.to(torch.uint64))),
        ("a bool weight", _set(weight, lambda t: t.bool())),
        ("a NaN weight", _set(weight, lambda t: t.clone().fill_(float("nan")))),
        ("an infinite bias", _set(bias, lambda t: t.clone().fill_(float("inf")))),
    ]
    for what, change in kinds:
        cases.append(BadInput(pt, f"{what}, to simulate", ("simulate", "w.pt"), state_dict(change)))
    for what, change in kinds[:3] + kinds[6:7] + kinds[9:10]:
        cases.append(BadInput(pt, f"{what}, to export", ("export", "w.pt", "--out", "layers"), state_dict(change)))
        cases.append(BadInput(pt, f"{what}, to verilog", ("verilog", "--pes", "2", "--layer", "w.pt:1", "--out", "v"),
                              state_dict(change)))
    for what, change in kinds[:2] + kinds[6:7] + kinds[11:16]:
        cases.append(BadInput(pt, f"{what}, to compress --weights", ("compress", "--model", "user_nets:mlp", "--weights",
                              "w.pt", "--data", "data.npz", "--out", "out", "--quiet"), user_model(state_dict(change))))
    cases += [
        BadInput(pt, "an integer tensor where the model holds floats, to compress --weights",
                 ("compress", "--model", "user_nets:mlp", "--weights", "w.pt", "--data", "data.npz", "--out", "out"),
                 user_model(state_dict(_set(weight, lambda t: (t * 10).int()))), 2),
        BadInput(pt, "a pickled whole module", ("simulate", "w.pt"), pickled_module),
        BadInput(pt, "a checkpoint dict (state_dict nested)", ("simulate", "w.pt"),
                 state_dict(lambda state: state.update({"model": dict(state)}))),
        BadInput(pt, "accepted: non-contiguous, expanded and offset views", ("export", "w.pt", "--out", "layers"),
                 state_dict(lambda state: state.update({weight: state[weight].t().contiguous().t(),
                                                        bias: torch.cat([torch.zeros(3), state[bias]])[3:]})), 0),
        BadInput(pt, "accepted: bfloat16 and float8 weights", ("export", "w.pt", "--out", "layers"),
                 state_dict(lambda state: state.update({weight: state[weight].bfloat16(),
                                                        "3.weight": state["3.weight"].to(torch.float8_e4m3fn)})), 0),
    ]
    sweep_cases = [
        ("act_density = nan in a sweep spec", "act_density = nan\n" + SWEEP),
        ("act_density = inf in a sweep spec", "act_density = inf\n" + SWEEP),
        ("act_density = 1.5 in a sweep spec", "act_density = 1.5\n" + SWEEP),
        ("timeout_s = nan in a synthesis sweep spec", 'kind = "synthesis"\ntimeout_s = nan\n[base]\ndevice = "ice40-hx8k"\n[axes]\nn_pes = [1]\n'),
        ("timeout_s = -1 in a synthesis sweep spec", 'kind = "synthesis"\ntimeout_s = -1\n[base]\ndevice = "ice40-hx8k"\n[axes]\nn_pes = [1]\n'),
        ("clock_mhz = nan as a base value", "[base]\nclock_mhz = nan\n" + SWEEP.replace('metrics = ["cycles"]\n', "")),
        ("n_pes = [nan] as an axis", SWEEP.replace("n_pes = [4, 8]", "n_pes = [nan]")),
        ("n_pes = [inf] as an axis", SWEEP.replace("n_pes = [4, 8]", "n_pes = [inf]")),
        ("seed = -1", "seed = -1\n" + SWEEP),
        ("seed = 2^64", "seed = 18446744073709551616\n" + SWEEP),
        ("a date as an axis value", SWEEP.replace("n_pes = [4, 8]", "n_pes = [1979-05-27]")),
    ]
    cases += [BadInput(number, what, ("sweep", "spec.toml", "--serial", "--out", "s"), spec(body)) for what, body in sweep_cases]
    cases += [
        BadInput(number, "NaN in a JSON sweep spec", ("sweep", "spec.json", "--serial", "--out", "s"),
                 text("spec.json", '{"act_density": NaN, "axes": {"workload": ["NT-We"]}}')),
        BadInput(number, "synth --timeout nan", ("synth", "--timeout", "nan")),
        BadInput(number, "synth --timeout 0", ("synth", "--timeout", "0")),
        BadInput(number, "synth --target-mhz nan", ("synth", "--target-mhz", "nan")),
        BadInput(number, "synth --target-mhz -5", ("synth", "--target-mhz", "-5")),
        BadInput(number, "synth --target-mhz inf", ("synth", "--target-mhz", "inf")),
        BadInput(number, "run --timeout nan", ("run", "Alex-7", "--simulated", "--timeout", "nan")),
        BadInput(number, "run --timeout -1", ("run", "Alex-7", "--simulated", "--timeout", "-1")),
        BadInput(number, "simulate --act-density nan", ("simulate", "Alex-7", "--act-density", "nan")),
        BadInput(number, "verilog --act-density nan", ("verilog", "--act-density", "nan")),
        BadInput(number, "verilog --act-density 1.5", ("verilog", "--act-density", "1.5")),
        BadInput(number, "simulate --clock-mhz nan", ("simulate", "Alex-7", "--clock-mhz", "nan")),
        BadInput(number, "simulate --clock-mhz 0", ("simulate", "Alex-7", "--clock-mhz", "0")),
        BadInput(number, "simulate --prune nan", ("simulate", "w.pt", "--prune", "nan"), state_dict()),
        BadInput(number, "simulate --prune -1", ("simulate", "w.pt", "--prune", "-1"), state_dict()),
        BadInput(number, "a schedule with NaN (a JSON token Python's reader takes)",
                 ("compress", "--model", "user_nets:mlp", "--weights", "w.pt", "--data", "data.npz", "--schedule", "s.json"),
                 both(user_model(state_dict()), text("s.json", '{"lr": NaN}'))),
        BadInput(number, "a schedule with lr 1e999 (infinity)",
                 ("compress", "--model", "user_nets:mlp", "--weights", "w.pt", "--data", "data.npz", "--schedule", "s.json"),
                 both(user_model(state_dict()), text("s.json", '{"lr": 1e999}'))),
        BadInput(number, "an architecture config with clock_mhz NaN", ("simulate", "Alex-7", "--config", "c.json"),
                 text("c.json", '{"clock_mhz": NaN}')),
        BadInput(number, "an energy table with a NaN energy", ("simulate", "Alex-7", "--energy-table", "energy.json"),
                 energy_table(lambda table: table["actions"]["int_add_8"].update(energy=float("nan")))),
        BadInput(number, "an energy table whose SRAM grid extrapolates to zero (one entry 1e-300 pJ)",
                 ("simulate", "Alex-7", "--energy-table", "energy.json"),
                 energy_table(lambda table: table["sram"]["read"][0].__setitem__(0, 1e-300))),
        BadInput(number, "an input vector holding NaN", ("simulate", "Alex-7", "--input", "x.npy"),
                 lambda folder: np.save(folder / "x.npy", np.full(4096, np.nan))),
    ]
    memory = "Memory"
    cases += [
        BadInput(memory, "a re-sealed model declaring 64 layers of 2^27 weights (64 GiB decoded)", ("simulate", "m.dc.npz"),
                 resealed_model(many_huge_layers)),
        BadInput(memory, "the same, to export", ("export", "m.dc.npz", "--out", "layers"), resealed_model(many_huge_layers)),
        BadInput(memory, "one layer of 2^27 + 2^14 weights", ("simulate", "m.dc.npz"), resealed_model(one_layer_too_large)),
        BadInput(memory, "a model above a lowered --max-weights", ("simulate", "m.dc.npz", "--max-weights", "100"),
                 model_file),
        BadInput(memory, "an IDX header declaring 2^64 bytes (0 when counted in 64 bits)", ("compress", "--data", "idx"),
                 idx_folder(bytes([0, 0, 8, 4]) + (1 << 16).to_bytes(4, "big") * 4)),
        BadInput(memory, "a truncated gzip IDX file", ("compress", "--data", "idx"), idx_folder(truncate=True)),
        BadInput(memory, "a damaged compressed model (one flipped bit)", ("simulate", "m.dc.npz"), damaged_model),
    ]
    for command in ("verilog", "export Alex-7", "run Alex-7 --simulated", "energy", "verify", "synth", "simulate Alex-7",
                    "compress", "demo", "bench"):
        cases.append(BadInput(args, f"{command.split()[0]} --seed -1", (*command.split(), "--seed", "-1")))
    cases += [BadInput(args, f"{' '.join(argv)}", tuple(argv)) for argv in (
        ["synth", "--seed", "2147483648"], ["synth", "--pes", "1000"], ["verilog", "--pes", "257"],
        ["run", "Alex-7", "--simulated", "--pes", "300"], ["simulate", "Alex-7", "--pes", "4097"],
        ["simulate", "Alex-7", "--pes", "0"], ["simulate", "Alex-7", "--fifo", "0"], ["verify", "--layers", "0"],
        ["verify", "--per-config", "0"], ["verify", "--workers", "0"], ["bench", "--workers", "0"],
        ["sweep", "spec.toml", "--workers", "0"], ["compress", "--batch-size", "0"], ["compress", "--threads", "0"],
        ["compress", "--bits", "0"], ["compress", "--bits", "17"], ["compress", "--bits", "huge"],
        ["report", "--repeats", "0"], ["demo", "--images", "0"], ["sweep", "spec.toml", "--max-points", "0"],
        ["simulate", "Alex-7", "--max-weights", "0"], ["run", "Alex-7", "--simulated", "--baud", "0"],
        ["synth", "--baud", "nan"], ["simulate", "Alex-7", "--seed", "4294967296"], ["simulate", "Alex-7", "--seed", "1.5"])]
    cases.append(BadInput(args, "verilog --config with 1000 PEs (the RTL generator builds 256)",
                          ("verilog", "--config", "c.json"), text("c.json", '{"n_pes": 1000}')))
    status = "Exit status and size"
    cases += [
        BadInput(status, "a sweep in which every point fails (a damaged model as the workload)",
                 ("sweep", "spec.toml", "--serial", "--out", "s"),
                 both(damaged_model, spec('metrics = ["cycles"]\n[axes]\nworkload = ["m.dc.npz"]\nn_pes = [4, 8]\n')), 1),
        BadInput(status, "a sweep of 10^6 points", ("sweep", "spec.toml", "--serial", "--out", "s"),
                 spec('metrics = ["cycles"]\n[axes]\nworkload = ["NT-We"]\nn_pes = ' + json.dumps(list(range(1, 1001)))
                      + "\nfifo_depth = " + json.dumps(list(range(1, 1001))) + "\n")),
    ]
    folders = "Output folders"
    cases += [
        BadInput(folders, "accel check: a file of the run edited", ("check", "out"),
                 run_folder_with(lambda out: (out / "a.npz").write_bytes(b"edited")), 1),
        BadInput(folders, "accel check: a file of the run removed", ("check", "out"),
                 run_folder_with(lambda out: (out / "b.npz").unlink()), 1),
        BadInput(folders, "accel check: a folder without manifest.json", ("check", "out"),
                 lambda folder: (folder / "out").mkdir()),
        BadInput(folders, "accel check: a damaged manifest.json", ("check", "out"),
                 run_folder_with(lambda out: (out / "manifest.json").write_text('{"format": "eie-run-manifest", "files": ['))),
        BadInput(folders, "accel check: an unchanged folder with a file of the user's", ("check", "out"),
                 run_folder_with(lambda out: (out / "notes.txt").write_text("mine")), 0),
        BadInput(folders, "--out . (the current folder)", ("export", "Alex-7", "--out", ".")),
        BadInput(folders, "--out under a file", ("export", "Alex-7", "--out", "f/layers"), text("f", "a file")),
    ]
    return cases


# Running ----------------------------------------------------------------------------------------

def run_case(case: BadInput, folder: Path) -> dict:
    """Make the case's files in ``folder``, run it from there and record what it got."""
    from accel.cli import main

    here = Path.cwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    os.chdir(folder)
    sys.modules.pop("user_nets", None)
    try:
        if case.make is not None:
            case.make(folder)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                status = main(list(case.argv))
            except SystemExit as exit_info:
                status = exit_info.code if isinstance(exit_info.code, int) else 1
    finally:
        os.chdir(here)
    errors = stderr.getvalue()
    lines = [line for line in errors.splitlines() if line.strip()]
    printed = lines or [line for line in stdout.getvalue().splitlines() if line.strip()]
    message = printed[-1] if printed else ""
    for path in (str(folder.resolve()), str(folder)):
        message = message.replace(path + "/", "").replace(path, ".")
    message = message.replace(f"{PROJECT}/", "")
    return {"kind": case.kind, "input": case.what, "command": "accel " + " ".join(case.argv), "expected": case.status,
            "status": status, "stderr_lines": len(lines), "traceback": "Traceback" in errors, "message": message}


def run_all() -> list[dict]:
    rows = []
    for case in _cases():
        with tempfile.TemporaryDirectory(prefix="bad-input-") as scratch:
            rows.append(run_case(case, Path(scratch)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accel.cli.bad_inputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=records.folder("reliability"), help="folder for bad_inputs.json/.md")
    args = parser.parse_args(argv)
    rows = run_all()
    command = "python -m accel.cli.bad_inputs " + " ".join(argv if argv is not None else sys.argv[1:])
    record = {"command": command, "rows": rows}
    write_text_atomic(args.out / "bad_inputs.json", json.dumps(record, indent=1) + "\n")
    write_text_atomic(args.out / "bad_inputs.md", bad_inputs_markdown(record))
    wrong = [row for row in rows if row["status"] != row["expected"] or row["traceback"]
             or (row["status"] == 2 and row["stderr_lines"] != 1)]
    for row in wrong:
        print(f"unexpected: {row['input']}: exit {row['status']} (expected {row['expected']}), "
              f"{row['stderr_lines']} lines: {row['message']}")
    print(f"{len(rows)} bad inputs, {len(wrong)} unexpected; wrote {args.out}/bad_inputs.md")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
