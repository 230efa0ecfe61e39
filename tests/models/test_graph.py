"""A model's dataflow is read from its forward: ReLU in every spelling fused, everything else on the host."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from accel.arch.errors import UserError
from accel.models.compressed_file import CompressedModel, compress_module, upgrade
from accel.models.export import import_compressed, import_module, torch_forward
from accel.models.graph import ModelGraph
from accel.models.quantization import quantize_model
from accel.models.recurrent import StackedLSTM, StackedLSTMCell, stack_recurrent
from accel.models.tracing import fused_relus, trace_model

RELU_SPELLINGS = {
    "nn.ReLU": lambda self, x: self.act(x),
    "nn.ReLU(inplace)": lambda self, x: self.act_inplace(x),
    "F.relu": lambda self, x: F.relu(x),
    "F.relu(inplace)": lambda self, x: F.relu(x, inplace=True),
    "torch.relu": lambda self, x: torch.relu(x),
    "torch.relu_": lambda self, x: torch.relu_(x),
    "x.relu()": lambda self, x: x.relu(),
    "x.relu_()": lambda self, x: x.relu_(),
    "clamp(min=0)": lambda self, x: x.clamp(min=0),
    "torch.clamp(x, 0)": lambda self, x: torch.clamp(x, 0),
    "clamp_min(0.0)": lambda self, x: x.clamp_min(0.0),
}


def two_layers(activation) -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(12, 8), nn.Linear(8, 3)
            self.act, self.act_inplace = nn.ReLU(), nn.ReLU(inplace=True)

        def forward(self, x):
            return self.fc2(activation(self, self.fc1(x.flatten(1))))

    torch.manual_seed(0)
    return Net()


@pytest.mark.parametrize("spelling", RELU_SPELLINGS)
def test_every_spelling_of_relu_is_fused_into_its_layer(spelling):
    model = two_layers(RELU_SPELLINGS[spelling])
    graph = trace_model(model, torch.randn(4, 12))
    assert fused_relus(graph) == {"fc1": True, "fc2": False}
    assert [row["runs_on"] for row in graph.partition()] == ["host", "EIE", "EIE"]  # flatten, fc1 + ReLU, fc2


@pytest.mark.parametrize("activation, host", [
    (lambda self, x: F.gelu(x), "gelu"), (lambda self, x: torch.tanh(x), "tanh"),
    (lambda self, x: x.clamp(min=0, max=6), "clamp"), (lambda self, x: F.leaky_relu(x, 0.1), "leaky_relu"),
    (lambda self, x: torch.relu(x) + x, "add"),  # the Linear output has two uses: ReLU stays on the host
])
def test_other_activations_run_on_the_host(activation, host):
    graph = trace_model(two_layers(activation), torch.randn(4, 12))
    assert not fused_relus(graph)["fc1"]
    assert host in [row["operation"] for row in graph.partition() if row["runs_on"] == "host"]


def test_a_layer_called_twice_fuses_only_if_every_call_has_its_relu():
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            return self.fc(F.relu(self.fc(x)))  # the first call has a ReLU, the second none

    graph = trace_model(Shared(), torch.randn(2, 6))
    assert fused_relus(graph) == {"fc": False}


class Residual(nn.Module):
    """GELU, LayerNorm, a residual add and a learned tensor between Linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.norm, self.fc1, self.fc2 = nn.LayerNorm(10), nn.Linear(10, 16), nn.Linear(16, 10)
        self.scale = nn.Parameter(torch.full((10,), 0.5))
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        x = x.flatten(1)
        x = x + self.scale * self.fc2(F.gelu(self.fc1(self.norm(x))))
        return self.head(torch.relu(x))


def quantized(model: nn.Module) -> nn.Module:
    stack_recurrent(model)
    quantize_model(model, 4)
    return model


def test_the_file_records_the_graph_and_runs_it_like_the_model(tmp_path):
    torch.manual_seed(0)
    model = quantized(Residual())
    example = torch.randn(5, 1, 10)
    graph = trace_model(model, example)
    path = compress_module(model, None, graph=graph).save(tmp_path / "m.dc.npz")
    loaded = CompressedModel.load(path)
    assert loaded.graph.origin == "traced" and loaded.graph.input_shape == [1, 10]
    assert sorted(loaded.graph.params) == ["norm.bias", "norm.weight", "scale"]
    imported = import_compressed(loaded)
    assert [layer.name for layer in imported.layers] == ["fc1", "fc2", "head"]
    hosts = [row["operation"] for row in imported.partition() if row["runs_on"] == "host"]
    assert hosts == ["flatten", "layer_norm", "gelu", "mul", "add", "relu"]
    with torch.no_grad():
        assert torch.allclose(torch_forward(imported, example), model.eval()(example), atol=1e-5)
    assert json.loads(json.dumps(loaded.graph.to_json())) == graph.to_json()


def first(graph: dict, op: str) -> dict:
    return next(node for node in graph["nodes"] if node["op"] == op)


