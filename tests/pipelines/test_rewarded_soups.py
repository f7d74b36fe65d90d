"""Rewarded Soups end to end: three one-step single-objective RL runs on Ray, then the interpolated front."""

import json
import math

import pytest

from pipelines.rewarded_soups import run, single_objective_overrides
from pro_rl.config import load_config


def test_single_objective_overrides_put_one_hot_weights_last(tmp_path):
    config = load_config("configs/tiny/rewarded_soups.yaml", ["soups.rl_overrides=[weights.mode=uniform]", "orchestrator.path=''"])
    overrides = single_objective_overrides(config, 1, tmp_path)
    assert overrides == ["weights.mode=uniform", "weights.mode=fixed", "weights.fixed=[0.0,1.0,0.0]",
                         f"run.output_dir={tmp_path / 'objectives' / 'harmless'}", "run.name=tiny-rewarded-soups-harmless",
                         "run.resume=never", "run.overwrite=false"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rewarded_soups_tiny_run(tmp_path, ray_cluster, rl_overrides):
    config = load_config("configs/tiny/rewarded_soups.yaml", [
        f"run.output_dir={tmp_path / 'soups'}", "orchestrator.path=''", "evaluate.num_prompts=2",
        "evaluate.grid=[[1.0,0.0,0.0],[0.0,0.5,0.5]]", "rollout.max_new_tokens=6",
    ])
    config.soups.rl_overrides = rl_overrides(tmp_path / "unused", steps=1)  # random tiny policy, 1 RLOO step each
    result = run(config)
    for name in ("helpful", "harmless", "humor"):
        assert (result.output_dir / "objectives" / name / "final" / "policy" / "config.json").is_file()
    summary = json.loads((result.output_dir / "evaluation.json").read_text())
    assert summary["method"] == "soups" and len(summary["points"]) == 2
    assert all(math.isfinite(v) for point in summary["points"] for v in point["rewards"])
    assert math.isfinite(result.metrics["eval/hypervolume"])
