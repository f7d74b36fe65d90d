"""The demo's verdict and spread across seeds from hand-made evaluated points (no training)."""

import pytest

from pipelines.demo_evaluation import held_out_lines, seed_average, spread_lines, verdict_summary


def point(values, rewards=(0.1, 0.2, 0.3)):
    """An evaluated point as evaluation.json holds it: per-prompt ground-truth values and their means."""
    mean = sum(values) / len(values)
    return {"label": "fixed", "weights": None, "rewards": list(rewards), "true_scalarised": mean,
            "rewards_interval": [[r - 0.1, r + 0.1] for r in rewards], "true_scalarised_interval": [mean - 0.1, mean],
            "ground_truth_rewards": list(rewards), "ground_truth_rewards_interval": [[r, r] for r in rewards],
            "ground_truth_scalarised": mean, "ground_truth_scalarised_interval": [mean - 0.05, mean + 0.05],
            "num_prompts": len(values), "samples_per_prompt": 4, "interval_level": 0.95,
            "per_prompt": {"true_scalarised": list(values), "ground_truth_scalarised": list(values)}}


BASELINE = [0.0, 0.2, 0.4, 0.6, 0.8]


def test_one_seed_verdict_is_generated_from_the_paired_interval():
    verdict = verdict_summary({"pro_morlhf": [point([v + 0.25 for v in BASELINE])],
                               "morlhf_uniform": [point(BASELINE)]}, resamples=300)
    assert verdict["key"] == "ground_truth_scalarised"
    assert (verdict["difference"]["low"], verdict["difference"]["high"]) == pytest.approx((0.25, 0.25))
    assert verdict["sentence"].startswith("PRO-MORLHF is ahead of MORLHF by 0.250 [0.250, 0.250] on the "
                                          "w*-scalarised ground-truth reward")
    assert spread_lines(verdict, [0]) == []  # one seed: no spread section


def test_seeds_are_averaged_per_prompt_for_the_verdict_and_spread_across_seeds():
    # seed 0: PRO 0.2 ahead on every prompt; seed 1: 0.2 behind on every prompt → averaged: no difference
    pro = [point([v + 0.2 for v in BASELINE]), point([v - 0.2 for v in BASELINE])]
    verdict = verdict_summary({"pro_morlhf": pro, "morlhf_uniform": [point(BASELINE), point(BASELINE)]},
                              resamples=300)
    assert seed_average(pro)["per_prompt"]["ground_truth_scalarised"] == pytest.approx(BASELINE)
    assert verdict["difference"]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert "no significant difference (+0.000 [+0.000, +0.000])" in verdict["sentence"]
    assert [row["difference"]["mean"] for row in verdict["seeds"]] == pytest.approx([0.2, -0.2])
    spread = verdict["spread"]["difference"]
    assert spread["mean"] == pytest.approx(0.0, abs=1e-12) and spread["std"] == pytest.approx(0.4 / 2 ** 0.5)
    assert verdict["spread"]["pro_morlhf"]["values"] == pytest.approx([0.6, 0.2])
    lines = spread_lines(verdict, [0, 1])
    assert "| 0 | 0.600 | 0.400 | +0.200 [+0.200, +0.200] |" in lines
    assert "| mean ± std | 0.400 ± 0.283 | 0.400 ± 0.000 | 0.000 ± 0.283 |" in lines


def test_no_verdict_without_ground_truth_weights():
    bare = {**point(BASELINE), "per_prompt": {}}
    verdict = verdict_summary({"pro_morlhf": [bare], "morlhf_uniform": [bare]})
    assert verdict["difference"] is None and verdict["sentence"].startswith("No verdict")


def test_held_out_lines_put_the_verdict_first_and_intervals_in_both_tables():
    verdict = verdict_summary({"pro_morlhf": [point([0.5] * 5)], "morlhf_uniform": [point([0.1] * 5)]},
                              resamples=100)
    lines = held_out_lines({"PRO-MORLHF": point([0.5] * 5), "MORLHF": point([0.1] * 5)},
                           ["helpful", "harmless", "humor"], verdict)
    assert lines[0] == f"**{verdict['sentence']}**" and "ahead of MORLHF by 0.400" in lines[0]
    assert "5 × 4 sampled responses each" in lines[2]
    assert "| PRO-MORLHF | 0.100 [0.000, 0.200] | 0.200 [0.100, 0.300] | 0.300 [0.200, 0.400] | 0.500 [0.400, 0.500] |" \
        in lines
    assert "| MORLHF | 0.100 [0.100, 0.100] | 0.200 [0.200, 0.200] | 0.300 [0.300, 0.300] | **0.100 [0.050, 0.150]** |" \
        in lines