@pytest.mark.parametrize("change, message", [
    (lambda g: first(g, "function").update(target="os.system"), "not a host operation"),
    (lambda g: first(g, "method").update(target="__class__"), "not a host operation"),
    (lambda g: g["nodes"].insert(1, g["nodes"].pop(g["nodes"].index(first(g, "linear")))), "no earlier node defines"),
    (lambda g: g["nodes"][-1].update(args=[{"node": "nowhere"}]), "no earlier node defines"),
    (lambda g: g.update(params=g["params"][::-1]), "graph params"),
    (lambda g: g["nodes"].insert(g["nodes"].index(first(g, "function")) + 1, dict(first(g, "function"))),
     "defined twice"),
    (lambda g: [n.update(kwargs={"relu": True}) for n in g["nodes"] if n["op"] == "linear"], "disagree on its ReLU"),
    (lambda g: first(g, "function")["args"].append({"eval": "1"}), "not a value a graph may hold"),
    (lambda g: first(g, "param").update(target="elsewhere"), "not stored with the graph"),
    (lambda g: g.update(origin="guessed"), "origin"),
])
def test_a_damaged_graph_is_refused_in_one_line(tmp_path, change, message):
    from accel.arch.npz import load_npz, save_npz

    torch.manual_seed(0)
    path = compress_module(quantized(Residual()), None).save(tmp_path / "m.dc.npz")
    meta, arrays = load_npz(path, "deep-compression-model", 3)
    change(meta["graph"])
    save_npz(path, {key: value for key, value in meta.items() if key not in ("arrays", "sha256")}, arrays)
    with pytest.raises(UserError, match=message):
        CompressedModel.load(path)


def test_version_2_files_read_as_an_assumed_chain_and_upgrade(tmp_path):
    from accel.arch.npz import load_npz, save_npz

    torch.manual_seed(0)
    path = compress_module(quantized(nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))),
                           None).save(tmp_path / "m.dc.npz")
    meta, arrays = load_npz(path, "deep-compression-model", 3)
    old = {key: value for key, value in meta.items() if key not in ("arrays", "sha256", "graph")}
    save_npz(tmp_path / "v2.dc.npz", {**old, "version": 2}, {k: v for k, v in arrays.items() if not k.startswith("param")})
    model = CompressedModel.load(tmp_path / "v2.dc.npz")
    assert model.graph is None and model.model_graph().origin == "assumed"
    assert "records no graph" in import_compressed(model).approximations[0]
    upgraded = CompressedModel.load(upgrade(tmp_path / "v2.dc.npz", tmp_path / "v3.dc.npz"))
    assert upgraded.graph.origin == "assumed" and [n.op for n in upgraded.graph.nodes] == \
        ["input", "function", "linear", "linear", "output"]


def test_an_untraceable_forward_gets_one_line_with_the_fix():
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else -self.fc(x)

    with pytest.raises(UserError, match=r"cannot be traced by torch\.fx .*example input.*activations") as error:
        trace_model(Branchy())
    assert "\n" not in str(error.value)
    with pytest.raises(UserError, match=r"nor by running it with torch\.export .*activations"):  # on values, not shapes
        trace_model(Branchy(), torch.randn(2, 4))


class TutorialNet(nn.Module):
    """PyTorch's old "Neural Networks" tutorial network: its forward loops over x.size(), which torch.fx cannot follow."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 4 * 4, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def num_flat_features(self, x):
        features = 1
        for size in x.size()[1:]:
            features *= size
        return features


class RowsIfImages(nn.Module):
    """An LSTM whose forward branches on the input's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.fc = nn.LSTM(28, 16, batch_first=True), nn.Linear(16, 10)

    def forward(self, x):
        if x.dim() == 4:
            x = x[:, 0]
        out, _ = self.rnn(x)
        return self.fc(out[:, -1].clamp(min=0))


@pytest.mark.parametrize("model, relus", [(TutorialNet, {"fc1": True, "fc2": True, "fc3": False}),
                                          (RowsIfImages, {"rnn.l0": False, "fc": False})])
def test_control_flow_on_shapes_is_traced_by_running_the_model(tmp_path, model, relus):
    torch.manual_seed(0)
    model = quantized(model())
    example = torch.randn(3, 1, 28, 28)
    graph = trace_model(model, example)  # checked against the model on the example
    assert graph.origin == "exported" and fused_relus(graph) == relus
    imported = import_compressed(CompressedModel.load(compress_module(model, None, graph=graph).save(tmp_path / "m.npz")))
    with torch.no_grad():
        assert torch.allclose(torch_forward(imported, example[:1]), model.eval()(example[:1]), atol=1e-5)


def test_an_unsupported_host_module_is_named():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(UserError, match=r"operation 'embedding': embedding is not a host operation"):
        trace_model(model)


