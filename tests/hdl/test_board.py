"""The board build up to the tools: the bridge on the ULX3S-85F's USB serial pins, at a baud its clock can make."""

from pathlib import Path

import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.hdl.flow.board import BoardTop, build_bitstream, uart_divisor
from accel.hdl.flow.pll import ecp5_pll
from accel.hdl.flow.targets import board_named


def test_the_bridge_sits_on_the_boards_uart_pins_behind_a_pll(tmp_path):
    platform = board_named("ulx3s-85f").platform_instance()
    config = ArchConfig(n_pes=1, regfile_entries=2, spmat_sram_bytes=32, ptr_sram_bytes=64)
    pll = ecp5_pll(25, 100)
    plan = platform.prepare(BoardTop(config, uart_divisor(100e6, 115200), pll), name="eie_board")
    plan.extract(str(tmp_path))
    constraints = (tmp_path / "eie_board.lpf").read_text()
    for pin, site in (("clk25_0__io", "G2"), ("uart_0__rx__io", "M1"), ("uart_0__tx__io", "L4"), ("led_0__io", "B2")):
        assert f'LOCATE COMP "{pin}" SITE "{site}"' in constraints
    assert 'FREQUENCY PORT "clk25_0__io" 25000000' in constraints
    netlist = (tmp_path / "eie_board.il").read_text()
    assert "EHXPLLL" in netlist and "CLKFB_DIV" in netlist


def test_the_pll_settings_are_ecppll_s():
    pll = ecp5_pll(25, 100)
    assert (pll.clki_div, pll.clkfb_div, pll.clkop_div, pll.out_mhz, pll.vco_mhz) == (1, 4, 6, 100, 600)
    near = ecp5_pll(25, 97)  # not a multiple the dividers reach exactly: the nearest one
    assert abs(near.out_mhz - 97) < 0.5 and 400 <= near.vco_mhz <= 800
    with pytest.raises(UserError, match="10 to 400 MHz"):
        ecp5_pll(25, 500)


def test_board_builds_refuse_unknown_boards_and_unreachable_baud_rates(tmp_path):
    with pytest.raises(UserError, match="choose one of ulx3s-85f"):
        board_named("icestick")
    for baud in (27_000_000, 40_000_000):  # 3.7 and 2.5 clocks per bit of the 100 MHz core clock
        with pytest.raises(UserError, match="at least 4 clocks per bit within 2 %"):
            build_bitstream(ArchConfig(n_pes=1), "ulx3s-85f", tmp_path, baud=baud)
    assert not any(tmp_path.iterdir())


def test_a_build_names_its_commit_and_only_source_changes_mark_it(tmp_path):
    import subprocess

    from accel.arch.source import source_commit

    commit = source_commit()
    if commit is None:
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parent).stdout.strip()
    assert commit.removesuffix("+changes") == head
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parent).stdout.splitlines()
    source_changed = any(not line[3:].startswith("reports/") for line in status)
    assert commit.endswith("+changes") == source_changed
