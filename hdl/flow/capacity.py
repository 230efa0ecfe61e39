"""Whether an array's memories can fit a device's block RAM: a lower bound from the config, before any tool runs.

Each PE's sparse-matrix memory (one ``line_bits``-wide line per read) and its pointer memory are too large
and too wide for logic: they take block RAM, at least as many blocks as their bits fill and, for the line,
as many as its width needs side by side. The smaller memories (register files, codebook, queue) come on
top, so a design this bound refuses cannot fit, and one it passes may still not.
"""

from __future__ import annotations

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.hdl.flow.targets import device_named

SIZINGS = {"ice40": {"spmat_sram_bytes": 1024, "ptr_sram_bytes": 512, "regfile_entries": 16},
           "ecp5": {"spmat_sram_bytes": 2048, "ptr_sram_bytes": 1024, "regfile_entries": 64}}
"""The memories of a family's recorded runs that placed and routed (reports/hdl/synthesis.json): what
``accel synth --device`` takes without a config."""


def block_rams_at_least(config: ArchConfig, device: str) -> int:
    """The fewest block RAMs the array's sparse-matrix and pointer memories can take on ``device``."""
    ram = device_named(device).block_ram
    spmat = max(-(-config.line_bits // ram.widest_port), -(-config.spmat_sram_bytes * 8 // ram.bits))
    pointers = max(1, -(-config.ptr_sram_bytes * 8 // ram.bits))
    return config.n_pes * (spmat + pointers)


def check_fits(config: ArchConfig, device: str) -> None:
    """Refuse, in one line naming the counts, an array whose memories cannot fit ``device``'s block RAM."""
    needed, available = block_rams_at_least(config, device), device_named(device).block_ram.count
    if needed > available:
        pes = f"{config.n_pes} PE{'s' if config.n_pes > 1 else ''}"
        raise UserError(f"{pes} with {config.spmat_sram_bytes:,} bytes of sparse matrix and "
                        f"{config.ptr_sram_bytes:,} bytes of pointers each need at least {needed:,} block RAMs; the "
                        f"{device} has {available}: give fewer PEs or a --config with smaller spmat_sram_bytes and "
                        "ptr_sram_bytes (accel synth --help names the sizes of the recorded runs)")


def device_sizing(device: str) -> ArchConfig:
    """The default config with the memories of the recorded runs on ``device``'s family."""
    return ArchConfig().replace(**SIZINGS[device_named(device).family])
