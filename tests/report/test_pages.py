"""Report pages: judged targets, embedded reports, sentences and plots built from recorded results."""

import pytest

from accel.report.plots import COMPONENT_COLORS
from accel.sim.energy import MODULES


def test_compression_targets_are_judged_on_rate_and_accuracy_loss():
    from accel.report.index import compression_row

    summary = {"accuracy_dense": 90.0, "accuracy_pruned": 89.6, "accuracy_quantized": 89.4, "rate_pruning_params": 12.5,
               "rate_PQ": 36.0, "rate_PQH": 42.0, "compressed_bytes": 25_000, "wall_seconds": 350, "cpu_seconds": 110}
    assert compression_row("lenet300", summary)[-1] == ("pruning >= 12x: met; P+Q+H >= 40x (paper) within 0.5 pt: missed; "
                                                        "P+Q+H >= 45x (past the paper) within 0.5 pt: missed")
    summary["accuracy_quantized"] = 89.5
    assert "P+Q+H >= 40x (paper) within 0.5 pt: met; P+Q+H >= 45x (past the paper) within 0.5 pt: missed" in \
        compression_row("lenet300", summary)[-1]
    summary["rate_pruning_params"] = 11.9
    assert compression_row("lenet300", summary)[-1].startswith("pruning >= 12x: missed")
    assert compression_row("lenet5", summary)[-1] == ("P+Q+H >= 39x (paper) within 0.5 pt: met; "
                                                      "P+Q+H >= 42x (past the paper) within 0.5 pt: met")


def test_embedded_reports_lose_their_title_and_sit_two_levels_deeper():
    from accel.report.index import demoted

    assert demoted("# Title\n\ntext\n\n## Part\n| a |\n") == ["", "text", "", "#### Part", "| a |"]


def test_overhead_sentence_names_the_layers_whose_overhead_differs_from_the_paper():
    from accel.report.sim import overhead_sentence

    rows = [{"layer": "A", "overhead": 1.04, "paper_overhead": 1.05}, {"layer": "B", "overhead": 1.08, "paper_overhead": 1.22}]
    assert overhead_sentence(rows) == ("Overhead over perfect balance: within 5% of the paper's actual / theoretical ratio "
                                       "on 1 of 2 layers; further on B (1.08 vs 1.22), where the paper's layer loses more "
                                       "to imbalance than the synthetic one.")
    rows[1]["overhead"] = 1.30
    assert overhead_sentence(rows).endswith("further on B (1.30 vs 1.22).")
    assert overhead_sentence(rows[:1]).endswith("on 1 of 1 layers.")
    # Relative: 1.60 is within 5 % of 1.538 (4 %) though 0.062 away.
    assert overhead_sentence([{"layer": "C", "overhead": 1.60, "paper_overhead": 1.538}]).endswith("on 1 of 1 layers.")


def test_every_energy_component_has_a_plot_colour():
    assert set(MODULES) == set(COMPONENT_COLORS)


def test_pareto_front_keeps_the_points_nothing_beats_on_both_axes():
    from accel.report.sweep_plots import pareto_front

    latency, energy = [1.0, 2.0, 3.0, 2.5, 1.0], [5.0, 3.0, 1.0, 4.0, 6.0]
    assert pareto_front(latency, energy) == [0, 1, 2]
    assert pareto_front(latency, energy, keep=[False, True, True, True, True]) == [4, 1, 2]


def test_the_sweep_front_table_holds_only_designs_that_fit():
    from accel.report.sweep import pareto_section

    spec = {"axes": {"workload": ["A", "B"], "n_pes": [4, 8]}, "metrics": ["latency_us", "energy_uJ", "fits_on_chip"]}
    rows = [{"point": 0, "workload": "A", "n_pes": 4, "status": "ok", "latency_us": 2.0, "energy_uJ": 1.0, "fits_on_chip": False},
            {"point": 1, "workload": "A", "n_pes": 8, "status": "ok", "latency_us": 1.0, "energy_uJ": 3.0, "fits_on_chip": True},
            {"point": 2, "workload": "B", "n_pes": 4, "status": "ok", "latency_us": 1.0, "energy_uJ": 1.0, "fits_on_chip": False},
            {"point": 3, "workload": "B", "n_pes": 8, "status": "ok", "latency_us": 2.0, "energy_uJ": 2.0, "fits_on_chip": False}]
    page = "\n".join(pareto_section(spec, rows, {"A": rows[:2], "B": rows[2:]}))
    assert "| A | 8 | 1 | 3 |" in page and "| A | 4 |" not in page and "| B |" not in page.split("(at most")[0]
    assert "no front for B: none of its designs fits on chip" in page and "3 of the 4 points do not fit on chip" in page
    assert "| A | 1 of 2 | 8 |" in page and "| B | 0 of 2 | none |" in page


def test_every_config_field_has_words_for_figures():
    from accel.explore.sweep_spec import CONFIG_FIELDS, EXTRA_AXES
    from accel.report.sweep import AXIS_WORDS

    assert set(CONFIG_FIELDS) | {axis for axes in EXTRA_AXES.values() for axis in axes} <= set(AXIS_WORDS)
    assert not any("_" in words for pair in AXIS_WORDS.values() for words in pair)


def test_log_axes_are_ticked_with_plain_numbers():
    import matplotlib.pyplot as plt

    from accel.report.plots import log_ticks

    figure, axes = plt.subplots()
    axes.set_yscale("log")
    for values, ticks in (([2.2, 470.0], [5, 10, 20, 50, 100, 200]), ([4.5, 19_636.0], [10, 100, 1000, 10_000]),
                          ([0.0156, 1.0], [0.02, 0.05, 0.1, 0.2, 0.5, 1]), ([0.8, 1.25], [0.8, 0.9, 1])):
        log_ticks(axes.yaxis, values)
        assert list(axes.yaxis.get_major_locator().tick_values(0, 1)) == pytest.approx(ticks)
    assert axes.yaxis.get_major_formatter()(10_000, 0) == "10,000"
    plt.close(figure)


def test_scaling_on_paper_is_capped_by_the_scheduler():
    from accel.report.sweep import scaling_on_paper

    record = {"cpu_cores": 2, "computed": 1000, "wall_s": 500.0, "workers": 2, "load_average_1min": 1.0}
    fast = "\n".join(scaling_on_paper(point_s=0.01, efficiency=1.0, record=record))
    assert "| 16 nodes x 2 cores | 32 | 3,600,000 | 3,600,000 |" in fast
    slow = "\n".join(scaling_on_paper(point_s=1.0, efficiency=0.5, record=record))
    assert "| 16 nodes x 16 cores | 256 | 921,600 | 460,800 |" in slow


def test_the_hdl_page_names_a_count_at_100_mhz_on_most_seeds():
    from accel.report.hdl import largest_routed

    def run(pes, seed, mhz):
        return {"device": "ecp5-85f", "design": "d", "n_pes": pes, "seed": seed, "fmax_mhz": mhz, "fits": True}

    runs = [run(64, 1, 93.1), run(64, 2, 100.5), run(64, 3, 103.5), run(32, 1, 101.0), run(32, 2, 100.2), run(32, 3, 104.0)]
    [line] = largest_routed(runs)
    assert "64 PEs reached 100 MHz on 2 of 3 seeds (2, 3)" in line
    assert "the largest at 100 MHz or more on 3 seeds is 32 PEs (worst seed 100.20 MHz)" in line
    [line] = largest_routed([run(64, 1, 93.1), run(64, 2, 99.5), run(64, 3, 103.5)])
    assert " of 3 seeds (" not in line and "no count recorded with 3 seeds reached 100 MHz" in line
