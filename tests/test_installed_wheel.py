"""The tool as a user installs it: the built wheel alone in a fresh environment, run from an empty folder.

Every command's main path runs there with small inputs: none may end in a traceback, and none may
write anything in the folder but the outputs it was asked for. Commands whose optional extra is not
installed must say, in one line, the install command that works for a wheel.
"""

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/usr/share/datasets/fashion-mnist")

NETS = '''
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, 4)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def net():
    return Net()
'''

MAKE_INPUTS = '''
import json, numpy as np, torch
from nets import net
torch.manual_seed(0)
torch.save(net().state_dict(), "net.pt")
rng = np.random.default_rng(0)
labels = rng.integers(0, 4, 48)
images = (0.3 * rng.standard_normal((48, 1, 8, 8))).astype(np.float32)
for image, label in zip(images, labels):
    row, col = divmod(int(label), 2)
    image[:, 4 * row:4 * row + 4, 4 * col:4 * col + 4] += 1.0
np.savez("tiny.npz", train_images=images, train_labels=labels, test_images=images[:16], test_labels=labels[:16])
json.dump({"prune": [{"*": 0.5}], "retrain_epochs": 1, "finetune_epochs": 1}, open("schedule.json", "w"))
json.dump({"n_pes": 2, "regfile_entries": 16, "spmat_sram_bytes": 512, "ptr_sram_bytes": 512}, open("small.json", "w"))
open("sweep.toml", "w").write('metrics = ["cycles", "energy_uJ"]\\n[axes]\\nworkload = ["NT-We"]\\nn_pes = [16, 64]\\n')
'''

# (arguments, outputs it may create, exit statuses it may end with); run in order in one folder.
MAIN_PATHS = [
    (["--version"], [], (0,)),
    (["--help"], [], (0,)),
    (["simulate", "Alex-7", "--pes", "16", "--out", "alex7.json"], ["alex7.json"], (0,)),
    (["simulate", "Alex-7", "--json"], [], (0,)),
    (["plot", "alex7.json", "--out", "alex7.png"], ["alex7.png"], (0,)),
    (["export", "NT-We", "--out", "nt_we"], ["nt_we"], (0,)),
    (["compress", "--model", "nets:net", "--weights", "net.pt", "--data", "tiny.npz", "--schedule", "schedule.json",
      "--out", "compressed", "--quiet"], ["compressed"], (0,)),
    (["check", "compressed"], [], (0,)),
    (["simulate", "compressed/model.dc.npz", "--data", "tiny.npz", "--limit", "8", "--pes", "4", "--json"], [], (0,)),
    (["simulate", "compressed/model.dc.npz", "--data", "tiny.npz", "--limit", "8", "--act-frac", "auto"], [], (0,)),
    (["export", "compressed/model.dc.npz", "--out", "layers"], ["layers"], (0,)),
    (["verilog", "--layer", "compressed/model.dc.npz:fc2", "--pes", "2", "--out", "design"], ["design"], (0,)),
    (["run", "compressed/model.dc.npz:fc2", "--simulated", "--config", "small.json"], [], (0,)),
    (["sweep", "sweep.toml", "--out", "sweep", "--serial"], ["sweep"], (0,)),
    (["energy", "--quick", "--no-precision", "--out", "energy"], ["energy"], (0,)),
    (["bench", "--quick", "--out", "bench", "--workers", "1"], ["bench"], (0,)),
    (["demo", "--images", "2", "--out", "demo"], ["demo"], (0,)),
    (["verify", "--layers", "1"], [], (2,)),  # cocotb is in the test extra: one line naming the install
    (["synth", "--device", "ice40-hx8k", "--config", "small.json"], [], (2,)),  # yowasp: the synth extra
    (["report", "--render"], [], (2,)),  # no records in an empty folder
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """The ``accel`` of a fresh environment holding only the built wheel (and its runtime dependencies), and an
    empty work folder with a user's small inputs."""
    base = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(base / "dist"),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next((base / "dist").glob("eie_accel-*.whl"))
    venv.create(base / "env", with_pip=True)
    bin_dir = base / "env" / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                   check=True, capture_output=True)
    work = base / "work"
    work.mkdir()
    (work / "nets.py").write_text(NETS)
    subprocess.run([str(bin_dir / "python"), "-c", MAKE_INPUTS], cwd=work, check=True, capture_output=True)
    return bin_dir, work


def test_the_wheel_installs_one_import_root_and_one_tool(installed):
    bin_dir, _ = installed
    listed = subprocess.run([str(bin_dir / "pip"), "show", "--files", "eie-accel"], capture_output=True, text=True,
                            check=True).stdout
    files = [line.strip() for line in listed.split("Files:")[1].splitlines() if line.strip()]
    roots = {path.split("/")[0] for path in files if not path.startswith("..")} - {path.split("/")[0] for path in files
                                                                                   if ".dist-info/" in path}
    assert roots == {"accel"}
    assert {"accel/sim/fast.py", "accel/models/graph.py", "accel/hdl/rtl/pe.py", "accel/arch/TIMING.md"} <= set(files)
    assert (bin_dir / "accel").exists()


@pytest.mark.skipif(not DATA.is_dir(), reason="the demo needs the Fashion-MNIST package")
def test_every_command_runs_from_an_empty_folder_and_writes_only_its_outputs(installed):
    bin_dir, work = installed
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": ""}
    for arguments, outputs, statuses in MAIN_PATHS:
        before = set(work.iterdir())
        done = subprocess.run([str(bin_dir / "accel"), *arguments], cwd=work, env=environment, capture_output=True,
                              text=True, timeout=600)
        command = "accel " + " ".join(arguments)
        assert done.returncode in statuses, f"{command}: exit {done.returncode}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"{command}:\n{done.stderr[-2000:]}"
        if done.returncode == 2:
            assert done.stderr.count("\n") == 1, f"{command}: more than one line:\n{done.stderr}"
        created = {path.name for path in set(work.iterdir()) - before}
        assert created <= set(outputs), f"{command} wrote {sorted(created - set(outputs))} beyond its outputs"
    record = json.loads((work / "alex7.json").read_text())
    assert record["layers"][0]["layer"] == "Alex-7"
    shutil.rmtree(work / "sweep", ignore_errors=True)
