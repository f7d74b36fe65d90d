"""MORA's report: every section from a full summary, and the notes of a summary whose stages did not run."""

from pipelines.mora_report import PLOTS, format_spread, write_report

OBJECTIVES = ["helpful", "harmless", "humor"]


def spread(mean, std=0.0):
    return {"mean": mean, "std": std, "values": [mean]}


def full_summary():
    return {
        "run_name": "tiny-mora", "world_version": "capped-1", "objectives": OBJECTIVES, "mode": "simultaneous",
        "seeds": [0, 1, 2],
        "detection": {"rule": {"statistic": "max", "high": 0.3, "low": 0.3}, "prompts": 100, "detected": 68,
                      "precision": 0.97, "recall": 0.94,
                      "study": [{"rule": {"statistic": "mean", "high": 0.2, "low": 0.2}, "precision": float("nan"),
                                 "recall": 0.5}]},
        "rewrites": {"rewriter": "template", "attempted": 68, "kept": 66,
                     "skipped": {"empty": 1, "too_long": 0, "question_dropped": 1, "unchanged": 0},
                     "length_gap": {"mean": 0.25, "max": 1}},
        "measures": {"before": {"variance": {"helpful": 0.2, "harmless": 0.05, "humor": 0.04}, "coverage": 0.12,
                                "coverage_spread": spread(0.12, 0.01)},
                     "after": {"variance": {"helpful": 0.3, "harmless": 0.2, "humor": 0.25}, "coverage": 0.61}},
        "pairs": {"prompts": 66, "pairs": 60, "mean_margin": 1.25},
        "headline": {"sft": {o: spread(0.1) for o in OBJECTIVES},
                     "mora": {"helpful": spread(0.5, 0.02), "harmless": spread(0.4, 0.03), "humor": spread(0.3, 0.01)}},
        "ablation": {"mora (multi-intent)": {o: spread(0.4, 0.02) for o in OBJECTIVES},
                     "elaboration (equal length)": {o: spread(0.2, 0.05) for o in OBJECTIVES}},
        "scaling": {"amounts": [0, 16, 32], "rewards": {o: [0.1, 0.2, 0.3] for o in OBJECTIVES},
                    "std": {o: [0.0, 0.01, 0.02] for o in OBJECTIVES}},
        "mora_minus_original": {**{o: spread(0.1, 0.01) for o in OBJECTIVES}, "sum": spread(0.3, 0.02)},
        "by_prompt_type": {"single": {"mora": {o: spread(0.2) for o in OBJECTIVES}},
                           "multi": {"mora": {o: spread(0.6) for o in OBJECTIVES}}},
    }


def test_full_report_has_every_section_and_plot(tmp_path):
    path = write_report(full_summary(), tmp_path)
    report = path.read_text()
    assert path == tmp_path / "report.md"
    assert "the capped MORA world, version `capped-1`" in report
    assert "| max | 0.3000 | 0.3000 | 0.9700 | 0.9400 |" in report
    assert "| mean | 0.2000 | 0.2000 | — | 0.5000 |" in report  # NaN precision prints as a dash
    assert "Kept 66 of 68 rewrites; skipped 2 (never trained on)." in report
    assert "| question_dropped | 1 |" in report
    assert "| before | 0.2000 | 0.0500 | 0.0400 | 0.1200 ± 0.0100 |" in report
    assert "on average, at most 1.0000." in report
    assert "| after | 0.3000 | 0.2000 | 0.2500 | 0.6100 |" in report
    assert "60 pairs from 66 prompts" in report and "mean margin 1.2500" in report
    assert "| mora | 0.5000 ± 0.0200 | 0.4000 ± 0.0300 | 0.3000 ± 0.0100 | 1.2000 |" in report
    assert "| elaboration (equal length) | 0.2000 ± 0.0500 |" in report
    assert "| 32 | 0.3000 | 0.3000 | 0.3000 |" in report
    assert "| difference | 0.1000 ± 0.0100 | 0.1000 ± 0.0100 | 0.1000 ± 0.0100 | 0.3000 ± 0.0200 |" in report
    assert "invite several:\n\n| policy | helpful | harmless | humor | sum |" in report
    assert "| mora | 0.6000 ± 0.0000 | 0.6000 ± 0.0000 | 0.6000 ± 0.0000 | 1.8000 |" in report
    for plot in PLOTS.values():
        assert (tmp_path / plot).stat().st_size > 1000
        assert f"]({plot})" in report


def test_missing_stages_are_said_and_not_plotted(tmp_path):
    summary = {"run_name": "partial", "objectives": OBJECTIVES, "world_version": None,
               "detection": {"rule": {"statistic": "max", "high": 0.3, "low": 0.3}, "prompts": 10, "detected": 4,
                             "precision": None, "recall": None}}
    report = write_report(summary, tmp_path).read_text()
    assert "not the MORA world (no ground truth)" in report
    assert "no ground truth, so precision and recall are not given" in report
    for note in ("No prompt was rewritten.", "were not computed", "No pairs were built.", "No policy was evaluated.",
                 "The ablation did not run.", "The data-scaling runs did not run."):
        assert note in report
    assert not (tmp_path / "plots").exists()


def test_format_spread():
    assert format_spread(spread(0.51234, 0.03)) == "0.5123 ± 0.0300"
    assert format_spread(None) == "—"
