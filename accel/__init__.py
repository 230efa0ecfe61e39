"""eie-accel: Deep Compression and the EIE accelerator.

Subpackages, bottom to top: ``accel.arch`` (the architecture vocabulary), then ``accel.models``,
``accel.sim`` and ``accel.hdl`` (the folders models/, sim/ and hdl/ beside this one), then
``accel.explore`` (measurements), ``accel.report`` (rendering) and ``accel.cli`` (the command line). ARCHITECTURE.md at the top of the repository draws the layers.
"""

__version__ = "0.1.0"
"""The package version (pyproject.toml reads it from here), known without reading installed metadata."""
