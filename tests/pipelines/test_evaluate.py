"""The evaluate pipeline end to end on tiny models: 2 objectives, a 2-point grid, 2 held-out prompts."""

import json
import math

import pytest

from pipelines.evaluate import run
from pro_rl.algorithms import hypervolume
from pro_rl.config import ModelConfig, RewardModelConfig, load_config
from pro_rl.data.canonical import read_jsonl
from pro_rl.models.builders import build_orchestrator
from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

OBJECTIVES = ["helpful", "humor"]


def _config(tmp_path, method, in_driver=True, **evaluate):
    """In the driver unless ``in_driver`` is False (the rollout engines and reward actors: needs ``ray_cluster``)."""
    config = load_config("configs/tiny/evaluate.yaml", [
        f"run.output_dir={tmp_path / 'run'}", "orchestrator.path=''", "evaluate.policy=''", f"evaluate.method={method}",
        "evaluate.num_prompts=2", "rollout.max_new_tokens=6", f"rollout.in_driver={str(in_driver).lower()}",
        "resources.reward.num_cpus=0.1",
    ])
    # helpful: an untrained tiny reward model (scores vary between responses); humor: the toy world's truth
    config.reward_models = [RewardModelConfig(name="helpful", model="tiny:gpt2"),
                            RewardModelConfig(name="humor", model="pro_rl.data.toy_world:humor_reward")]
    config.evaluate.grid, config.evaluate.reference_point = [[1.0, 0.0], [0.5, 0.5]], [-2.0, -2.0]
    for key, value in evaluate.items():
        setattr(config.evaluate, key, value)
    return config


