"""The compare_methods pipeline: its wiring, the comparison tables on hand-made fronts, and a tiny run of all six."""

import json
import math
from pathlib import Path

import pytest

from pipelines.compare_methods import evaluation_config, one_hot, online_prompts, reward_overrides, run
from pipelines.comparison_report import compare, default_point, seed_spread_section, write_comparison
from pro_rl.config import ConfigError, load_config

CONFIG = "configs/tiny/compare_methods.yaml"


def _summary(method, points, orchestrator=None, equal_index=None):
    """An evaluation.json-shaped summary of hand-made points ((weights, rewards, true_scalarised) triples)."""
    rows = [{"label": f"p{i}", "weights": w, "rewards": r, "true_scalarised": t, "on_front": True}
            for i, (w, r, t) in enumerate(points)]
    return {"method": method, "objectives": ["a", "b"], "points": rows, "orchestrator": orchestrator,
            "equal_weights": rows[equal_index] if equal_index is not None else None}


def test_comparison_uses_one_reference_point_and_the_joint_front():
    summaries = {
        "ric_online": _summary("ric", [([1.0, 0.0], [2.0, 0.0], 0.5), ([0.5, 0.5], [1.0, 1.0], 0.7)], equal_index=1),
        "morlhf": _summary("fixed", [(None, [0.5, 0.5], 0.4)], equal_index=0),  # dominated by (1, 1)
        "pro_wic": _summary("wic", [([1.0, 0.0], [0.0, 3.0], 0.2), ([0.5, 0.5], [1.0, 1.0], 0.6)], equal_index=1,
                            orchestrator={"label": "orchestrator", "weights": [0.6, 0.4], "rewards": [1.5, 1.5],
                                          "true_scalarised": 0.9}),
    }
    result = compare(summaries, [0.0, 0.0])
    rows = result["methods"]
    assert result["reference_point"] == [0.0, 0.0]
    # hypervolume above (0, 0): ric 2*0 + 1*1 → boxes [0,2]x[0,0] (empty) and [0,1]x[0,1]: 1; morlhf 0.25;
    # pro_wic: [0,0]x[0,3] (empty) and [0,1]x[0,1]: 1
    assert rows["ric_online"]["hypervolume"] == pytest.approx(1.0)
    assert rows["morlhf"]["hypervolume"] == pytest.approx(0.25)
    assert rows["pro_wic"]["hypervolume"] == pytest.approx(1.0)
    # joint front of all five points: (2,0), (1,1) twice and (0,3) are not dominated; (0.5,0.5) is
    assert (rows["ric_online"]["joint_front"], rows["morlhf"]["joint_front"], rows["pro_wic"]["joint_front"]) == (2, 0, 2)
    assert rows["morlhf"]["label"] == "MORLHF (uniform weights)"
    assert rows["ric_online"]["equal_weights_mean"] == pytest.approx(1.0)
    # without user weights: PRO-WIC answers with the orchestrator's point, RiC with equal weights
    assert rows["pro_wic"]["default_rewards"] == [1.5, 1.5] and rows["pro_wic"]["default_true_scalarised"] == 0.9
    assert rows["ric_online"]["default_true_scalarised"] == 0.7
    assert default_point(summaries["morlhf"])["rewards"] == [0.5, 0.5]
    # an empty reference point: the minimum over every method's points, minus 1
    assert compare(summaries, [])["reference_point"] == [-1.0, -1.0]


def _paired_point(values, rewards=(1.0, 1.0)):
    """A default point with per-prompt ground-truth values and intervals, as pro_rl.training.evaluation writes it."""
    mean = sum(values) / len(values)
    return {"label": "p", "weights": None, "rewards": list(rewards), "true_scalarised": mean, "on_front": True,
            "rewards_interval": [[r - 0.5, r + 0.5] for r in rewards], "true_scalarised_interval": [mean - 0.1, mean + 0.1],
            "ground_truth_scalarised": mean, "ground_truth_scalarised_interval": [mean - 0.2, mean + 0.2],
            "per_prompt": {"true_scalarised": list(values), "ground_truth_scalarised": list(values)}}


