"""`accel run --port`: the host talks to a serial port behind which the bridge and array run in Amaranth's simulator."""

import json
import os
import pty
import threading
import tty

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.arch.config import ArchConfig
from accel.arch.layer import QuantizedLayer
from accel.cli import main
from accel.hdl.rtl.uart_bridge import UARTBridge

TINY = dict(n_pes=2, regfile_entries=2, line_bits=16, spmat_sram_bytes=32, ptr_sram_bytes=64, fifo_depth=2)
DIVISOR = 4


def serve(master: int, stop: threading.Event) -> None:
    """The 'board': bytes from the pty go onto the bridge's rx pin bit by bit; bytes on tx go back."""
    bridge = UARTBridge(ArchConfig(**TINY), DIVISOR)

    async def receive(ctx) -> None:
        while not stop.is_set():
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                await ctx.tick().repeat(50)
                continue
            for byte in data:
                for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                    ctx.set(bridge.rx, bit)
                    await ctx.tick().repeat(DIVISOR)

    async def transmit(ctx) -> None:
        while True:
            while ctx.get(bridge.tx):
                await ctx.tick()
            await ctx.tick().repeat(DIVISOR // 2)
            byte = 0
            for bit in range(8):
                await ctx.tick().repeat(DIVISOR)
                byte |= ctx.get(bridge.tx) << bit
            await ctx.tick().repeat(DIVISOR)
            os.write(master, bytes([byte]))

    simulator = Simulator(bridge)
    simulator.add_clock(1e-6)
    simulator.add_testbench(receive)
    simulator.add_testbench(transmit, background=True)
    simulator.run()


def test_run_over_a_serial_port_matches_the_simulator(tmp_path, capsys):
    rng = np.random.default_rng(3)
    codes = (rng.random((6, 10)) < 0.4) * rng.integers(1, 16, (6, 10))
    QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-2, 2, 15)], bias=rng.standard_normal(6),
                   name="tiny").save(tmp_path / "tiny.npz")
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    try:
        master, slave = pty.openpty()
    except OSError as error:
        pytest.skip(f"no pseudo-terminal here: {error}")
    tty.setraw(master)
    os.set_blocking(master, False)
    stop = threading.Event()
    board = threading.Thread(target=serve, args=(master, stop), daemon=True)
    board.start()
    try:
        status = main(["run", str(tmp_path / "tiny.npz"), "--port", os.ttyname(slave), "--config",
                       str(tmp_path / "tiny.json"), "--timeout", "120"])
    finally:
        stop.set()
        board.join(timeout=30)
        os.close(master)
        os.close(slave)
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "tiny" in printed and "yes" in printed and "NO" not in printed
