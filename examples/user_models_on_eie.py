"""Models written without this tool in mind, end to end: train dense, compress, run 1,000 test images on EIE.

    python -m examples.user_models_on_eie            # from the repository root; writes reports/models/

For each model of ``examples/user_models.py``: ``examples.train_dense`` (skipped when
runs/models/NAME/dense.pt exists), ``accel compress --model`` with ``examples/NAME_schedule.json``
into reports/models/NAME, ``accel simulate ... --data DIR --limit 1000 --act-frac auto --out reports/models/NAME/eie_on_data.json``,
then the page reports/models/README.md. Each command is printed before it runs.
"""

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from accel.models.datasets import DEFAULT_DATA_DIR
from accel.report.models import write_models_page

MODELS = {"functional_mlp": 8, "mixer_block": 8, "row_lstm": 8, "example_convnet": 2, "row_transformer": 8}
"""Each factory of examples.user_models (also its report folder; its schedule is examples/<name>_schedule.json)
and the epochs of its dense training."""


def run(command: list[str]) -> None:
    print(shlex.join(command), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("reports/models"))
    args = parser.parse_args()
    accel = [sys.executable, "-m", "accel.cli"]
    for name, epochs in MODELS.items():
        dense = Path("runs/models") / name / "dense.pt"
        if not dense.exists():
            run([sys.executable, "-m", "examples.train_dense", f"examples.user_models:{name}", "--out", str(dense),
                 "--data", str(args.data), "--epochs", str(epochs)])
        folder = args.out / name
        run([*accel, "compress", "--model", f"examples.user_models:{name}", "--weights", str(dense), "--data",
             str(args.data), "--schedule", f"examples/{name}_schedule.json", "--out", str(folder), "--quiet"])
        run([*accel, "simulate", str(folder / "model.dc.npz"), "--data", str(args.data), "--limit", str(args.limit),
             "--act-frac", "auto", "--out", str(folder / "eie_on_data.json")])
    print(f"wrote {write_models_page(args.out)}")


if __name__ == "__main__":
    main()
