"""Models written the way users write them, none designed for this tool (import as ``examples.user_models``).

Each takes a batch of 28x28 grey images (N, 1, 28, 28) and returns ten class scores. They exercise
what ``accel compress --model`` must read from ``forward`` rather than from the module list:
activations called as functions, normalisation and residual adds between Linear layers, a
recurrent layer, torch's own TransformerEncoderLayer, and the convolutional network of PyTorch's own
MNIST example.
"""

import torch
import torch.nn.functional as F
from torch import nn


class FunctionalMLP(nn.Module):
    """784-256-128-10 with ``F.relu`` in forward: no activation module anywhere in the module list."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class MixerBlock(nn.Module):
    """One MLP-Mixer block over 16 patches of 7x7 pixels: LayerNorm, GELU and residual adds between Linear layers."""

    def __init__(self, patches: int = 16, channels: int = 49, token_hidden: int = 64, channel_hidden: int = 128,
                 classes: int = 10) -> None:
        super().__init__()
        self.token_norm = nn.LayerNorm(channels)
        self.token_fc1, self.token_fc2 = nn.Linear(patches, token_hidden), nn.Linear(token_hidden, patches)
        self.channel_norm = nn.LayerNorm(channels)
        self.channel_fc1, self.channel_fc2 = nn.Linear(channels, channel_hidden), nn.Linear(channel_hidden, channels)
        self.head_norm = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = x.reshape(n, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(n, 16, 49)  # 16 patches of 49 pixels
        y = self.token_norm(x).transpose(1, 2)
        x = x + self.token_fc2(F.gelu(self.token_fc1(y))).transpose(1, 2)
        x = x + self.channel_fc2(F.gelu(self.channel_fc1(self.channel_norm(x))))
        return self.head(self.head_norm(x).mean(dim=1))


class RowLSTM(nn.Module):
    """An LSTM reading the image row by row (28 steps of 28 pixels), a Linear layer on its last hidden state."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.rnn = nn.LSTM(28, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(x.squeeze(1))
        return self.fc(h[-1])


class ExampleConvNet(nn.Module):
    """The network of PyTorch's own MNIST example (pytorch/examples, mnist/main.py), written as it is there:
    two convolutions, max pooling, dropout, two Linear layers, ``F.relu`` and ``F.log_softmax`` in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class RowTransformer(nn.Module):
    """torch's own TransformerEncoderLayer over the image's rows (28 tokens of 28 pixels, embedded in 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(28, 32)
        self.encoder = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x.squeeze(1))).mean(dim=1))


def functional_mlp() -> nn.Module:
    return FunctionalMLP()


def mixer_block() -> nn.Module:
    return MixerBlock()


def row_lstm() -> nn.Module:
    return RowLSTM()


def example_convnet() -> nn.Module:
    return ExampleConvNet()


def row_transformer() -> nn.Module:
    return RowTransformer()