@pytest.mark.parametrize("batch_first", [True, False])
def test_stacked_lstm_computes_what_nn_lstm_does(batch_first):
    torch.manual_seed(0)
    lstm = nn.LSTM(7, 5, num_layers=2, batch_first=batch_first).eval()
    stacked = StackedLSTM.from_lstm(lstm).eval()
    x = torch.randn(3, 4, 7)
    with torch.no_grad():
        (out, (h, c)), (out2, (h2, c2)) = lstm(x), stacked(x)
    assert torch.allclose(out, out2, atol=1e-6) and torch.allclose(h, h2, atol=1e-6) and torch.allclose(c, c2, atol=1e-6)
    cell = nn.LSTMCell(7, 5)
    state = (torch.randn(3, 5), torch.randn(3, 5))
    with torch.no_grad():
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(cell(x[:, 0], state),
                                                                    StackedLSTMCell.from_cell(cell)(x[:, 0], state)))


def test_an_lstm_runs_its_gate_matrix_on_eie_and_goes_back_into_nn_lstm(tmp_path):
    class Rows(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.fc = nn.LSTM(6, 8, batch_first=True), nn.Linear(8, 3)

        def forward(self, x):
            _, (h, _) = self.rnn(x)
            return self.fc(h[-1])

    torch.manual_seed(0)
    example = torch.randn(2, 5, 6)
    model = quantized(Rows())
    compressed = compress_module(model, None, graph=trace_model(model, example))
    layer = next(layer for layer in compressed.layers if layer.name == "rnn.l0")
    assert (layer.module, layer.module_type, layer.shape) == ("rnn", "LSTM", (32, 14))
    imported = import_compressed(CompressedModel.load(compressed.save(tmp_path / "m.dc.npz")))
    assert imported.partition()[0]["operation"].startswith("LSTM rnn: gates [W_ih W_hh] (rnn.l0) on EIE")
    fresh = Rows()
    CompressedModel.load(tmp_path / "m.dc.npz").load_into(fresh)
    with torch.no_grad():
        assert torch.allclose(fresh.eval()(example), model.eval()(example), atol=1e-5)
        assert torch.allclose(torch_forward(imported, example), model(example), atol=1e-5)


def test_import_module_reads_any_module_without_changing_it():
    torch.manual_seed(0)
    model = two_layers(RELU_SPELLINGS["F.relu"])
    before = model.fc1.weight.detach().clone()
    imported = import_module(model, torch.randn(3, 12))
    assert torch.equal(model.fc1.weight, before)
    assert [layer.relu for layer in imported.layers] == [True, False]
    assert set(imported.float_weights) == {"fc1", "fc2"}


def test_graph_json_refuses_shapes_and_keys_it_does_not_know():
    with pytest.raises(UserError, match="keys origin, input_shape, params, nodes"):
        ModelGraph.from_json({"origin": "traced"}, {}, {}, "f")
    with pytest.raises(UserError, match="input_shape"):
        ModelGraph.from_json({"origin": "traced", "input_shape": [0], "params": [], "nodes": []}, {}, {}, "f")


def test_a_tensor_used_by_a_module_and_directly_is_held_once():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.fc = nn.LayerNorm(6), nn.Linear(6, 2)

        def forward(self, x):
            return self.fc(self.norm(x) * self.norm.weight + self.norm.weight)

    torch.manual_seed(0)
    graph = trace_model(Twice(), torch.randn(3, 6))
    assert [node.target for node in graph.nodes if node.op == "param"] == ["norm.weight", "norm.bias"]
    assert sorted(graph.params) == ["norm.bias", "norm.weight"]


def test_a_graph_that_does_not_fit_its_input_says_so_in_one_line():
    torch.manual_seed(0)
    model = quantized(Residual())
    imported = import_compressed(compress_module(model, None, graph=trace_model(model, torch.randn(2, 1, 10))))
    with pytest.raises(UserError, match=r"graph node .* failed .*not shaped as the model's input"):
        torch_forward(imported, torch.randn(2, 7))


class Encoder(nn.Module):
    """torch's own TransformerEncoderLayer between two Linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(28, 32)
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.layer(self.embed(x.squeeze(1))).mean(1))


def test_torch_s_transformer_layer_runs_its_linear_layers_on_eie_and_attention_on_the_host(tmp_path):
    torch.manual_seed(0)
    model = quantized(Encoder())
    example = torch.randn(3, 1, 28, 28)
    graph = trace_model(model, example)
    assert fused_relus(graph) == {"embed": False, "layer.self_attn.out_proj": False, "layer.linear1": True,
                                  "layer.linear2": False, "head": False}
    hosts = {row["operation"] for row in graph.partition() if row["runs_on"] == "host"}
    assert {"scaled_dot_product_attention", "linear", "layer_norm"} <= hosts  # the in-projection's weights on the host
    imported = import_compressed(CompressedModel.load(compress_module(model, None, graph=graph).save(tmp_path / "t.npz")))
    with torch.no_grad():
        assert torch.allclose(torch_forward(imported, example), model.eval()(example), atol=1e-4)
