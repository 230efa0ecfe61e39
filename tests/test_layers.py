"""The import contract of ARCHITECTURE.md: each package imports only the layers below it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accel", "models", "sim", "hdl")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the packages and pyproject.toml contract found in ``cwd``."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    environment = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([command, "--no-cache"], cwd=cwd, env=environment, capture_output=True, text=True)


def test_the_project_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, reaching_up", [
    ("accel/arch/config.py", "accel.report.tables"),  # the vocabulary reaching up to the reports
    ("hdl/protocol/sizes.py", "hdl.rtl.pe"),  # inside hdl: the protocol reaching up to the RTL
    ("hdl/rtl/pe.py", "hdl.host.cosim"),  # the RTL reaching up to the host
])
def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path, module, reaching_up):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text() + f"\nimport {reaching_up}  # reaching up a layer\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {reaching_up}" in result.stdout
