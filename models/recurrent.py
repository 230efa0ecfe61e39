"""LSTMs as EIE runs them: each layer's gates are one matrix ``[W_ih W_hh]`` over ``[x_t, h_(t-1)]``.

EIE (section on NeuralTalk's LSTM) computes the four gates' pre-activations of a time step as one
sparse matrix-vector product; the sigmoid, tanh and cell update are the host's. ``StackedLSTM`` and
``StackedLSTMCell`` hold that matrix as an ``nn.Linear`` (so pruning, weight sharing and the compressed
file treat it as any fully connected layer) and compute exactly what ``nn.LSTM`` / ``nn.LSTMCell`` do
(gate order i, f, g, o; the two biases summed). ``stack_recurrent`` swaps them into a model;
``write_gates`` puts a stacked matrix back into a user's ``nn.LSTM``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from accel.arch.errors import UserError

Gate = Callable[[torch.Tensor], torch.Tensor]
"""The gate pre-activations ``[W_ih W_hh] [x; h] + b`` of one layer, shape (batch, 4 * hidden)."""


def lstm_step(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, gate: Gate) -> tuple[torch.Tensor, torch.Tensor]:
    """One time step of one layer: the gates on EIE (``gate``), the rest on the host."""
    i, f, g, o = gate(torch.cat([x, h], dim=-1)).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def run_lstm(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None, gates: list[Gate], hidden_size: int,
             batch_first: bool, dropout: float = 0.0, training: bool = False
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """What ``nn.LSTM`` returns: ``(output, (h_n, c_n))``, for batched or unbatched input."""
    unbatched = x.dim() == 2
    if unbatched:
        x = x.unsqueeze(1)
        state = None if state is None else (state[0].unsqueeze(1), state[1].unsqueeze(1))
    elif batch_first:
        x = x.transpose(0, 1)
    batch = x.shape[1]
    if state is None:
        zeros = x.new_zeros(len(gates), batch, hidden_size)
        state = (zeros, zeros)
    finals_h, finals_c = [], []
    for layer, gate in enumerate(gates):
        h, c = state[0][layer], state[1][layer]
        steps = []
        for x_t in x:
            h, c = lstm_step(x_t, h, c, gate)
            steps.append(h)
        x = torch.stack(steps)
        if layer < len(gates) - 1 and dropout:
            x = F.dropout(x, dropout, training)
        finals_h.append(h)
        finals_c.append(c)
    h_n, c_n = torch.stack(finals_h), torch.stack(finals_c)
    if unbatched:
        return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
    return (x.transpose(0, 1) if batch_first else x), (h_n, c_n)


def run_lstm_cell(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None, gate: Gate, hidden_size: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``nn.LSTMCell`` returns: ``(h', c')``."""
    if state is None:
        zeros = x.new_zeros(*x.shape[:-1], hidden_size)
        state = (zeros, zeros)
    return lstm_step(x, state[0], state[1], gate)


class StackedLSTM(nn.Module):
    """``nn.LSTM`` (unidirectional, no projection) with layer ``k``'s gates as ``self.l{k}``, an ``nn.Linear``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden_size, self.num_layers, self.batch_first, self.dropout = hidden_size, num_layers, batch_first, dropout
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size
            self.add_module(f"l{layer}", nn.Linear(width + hidden_size, 4 * hidden_size, bias=bias))

    def gates(self) -> list[nn.Linear]:
        return [getattr(self, f"l{layer}") for layer in range(self.num_layers)]

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        return run_lstm(x, state, self.gates(), self.hidden_size, self.batch_first, self.dropout, self.training)

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM) -> "StackedLSTM":
        if lstm.bidirectional or lstm.proj_size:
            raise UserError("a bidirectional LSTM or one with proj_size is not supported on EIE; use a unidirectional "
                            "nn.LSTM without projection")
        stacked = cls(lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.batch_first, lstm.dropout)
        with torch.no_grad():
            for layer, gate in enumerate(stacked.gates()):
                gate.weight.copy_(torch.cat([getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")], 1))
                if lstm.bias:
                    gate.bias.copy_(getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}"))
        return stacked.train(lstm.training)


class StackedLSTMCell(nn.Module):
    """``nn.LSTMCell`` with its gates as ``self.l0``, an ``nn.Linear`` over ``[x, h]``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.l0 = nn.Linear(input_size + hidden_size, 4 * hidden_size, bias=bias)

    def gates(self) -> list[nn.Linear]:
        return [self.l0]

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        return run_lstm_cell(x, state, self.l0, self.hidden_size)

    @classmethod
    def from_cell(cls, cell: nn.LSTMCell) -> "StackedLSTMCell":
        stacked = cls(cell.input_size, cell.hidden_size, cell.bias)
        with torch.no_grad():
            stacked.l0.weight.copy_(torch.cat([cell.weight_ih, cell.weight_hh], 1))
            if cell.bias:
                stacked.l0.bias.copy_(cell.bias_ih + cell.bias_hh)
        return stacked.train(cell.training)


RECURRENT = (nn.LSTM, nn.LSTMCell)
STACKED = (StackedLSTM, StackedLSTMCell)


def stack_recurrent(model: nn.Module) -> list[str]:
    """Replace every ``nn.LSTM`` / ``nn.LSTMCell`` of ``model`` in place by its stacked form; their names."""
    replaced = []
    for name, module in list(model.named_modules()):
        if isinstance(module, RECURRENT):
            stacked = StackedLSTM.from_lstm(module) if isinstance(module, nn.LSTM) else StackedLSTMCell.from_cell(module)
            parent, _, attribute = name.rpartition(".")
            if not attribute:
                raise UserError("the model itself is an LSTM; wrap it in a module whose forward calls it")
            setattr(model.get_submodule(parent), attribute, stacked)
            replaced.append(name)
    return replaced


def write_gates(module: nn.Module, layer: int, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Put layer ``layer``'s stacked gate matrix back into an ``nn.LSTM`` / ``nn.LSTMCell`` (the bias as ``bias_ih``)."""
    suffix = f"_l{layer}" if isinstance(module, nn.LSTM) else ""
    inputs = getattr(module, f"weight_ih{suffix}").shape[1]
    with torch.no_grad():
        getattr(module, f"weight_ih{suffix}").copy_(weight[:, :inputs])
        getattr(module, f"weight_hh{suffix}").copy_(weight[:, inputs:])
        if bias is not None:
            getattr(module, f"bias_ih{suffix}").copy_(bias)
            getattr(module, f"bias_hh{suffix}").zero_()


def gate_shape(module: nn.Module, layer: int) -> tuple[int, int]:
    """The stacked gate matrix's shape of layer ``layer`` of an ``nn.LSTM`` / ``nn.LSTMCell``."""
    suffix = f"_l{layer}" if isinstance(module, nn.LSTM) else ""
    w_ih, w_hh = getattr(module, f"weight_ih{suffix}"), getattr(module, f"weight_hh{suffix}")
    return int(w_ih.shape[0]), int(w_ih.shape[1] + w_hh.shape[1])
