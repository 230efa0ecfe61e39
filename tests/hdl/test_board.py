"""The board build up to the tools: the bridge on the ULX3S-85F's USB serial pins, at a baud its clock can make."""

import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from hdl.board import BoardTop, board_platform, build_bitstream


def test_the_bridge_sits_on_the_boards_uart_pins(tmp_path):
    platform = board_platform("ulx3s-85f")
    config = ArchConfig(n_pes=1, regfile_entries=2, spmat_sram_bytes=32, ptr_sram_bytes=64)
    plan = platform.prepare(BoardTop(config, round(platform.default_clk_frequency / 115200)), name="eie_board")
    plan.extract(str(tmp_path))
    constraints = (tmp_path / "eie_board.lpf").read_text()
    for pin, site in (("clk25_0__io", "G2"), ("uart_0__rx__io", "M1"), ("uart_0__tx__io", "L4"), ("led_0__io", "B2")):
        assert f'LOCATE COMP "{pin}" SITE "{site}"' in constraints
    assert "FREQUENCY PORT" in constraints


def test_board_builds_refuse_unknown_boards_and_unreachable_baud_rates(tmp_path):
    with pytest.raises(UserError, match="choose one of ulx3s-85f"):
        board_platform("icestick")
    for baud in (3_000_000, 10_000_000):  # 8.33 and 2.5 clocks per bit
        with pytest.raises(UserError, match="at least 4 clocks per bit within 2 %"):
            build_bitstream(ArchConfig(n_pes=1), "ulx3s-85f", tmp_path, baud=baud)
    assert not any(tmp_path.iterdir())
