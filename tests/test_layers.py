"""The import contract of ARCHITECTURE.md: each package imports only the layers below it."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLACES = {"accel": "accel", "models": "accel/models", "sim": "accel/sim", "hdl": "accel/hdl"}
"""Each folder of the repository and where the wheel puts it (pyproject.toml's package-dir)."""


def installed_tree(into: Path) -> Path:
    """The packages laid out as the wheel installs them (one root, ``accel``), with the contract, in ``into``:
    import-linter reads a package's modules from its folder, and models/, sim/ and hdl/ live beside accel/."""
    for folder, place in PLACES.items():
        shutil.copytree(ROOT / folder, into / place, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", into)
    return into


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the packages and pyproject.toml contract found in ``cwd``."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    environment = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([command, "--no-cache"], cwd=cwd, env=environment, capture_output=True, text=True)


def test_the_project_keeps_its_layers(tmp_path):
    result = lint_imports(installed_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_wheel_maps_every_package_folder():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, place in PLACES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found.add(".".join((place, *init.parent.relative_to(ROOT / folder).parts)).replace("/", "."))
    assert listed == found


@pytest.mark.parametrize("module, reaching_up", [
    ("accel/arch/config.py", "accel.report.tables"),  # the vocabulary reaching up to the reports
    ("accel/hdl/protocol/sizes.py", "accel.hdl.rtl.pe"),  # inside hdl: the protocol reaching up to the RTL
    ("accel/hdl/rtl/pe.py", "accel.hdl.host.cosim"),  # the RTL reaching up to the host
])
def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path, module, reaching_up):
    path = installed_tree(tmp_path) / module
    path.write_text(path.read_text() + f"\nimport {reaching_up}  # reaching up a layer\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {reaching_up}" in result.stdout