def _read_summary(output_dir):
    summary = json.loads((output_dir / "evaluation.json").read_text())
    assert (output_dir / "report.md").read_text().startswith(f"# Evaluation: {summary['method']}")
    assert (output_dir / "plots" / "pareto_front.png").stat().st_size > 1000
    return summary


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_evaluate_wic_policy_with_orchestrator_point(tmp_path, tiny_policy_saver):
    policy = tiny_policy_saver(tmp_path / "policy")
    Conditioning("wic", OBJECTIVES, [0.0, 0.0], [1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]).save(policy / CONDITIONING_FILE)
    orchestrator, tokenizer = build_orchestrator(ModelConfig(model="tiny:xlm-roberta"), OBJECTIVES)
    orchestrator.save_pretrained(tmp_path / "orchestrator")
    tokenizer.save_pretrained(tmp_path / "orchestrator")
    config = _config(tmp_path, "wic", policy=str(policy))
    config.orchestrator.path = str(tmp_path / "orchestrator")

    result = run(config)
    summary = _read_summary(result.output_dir)
    points = summary["points"]
    assert [p["weights"] for p in points] == [[1.0, 0.0], [0.5, 0.5]]
    rewards = [p["rewards"] for p in points] + [summary["orchestrator"]["rewards"]]
    assert all(len(r) == 2 and all(math.isfinite(v) for v in r) for r in rewards)
    assert summary["orchestrator"]["weights"] == pytest.approx([0.5, 0.5], abs=0.5)
    assert sum(summary["orchestrator"]["weights"]) == pytest.approx(1.0)
    assert summary["equal_weights"]["rewards"] == points[1]["rewards"]
    assert summary["hypervolume"] == pytest.approx(hypervolume([p["rewards"] for p in points], [-2.0, -2.0]))
    assert summary["hypervolume"] > 0
    assert result.metrics["eval/hypervolume"] == summary["hypervolume"]
    assert "| orchestrator |" in (result.output_dir / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_evaluate_rewarded_soups_on_the_roles_equals_the_driver(tmp_path, tiny_policy_saver, ray_cluster):
    soups = [str(tiny_policy_saver(tmp_path / "soup0")), str(tiny_policy_saver(tmp_path / "soup1", noise_seed=1))]
    result = run(_config(tmp_path, "soups", in_driver=False, soup_policies=soups))
    summary = _read_summary(result.output_dir)
    assert summary["method"] == "soups" and len(summary["points"]) == 2
    assert all(math.isfinite(v) for p in summary["points"] for v in p["rewards"])
    # the engines interpolate the experts themselves; the same seed in the driver gives the same points
    in_driver = _read_summary(run(_config(tmp_path / "driver", "soups", soup_policies=soups)).output_dir)
    assert [p["rewards"] for p in summary["points"]] == [p["rewards"] for p in in_driver["points"]]
    assert summary["points"][0]["rewards"] != summary["points"][1]["rewards"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_evaluate_fixed_policy_is_one_point(tmp_path, tiny_policy_saver):
    result = run(_config(tmp_path, "fixed", policy=str(tiny_policy_saver(tmp_path / "policy"))))
    summary = _read_summary(result.output_dir)
    assert [(p["label"], p["weights"]) for p in summary["points"]] == [("fixed", None)]
    assert summary["equal_weights"]["label"] == "fixed"
    assert all(math.isfinite(v) for v in summary["points"][0]["rewards"])
    assert "| fixed | — |" in (result.output_dir / "report.md").read_text()
    assert summary["world"] == "mixed toy_world versions"  # a tiny reward model beside a toy-world function


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_evaluate_reports_intervals_over_prompts_and_ground_truth_beside_the_reward_models(tmp_path, tiny_policy_saver):
    config = _config(tmp_path, "fixed", policy=str(tiny_policy_saver(tmp_path / "policy")), num_prompts=3,
                     samples_per_prompt=2, bootstrap_resamples=200)
    config.rollout.max_new_tokens = 12
    result = run(config)
    summary = _read_summary(result.output_dir)
    point = summary["points"][0]
    assert (point["num_prompts"], point["samples_per_prompt"], point["interval_level"]) == (3, 2, 0.95)
    # humor is scored by the toy world's own function: its ground truth equals its reward-model column
    assert point["ground_truth_rewards"][1] == pytest.approx(point["rewards"][1])
    assert point["ground_truth_rewards_interval"][1] == pytest.approx(point["rewards_interval"][1])
    for mean, (low, high) in [*zip(point["rewards"], point["rewards_interval"]),
                              (point["true_scalarised"], point["true_scalarised_interval"]),
                              (point["ground_truth_scalarised"], point["ground_truth_scalarised_interval"])]:
        assert low - 1e-9 <= mean <= high + 1e-9
    per_prompt = point["per_prompt"]
    assert len(per_prompt["ground_truth_scalarised"]) == len(per_prompt["true_scalarised"]) == 3
    assert sum(per_prompt["ground_truth_scalarised"]) / 3 == pytest.approx(point["ground_truth_scalarised"])
    report = (result.output_dir / "report.md").read_text()
    assert "| ground truth: humor | ground truth: w*-scalarised |" in report
    assert "3 held-out prompts × 2 responses each" in report and "95 % bootstrap interval over prompts" in report
    low, high = point["ground_truth_scalarised_interval"]
    assert f"{point['ground_truth_scalarised']:.3f} [{low:.3f}, {high:.3f}]" in report
    assert result.metrics["eval/equal_weights/ground_truth_scalarised"] == point["ground_truth_scalarised"]
    assert result.metrics["eval/equal_weights/ground_truth_scalarised_low"] == low
    samples = read_jsonl(result.output_dir / "samples.jsonl")  # every response, in prompt order
    assert len(samples) == 6 and {row["point"] for row in samples} == {"fixed"}
    assert [row["prompt_index"] for row in samples] == [0, 0, 1, 1, 2, 2]
    assert [row["prompt"] for row in samples[::2]] == [row["prompt"] for row in samples[1::2]]
    assert sum(row["rewards"]["humor"] for row in samples) / 6 == pytest.approx(point["rewards"][1])
    assert "samples" not in summary
