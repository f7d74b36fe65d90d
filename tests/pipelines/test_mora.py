"""MORA end to end on the capped toy world, in the driver (a short warm-up, 2 seeds, 2 DPO steps per arm): the run
directory, the summary and report.md with every measure, P and P' linked in the pairs, and a resume that reruns only
the stages whose record is missing."""

import json

import pytest

from pipelines import run
from pro_rl.config import load_config
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.mora_world import MORA_WORLD_VERSION

TINY = ["rollout.in_driver=true", "run.seeds=2", "policy.sft_steps=100", "algorithm.prompt_batch_size=8",
        "policy.sft_learning_rate=3e-3", "mora.presample_prompts=24", "mora.samples_per_prompt=4",
        "mora.eval_prompts=6", "mora.eval_samples=1", "mora.training.max_steps=2", "mora.training.min_steps=2",
        "mora.scaling_fractions=[0.5]", "run.resume=auto"]


def _mtimes(stages_dir):
    return {path.parent.name: path.stat().st_mtime_ns for path in stages_dir.glob("*/stage.json")}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_mora_tiny_run_and_resume(tmp_path):
    result = run("configs/tiny/mora.yaml", [f"run.output_dir={tmp_path}", *TINY])
    output = result.output_dir
    summary = json.loads((output / "mora_summary.json").read_text())
    assert summary["world_version"] == MORA_WORLD_VERSION and summary["seeds"] == [0, 1]
    assert json.loads((output / "world" / "world.json").read_text())["version"] == MORA_WORLD_VERSION
    assert summary["detection"]["prompts"] == 24 and summary["detection"]["detected"] >= 1
    assert summary["rewrites"]["kept"] == summary["pairs"]["prompts"] >= 1
    assert set(summary["measures"]) == {"before", "after", "elaborated"}
    assert list(summary["headline"]) == ["warm-up (SFT)", "original prompts (control)", "mora"]
    for spreads in summary["headline"].values():
        assert set(spreads) == {"helpful", "harmless", "humor"}
        assert all(len(spread["values"]) == 2 for spread in spreads.values())
    assert set(summary["ablation"]) == {"mora (multi-intent)", "elaboration (equal length)"}
    assert summary["scaling"]["amounts"][0] == 0 and len(summary["scaling"]["amounts"]) == 3
    assert result.metrics["mora/mora/helpful/mean"] == summary["headline"]["mora"]["helpful"]["mean"]
    report = (output / "report.md").read_text()
    for section in ("## Single-reward detection", "## Before and after rewriting", "## Headline", "## Ablation",
                    "## Data scaling", MORA_WORLD_VERSION):
        assert section in report
    assert (output / "final" / "policy" / "model.safetensors").is_file()

    # P and P' both in the data, linked: every MORA pair's prompt is a rewrite of a mined prompt
    stages = output / "stages"
    rewrites = {row["rewrite"]: row["original"] for row in read_jsonl(stages / "rewrite" / "rewrites.jsonl")}
    pairs = read_jsonl(stages / "pairs-seed0" / "pairs_mora.jsonl")
    assert pairs and all(rewrites[pair["prompt"]] == pair["original"] != pair["prompt"] for pair in pairs)

    # resume after a kill during the second seed's MORA DPO: only that stage and what follows it run again
    before = _mtimes(stages)
    for name in ("dpo-mora-seed1", "eval-mora-seed1"):
        (stages / name / "stage.json").unlink()
    resumed = run("configs/tiny/mora.yaml", [f"run.output_dir={tmp_path}", *TINY])
    after = _mtimes(stages)
    assert {name for name in after if after[name] != before.get(name)} == {"dpo-mora-seed1", "eval-mora-seed1"}
    assert resumed.metrics == result.metrics


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_mora_joins_the_comparison(tmp_path):
    """compare_methods trains MORA from the shared SFT warm-up on the comparison's prompts and rewards (the toy world,
    which caps nothing) and evaluates its one policy like the other methods."""
    from pipelines.compare_methods import run as compare

    compare(load_config("configs/tiny/compare_methods.yaml", [
        f"run.output_dir={tmp_path}", "rollout.in_driver=true", "compare.methods=[mora]", "compare.rl_steps=3",
        "evaluate.num_prompts=3", "evaluate.grid=[[1.0,0.0,0.0],[0.0,0.5,0.5]]", "evaluate.samples_per_prompt=1",
        "evaluate.bootstrap_resamples=50",
        "compare.overrides=[policy.sft_steps=2,rollout.max_new_tokens=8,rollout.in_driver=true,run.progress=false,"
        "mora.eval_prompts=3,mora.eval_samples=1]"]))
    mora_run = tmp_path / "methods" / "mora"
    config = load_config(mora_run / "config.yaml")
    assert (config.mora.world, config.mora.arms, config.policy.sft_steps) == ("data", ["mora"], 0)
    assert config.policy.model == str(tmp_path / "sft" / "final" / "policy")
    # the budget: 3 RL steps x 8 prompts x 4 samples = 96 responses; 96 / (2 * 8) prompts pre-sampled; 96 / 32 steps
    assert (config.mora.presample_prompts, config.mora.training.max_steps) == (6, 3)
    assert (mora_run / "final" / "policy" / "config.json").is_file()
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    assert comparison["methods"]["mora"]["label"] == "MORA" and comparison["methods"]["mora"]["points"] == 1
    assert (tmp_path / "report.md").read_text().count("| MORA |") == 3