def test_pro_against_each_baseline_paired_over_prompts_with_generated_verdicts(tmp_path):
    def fixed(values):
        point = _paired_point(values)
        return {"method": "fixed", "objectives": ["a", "b"], "points": [point], "orchestrator": None,
                "equal_weights": point}

    baseline = [0.0, 0.1, 0.2, 0.3]
    summaries = {"morlhf": fixed(baseline), "pro_morlhf": fixed([v + 0.3 for v in baseline]),
                 "moslim": fixed([v + 0.3 for v in baseline])}
    comparison = write_comparison(summaries, tmp_path, [0.0, 0.0], resamples=200)
    paired = {(row["method"], row["baseline"]): row for row in comparison["paired"]}
    assert set(paired) == {("pro_morlhf", "morlhf"), ("pro_morlhf", "moslim")}
    ahead = paired[("pro_morlhf", "morlhf")]["difference"]
    assert (ahead["mean"], ahead["low"], ahead["high"]) == pytest.approx((0.3, 0.3, 0.3))
    assert paired[("pro_morlhf", "moslim")]["difference"]["mean"] == pytest.approx(0.0, abs=1e-12)
    report = (tmp_path / "report.md").read_text()
    assert "- PRO-MORLHF is ahead of MORLHF (uniform weights) by 0.300 [0.300, 0.300] on the w*-scalarised " \
           "ground-truth reward" in report
    assert "- PRO-MORLHF and MOSLIM: no significant difference (+0.000 [+0.000, +0.000])" in report
    assert "| PRO-MORLHF − MORLHF (uniform weights) | w*-scalarised ground-truth reward | +0.300 [+0.300, +0.300] |" \
        in report
    # the default-point table: each mean with its interval, the ground truth beside the reward models
    assert "| MORLHF (uniform weights) | its policy | 1.000 [0.500, 1.500] | 1.000 [0.500, 1.500] | " \
           "0.150 [0.050, 0.250] | 0.150 [-0.050, 0.350] |" in report


def test_comparison_states_the_toy_world_version(tmp_path):
    summaries = {"morlhf": _summary("fixed", [(None, [0.5, 0.5], 0.4)], equal_index=0)}
    comparison = write_comparison(summaries, tmp_path, [0.0, 0.0], resamples=10, world="toy_world v2 (graded)")
    assert comparison["world"] == "toy_world v2 (graded)"
    assert (tmp_path / "report.md").read_text().splitlines()[2] == "Rewards: toy_world v2 (graded)."
    assert "world" not in write_comparison(summaries, tmp_path, [0.0, 0.0], resamples=10)


def test_spread_across_seeds_of_hypervolume_default_point_and_paired_difference():
    def fixed(values, rewards):
        point = {**_paired_point(values, rewards), "on_front": True}
        return {"method": "fixed", "objectives": ["a", "b"], "points": [point], "orchestrator": None,
                "equal_weights": point}

    base = [0.0, 0.2, 0.4]
    per_seed = [{"morlhf": fixed(base, (1.0, 1.0)), "pro_morlhf": fixed([v + 0.1 for v in base], (2.0, 1.0))},
                {"morlhf": fixed(base, (1.0, 2.0)), "pro_morlhf": fixed([v + 0.3 for v in base], (2.0, 2.0))}]
    assert seed_spread_section(per_seed[:1], [0], [0.0, 0.0]) == {}
    spread = seed_spread_section(per_seed, [0, 1], [0.0, 0.0], resamples=100)
    assert spread["seeds"] == [0, 1]
    # hypervolume above (0, 0) of a single point is the product of its rewards
    assert spread["methods"]["pro_morlhf"]["hypervolume"]["values"] == pytest.approx([2.0, 4.0])
    morlhf = spread["methods"]["morlhf"]["default_scalarised"]
    assert [morlhf["mean"], morlhf["std"], *morlhf["values"]] == pytest.approx([0.2, 0.0, 0.2, 0.2])
    pair = spread["paired"]["pro_morlhf - morlhf"]
    assert pair["values"] == pytest.approx([0.1, 0.3]) and pair["std"] == pytest.approx(0.2 / 2 ** 0.5)
    assert "| PRO-MORLHF | 3.000 ± 1.414 (2.000, 4.000) | 0.400 ± 0.141 (0.300, 0.500) |" in spread["lines"]
    assert "| PRO-MORLHF − MORLHF (uniform weights) | 0.200 ± 0.141 (0.100, 0.300) |" in spread["lines"]


def test_stage_wiring_reads_the_budget_from_the_configs():
    config = load_config(CONFIG)
    assert reward_overrides(config)[:2] == ["reward_models.0.name=helpful",
                                            "reward_models.0.model=pro_rl.data.toy_world:helpful_reward"]
    assert one_hot(1, 3) == "[0.0,1.0,0.0]"
    # 150 RL steps x 8 prompts x 4 samples = 4800 responses; PRO-WIC: 2 iterations x 2 samples per prompt
    assert online_prompts(config, 4800) == 1200
    evaluation = evaluation_config(config, "rewarded_soups", {"soup_policies": ["a", "b", "c"]}, Path("out"))
    assert evaluation.evaluate.method == "soups" and evaluation.evaluate.soup_policies == ["a", "b", "c"]
    assert evaluation.orchestrator.path == "" and evaluation.run.output_dir == "out/evaluations/rewarded_soups"
    # run.seeds: a later seed's evaluation has its own directory and run name, and samples with the same seed
    later = evaluation_config(config, "morlhf", {"policy": "p"}, Path("out"), "_seed1")
    assert later.run.output_dir == "out/evaluations/morlhf_seed1" and later.run.name.endswith("-eval-morlhf_seed1")
    assert later.run.seed == config.run.seed and config.evaluate.samples_per_prompt == 4


