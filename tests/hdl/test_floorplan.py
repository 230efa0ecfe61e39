"""The ECP5-85F floorplan: each PE's block RAMs side by side in one row, its multiplier in a DSP row."""

from accel.hdl.flow.floorplan import ECP5_85F_BLOCKS, ECP5_85F_BRAM_ROWS, apply_floorplan, ecp5_85f_floorplan

BRAMS = ("arithmetic.acc.0.0", "pointers.0.0", "spmat.0.0")


def flat_cells(n_pes: int) -> dict[str, dict]:
    cells = {"broadcast.queue.0.0": {"type": "DP16KD", "attributes": {}}}
    for pe in range(n_pes):
        cells |= {f"pe{pe}.{name}": {"type": "DP16KD", "attributes": {}} for name in BRAMS}
        cells[f"pe{pe}.arithmetic.multiplier.dsp"] = {"type": "MULT18X18D", "attributes": {}}
    return cells


def site(name: str) -> tuple[int, int]:
    x, y, _ = name.split("/")
    return int(x[1:]), int(y[1:])


def test_each_pe_gets_neighbouring_block_rams_in_one_row_and_a_dsp_beside_them():
    plan = ecp5_85f_floorplan(flat_cells(16))
    assert "broadcast.queue.0.0" not in plan and len(plan) == 16 * (len(BRAMS) + 1)
    assert len(set(plan.values())) == len(plan)
    rows_used = set()
    for pe in range(16):
        sites = [site(plan[f"pe{pe}.{name}"]) for name in BRAMS]
        rows = {y for _, y in sites}
        assert len(rows) == 1
        row = rows.pop()
        rows_used.add(row)
        columns = [x for x, _ in sites]
        assert max(columns) - min(columns) <= 9  # three sites out of the four per nine columns
        dsp_x, dsp_y = site(plan[f"pe{pe}.arithmetic.multiplier.dsp"])
        assert dsp_y == ECP5_85F_BRAM_ROWS[row] and min(columns) - 9 <= dsp_x <= max(columns) + 9
    assert rows_used == set(ECP5_85F_BRAM_ROWS)


def test_too_many_pes_for_the_rows_give_no_plan():
    per_row = len(ECP5_85F_BLOCKS) * 4 // len(BRAMS)
    assert ecp5_85f_floorplan(flat_cells(per_row * len(ECP5_85F_BRAM_ROWS)))
    assert ecp5_85f_floorplan(flat_cells(per_row * len(ECP5_85F_BRAM_ROWS) + 1)) == {}


def test_a_netlist_with_one_module_per_pe_gets_its_sites_on_the_module_cells():
    modules = {"top": {"cells": {"pe0": {"type": "top.pe0", "attributes": {}}}},
               "top.pe0": {"cells": {name: {"type": "DP16KD", "attributes": {}} for name in BRAMS[1:]}},
               "top.pe0.arithmetic": {"cells": {"acc.0.0": {"type": "DP16KD", "attributes": {}}}},
               "top.pe0.arithmetic.multiplier": {"cells": {"dsp": {"type": "MULT18X18D", "attributes": {}}}}}
    netlist = {"modules": modules}
    assert apply_floorplan(netlist, "top") == len(BRAMS) + 1
    assert "/Y22/EBR" in modules["top.pe0.arithmetic"]["cells"]["acc.0.0"]["attributes"]["BEL"]
    assert all("BEL" in cell["attributes"] for name, module in modules.items() if name != "top"
               for cell in module["cells"].values())
