"""Train a model dense, as its user would before compressing it, and save its state_dict.

    python -m examples.train_dense examples.user_models:functional_mlp --epochs 8 --out runs/models/mlp/dense.pt

Fashion-MNIST (or ``--data``), SGD with momentum and cosine decay, seed 0, one torch thread.
"""

import argparse
from pathlib import Path

import torch

from accel.models.datasets import DEFAULT_DATA_DIR, load_dataset
from accel.models.training import TrainSettings, accuracy, train
from accel.models.user_model import build_from_factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="package.module:function that returns the untrained nn.Module")
    parser.add_argument("--out", type=Path, required=True, help="where to save the state_dict")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = load_dataset(args.data)
    model = build_from_factory(args.model)
    train(model, data, TrainSettings(epochs=args.epochs, lr=args.lr, l2=1e-4), desc="dense training")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"dense top-1 {accuracy(model, data.test_images, data.test_labels):.2f} %; wrote {args.out}")


if __name__ == "__main__":
    main()