def test_compare_section_is_validated():
    with pytest.raises(ConfigError, match="compare.methods.1"):
        load_config(CONFIG, ["compare.methods=[morlhf,ppo]"])
    with pytest.raises(ConfigError, match="compare.rl_steps"):
        load_config(CONFIG, ["compare.rl_steps=2"])
    with pytest.raises(ConfigError, match="compare.wic_config"):
        load_config(CONFIG, ["compare.wic_config=configs/tiny/missing.yaml"])


# The stages and the evaluations generate and score in the driver (rollout.in_driver, in compare.overrides and at the
# top): each would start its own rollout engine and reward actors, minutes in all on 2 cores; test_evaluate,
# test_pro_wic and test_rewarded_soups run those stages on the roles.
TINY = ["compare.rl_steps=3", "evaluate.num_prompts=3", "rollout.max_new_tokens=6", "rollout.in_driver=true",
        "evaluate.grid=[[1.0,0.0,0.0],[0.0,0.5,0.5],[0.3333333333333333,0.3333333333333333,0.3333333333333334]]",
        "compare.overrides=[policy.sft_steps=2,orchestrator.training.max_steps=2,wic.online_steps=1,"
        "wic.online_iterations=1,rollout.max_new_tokens=6,rollout.in_driver=true,run.progress=false,moslim.training.max_steps=2,"
        "moslim.toy_rows=200]"]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_compare_methods_tiny_run_then_resume(tmp_path, ray_cluster):
    result = run(load_config(CONFIG, [f"run.output_dir={tmp_path}", *TINY]))
    report = (tmp_path / "report.md").read_text()
    for label in ("MORLHF (uniform weights)", "Rewarded Soups", "RiC (offline)", "RiC (online)", "PRO-WIC", "PRO-MORLHF",
                  "SGA-SFT", "SGA-DPO", "MOSLIM", "MORA"):
        assert report.count(f"| {label} |") == 3  # equal-weight, hypervolume and default-weight tables
    assert (tmp_path / "plots" / "pareto_fronts.png").stat().st_size > 10_000
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    rows = comparison["methods"]
    assert rows["rewarded_soups"]["points"] == 3 and rows["morlhf"]["points"] == rows["mora"]["points"] == 1
    assert rows["sga_dpo"]["points"] == 3 and rows["moslim"]["points"] == 3  # fronts over the grid
    assert rows["sga_sft"]["default"] == "sensed scores ŝ(x)" and rows["moslim"]["default"] == "no tags"
    stages = json.loads((tmp_path / "stages.json").read_text())
    assert all(stage["wall_s"] > 0 for stage in stages.values())
    assert all(math.isfinite(row["hypervolume"]) and row["hypervolume"] >= 0 for row in rows.values())
    assert result.metrics["compare/pro_wic/hypervolume"] == rows["pro_wic"]["hypervolume"]
    # every stage ran into its own run directory; RiC offline had no online stage
    for name in ("helpful", "harmless", "humor"):
        assert (tmp_path / "methods" / "rewarded_soups" / name / "final" / "policy" / "config.json").is_file()
    assert not (tmp_path / "methods" / "ric_offline" / "stages" / "online-1").exists()
    assert (tmp_path / "methods" / "pro_wic" / "stages" / "online-1" / "final" / "policy").is_dir()
    # the toy world's prompts carry w*, so every default point has a w*-scalarised reward
    assert all(row["default_true_scalarised"] is not None for row in rows.values())
    # PRO-MORLHF and PRO-WIC paired with each of the 8 other methods, SGA's sensed point included
    assert len(comparison["paired"]) == 16 and all(row["difference"]["num_prompts"] == 3 for row in comparison["paired"])

    # resume: every stage is recorded as finished, so a second run trains nothing and reproduces the comparison
    stamps = {path: path.stat().st_mtime for path in tmp_path.glob("methods/*/metrics.jsonl")}
    run(load_config(CONFIG, [f"run.output_dir={tmp_path}", *TINY]))
    assert {path: path.stat().st_mtime for path in tmp_path.glob("methods/*/metrics.jsonl")} == stamps
    assert json.loads((tmp_path / "comparison.json").read_text()) == comparison
    # a changed setting re-runs the stages it reaches, and only those: more RL steps reach MORLHF, not the soups'
    # experts (rl_steps // 3 steps each: 1 either way) or RiC offline (no RL stage); three methods keep it short
    methods = "compare.methods=[morlhf,rewarded_soups,ric_offline]"
    run(load_config(CONFIG, [f"run.output_dir={tmp_path}", *TINY, "compare.rl_steps=4", methods]))
    changed = {path.parent.name for path, stamp in stamps.items() if path.stat().st_mtime != stamp}
    assert changed == {"morlhf"}
    assert set(json.loads((tmp_path / "comparison.json").read_text())["methods"]) == {
        "morlhf", "rewarded_soups", "ric_offline"}
