"""Optional parts of the tool (the ``test``, ``synth`` and ``dask`` extras): whether they are installed, and the one
command that installs them, from a checkout or a wheel alike."""

from __future__ import annotations

import importlib.util
import re
import shlex
from importlib.metadata import PackageNotFoundError, distribution

from accel.arch.errors import UserError

DISTRIBUTION = "eie-accel"


def install_command(extra: str) -> str:
    """The extra's own requirements, by name and version range: what installs it however the tool was installed."""
    try:
        requires = distribution(DISTRIBUTION).requires or []
    except PackageNotFoundError:
        return f"pip install -e '.[{extra}]' (from the checkout)"
    marker = re.compile(rf"""\s*;\s*extra\s*==\s*["']{re.escape(extra)}["']\s*$""")
    return "pip install " + " ".join(shlex.quote(marker.sub("", line)) for line in requires if marker.search(line))


def require(modules: tuple[str, ...], extra: str, what: str) -> None:
    """Raise a one-line UserError naming the install command when any of ``modules`` cannot be imported."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise UserError(f"{what} needs {', '.join(missing)} (the [{extra}] extra), which is not installed: "
                        f"{install_command(extra)}")
