"""Deep Compression of your own trained model through the Python API (the README's example).

    python -m examples.compress_mlp --out reports/compression/mlp500/api   # from the repository root

Trains the 784-500-200-10 perceptron of ``examples/small_nets.py`` dense on Fashion-MNIST (these are
"your trained weights", saved to runs/mlp500/dense.pt for the command-line example), then compresses
it with the schedule of ``examples/mlp500_schedule.json`` and writes the same outputs as
``accel compress``. Deterministic: seed 0, one torch thread.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from accel.models.compression import SENSITIVITY_FRACTIONS, Schedule, deep_compress
from accel.models.datasets import DEFAULT_DATA_DIR, load_dataset
from accel.models.pipeline import write_outputs
from accel.models.training import TrainSettings, accuracy, dataset_trainer, train
from accel.report.compression import write_compression_pages
from examples.small_nets import mlp_784_500_200_10

HERE = Path(__file__).parent


def trained_model(data, weights: Path) -> torch.nn.Module:
    """The user's side: a model trained as usual, its state_dict saved."""
    torch.manual_seed(0)
    model = mlp_784_500_200_10()
    if weights.exists():
        model.load_state_dict(torch.load(weights, weights_only=True))
        return model
    train(model, data, TrainSettings(epochs=10, lr=0.05, l2=1e-4), desc="dense training")
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/mlp500/api"))
    parser.add_argument("--weights", type=Path, default=Path("runs/mlp500/dense.pt"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.data)
    model = trained_model(data, args.weights)

    schedule = Schedule.from_dict(json.loads((HERE / "mlp500_schedule.json").read_text()))
    result = deep_compress(model, dataset_trainer(data, schedule.lr, l2=schedule.weight_decay, seed=schedule.seed),
                           lambda net: accuracy(net, data.test_images, data.test_labels), schedule,
                           name="mlp_784_500_200_10", sensitivity_fractions=SENSITIVITY_FRACTIONS,
                           example=data.test_images[:2])
    result.data_name = data.name
    command = shlex.join(["python", "-m", "examples.compress_mlp", *sys.argv[1:]])
    write_outputs(result, args.out, {"tool": "eie-accel", "command": command, "seed": schedule.seed})
    write_compression_pages(args.out)
    summary = result.summary()
    print(f"top-1 accuracy: dense {summary['accuracy_dense']:.2f} %, compressed {summary['accuracy_quantized']:.2f} %; "
          f"P+Q+H {summary['rate_PQH']:.1f}x; wrote {args.out}")


if __name__ == "__main__":
    main()
