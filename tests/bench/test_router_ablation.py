"""bench/router_ablation.py's pure parts: the routers' run overrides, combining seeds, the table."""

import pytest

from bench.router_ablation import ORACLE, combine, report, router_names, router_overrides


def test_main_comparison_runs_first_and_the_tau_sweep_last():
    assert router_names([0.05, 0.1, 1.0]) == ["pro_kl tau=0.1", "gate", "bag_of_words", "oracle", "uniform",
                                              "pro_kl tau=0.05", "pro_kl tau=1.0"]


def test_router_overrides_without_training():
    assert router_overrides("oracle", None, None, []) == ["weights.mode=oracle", f"weights.function={ORACLE}",
                                                          "orchestrator.path=''"]
    assert router_overrides("uniform", None, None, []) == ["weights.mode=uniform", "orchestrator.path=''"]


def test_combine_averages_prompts_over_seeds_and_keeps_each_seeds_mean():
    runs = [{"values": [0.0, 1.0], "agreement": 1.0, "on_target": 0.5, "segments": 1.0},
            {"values": [1.0, 1.0], "agreement": 1.0, "on_target": 0.7, "segments": 2.0}]
    row = combine(runs)
    assert row["values"] == [0.5, 1.0] and row["seed_means"] == [0.5, 1.0]
    assert row["on_target"] == pytest.approx(0.6) and row["segments"] == 1.5 and row["agreement"] == 1.0


def test_report_gives_paired_differences_to_pro_at_tau_one_tenth():
    pro = {"values": [0.2] * 10, "seed_means": [0.2], "agreement": 1.0, "on_target": 0.5, "segments": 1.0}
    uniform = {"values": [0.1] * 10, "seed_means": [0.1], "agreement": None, "on_target": 0.25, "segments": 1.5}
    table = report({"pro_kl tau=0.1": pro, "uniform": uniform}, "header")
    lines = table.splitlines()
    assert lines[0] == "header"
    assert lines[4] == "| pro_kl tau=0.1 | 0.200 [0.200, 0.200] | — | 0.200 | 1.000 | 0.500 | 1.00 |"
    assert lines[5] == "| uniform | 0.100 [0.100, 0.100] | -0.100 [-0.100, -0.100] | 0.100 | — | 0.250 | 1.50 |"
