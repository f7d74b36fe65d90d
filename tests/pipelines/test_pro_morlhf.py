"""pipelines/pro_morlhf.py: a few RL steps per algorithm on the session cluster, with every role's actor.

Tiny random policy; the helpful objective is an untrained tiny reward model (its scores differ between responses,
so even a random policy gets a gradient), harmless and humor the toy world's ground-truth functions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import pipelines
from pro_rl.config import load_config
from pro_rl.models.builders import load_policy
from pro_rl.training.loop import batch_indices
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
OBJECTIVES = ("helpful", "harmless", "humor")
STAGES = ("weights", "generate", "score", "reference", "scalarise", "advantages", "update", "sync")

pytestmark = pytest.mark.slow


def changed_parameters(final_dir: Path, config) -> list[str]:
    """Names of the parameters of ``final_dir`` that differ from the initial ``tiny:gpt2`` policy."""
    from transformers import AutoModelForCausalLM

    initial, _ = load_policy("tiny:gpt2", config.policy)
    final = AutoModelForCausalLM.from_pretrained(final_dir)
    before, after = initial.state_dict(), final.state_dict()
    assert before.keys() == after.keys()
    return [name for name in before if not torch.equal(before[name], after[name])]


def assert_step_metrics(records: list[dict], steps: int) -> None:
    """Every logged RL step carries DESIGN.md's metric keys, with finite values."""
    assert [record["step"] for record in records] == list(range(1, steps + 1))
    keys = ([f"reward/{name}/mean" for name in OBJECTIVES] + [f"weights/{name}/mean" for name in OBJECTIVES]
            + ["reward/total/mean", "kl/mean", "time/step_s", "loss/policy"] + [f"time/{stage}_s" for stage in STAGES])
    for record in records:
        missing = [key for key in keys if key not in record]
        assert not missing, f"step {record['step']} lacks {missing}"
        assert all(math.isfinite(record[key]) for key in keys), record
        assert all(record[f"time/{stage}_s"] >= 0 for stage in STAGES)
        assert record["time/step_s"] >= sum(record[f"time/{stage}_s"] for stage in STAGES)


def held_out_prompts(path: Path, rows: int = 4) -> Path:
    """The first rows of the toy world's held-out prompts (with their true weights w*)."""
    lines = (REPO_ROOT / "pro_rl" / "data" / "toy_world_data" / "eval_prompts.jsonl").read_text().splitlines()
    path.write_text("\n".join(lines[:rows]) + "\n")
    return path


@pytest.mark.parametrize("algorithm", ["rloo", "ppo", "online_dpo"])
def test_each_algorithm_runs_with_all_reward_actors_and_the_orchestrator(algorithm, ray_cluster, tiny_orchestrator_dir,
                                                                         rl_overrides, tmp_path):
    eval_prompts = held_out_prompts(tmp_path / "eval_prompts.jsonl")
    overrides = rl_overrides(tmp_path / "run", f"algorithm.name={algorithm}", "weights.mode=orchestrator",
                             f"orchestrator.path={tiny_orchestrator_dir}", f"data.eval_prompts={eval_prompts}", steps=2)

    result = pipelines.run(CONFIG, overrides)

    all_records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    held_out = [record for record in all_records if "eval/reward/w_star/mean" in record]
    records = [record for record in all_records if "time/step_s" in record]
    assert_step_metrics(records, steps=2)
    # Held-out evaluation before training and after the last step: raw rewards per objective and the w* total.
    assert [record["step"] for record in held_out] == [0, 2]
    assert all(f"eval/reward/{name}/mean" in record for record in held_out for name in OBJECTIVES)
    assert math.isfinite(result.metrics["eval/reward/w_star/mean"])
    assert math.isfinite(result.metrics["loss/policy"])
    if algorithm == "ppo":
        assert all(math.isfinite(record["loss/value"]) for record in records)
    for record in records:  # per-prompt weights from the orchestrator: on the simplex on average too
        assert sum(record[f"weights/{name}/mean"] for name in OBJECTIVES) == pytest.approx(1.0, abs=1e-5)
    config = load_config(CONFIG, overrides)
    assert changed_parameters(tmp_path / "run" / "final" / "policy", config)
    state = json.loads((tmp_path / "run" / "final" / "trainer_state.json").read_text())
    assert state["step"] == 2


def test_fixed_weights_are_logged_as_given_and_batches_follow_batch_indices(ray_cluster, rl_overrides, tmp_path):
    """The logged first prompt index of step s is ``batch_indices(...)`` of step s-1 (the resume test relies on it),
    and fixed weights are logged as given; with normalisation off the total is Σ_k w_k · mean R_k."""
    weights = (0.6, 0.3, 0.1)
    overrides = rl_overrides(tmp_path, "weights.mode=fixed", f"weights.fixed=[{','.join(map(str, weights))}]",
                             "algorithm.normalise_rewards=false", "run.seed=5", steps=3)

    pipelines.run(CONFIG, overrides)

    records = read_metrics(tmp_path / "metrics.jsonl")
    assert_step_metrics(records, steps=3)
    num_prompts = sum(1 for _ in (REPO_ROOT / "pro_rl" / "data" / "toy_world_data" / "prompts.jsonl").open())
    for record in records:
        assert record["data/first_prompt_index"] == batch_indices(num_prompts, 2, record["step"] - 1, 5)[0]
        for name, weight in zip(OBJECTIVES, weights):
            assert record[f"weights/{name}/mean"] == pytest.approx(weight, abs=1e-6)
            assert record[f"weights/{name}/std"] == 0.0
        expected_total = sum(w * record[f"reward/{name}/mean"] for name, w in zip(OBJECTIVES, weights))
        assert record["reward/total/mean"] == pytest.approx(expected_total, abs=1e-5)
