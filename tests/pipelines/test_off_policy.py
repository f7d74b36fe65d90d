"""``algorithm.off_policy_steps: 1`` end to end on the session cluster: the engines sample batch t+1 while the policy
trains on batch t, and every algorithm learns from batches one update behind. (A checkpoint taken with a batch in
flight: ``tests/e2e/test_rl_resume.py``.)"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import pipelines
from pro_rl.training.loop import batch_indices
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("algorithm", ["rloo", "ppo", "online_dpo"])
def test_each_algorithm_trains_every_batch_after_the_first_one_update_behind(algorithm, ray_cluster, rl_overrides,
                                                                             tmp_path):
    overrides = rl_overrides(tmp_path, f"algorithm.name={algorithm}", "algorithm.off_policy_steps=1", "run.seed=5",
                             steps=3)

    pipelines.run(CONFIG, overrides)

    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2, 3]
    assert [record["rollout/policy_lag"] for record in records] == [0.0, 1.0, 1.0]
    num_prompts = sum(1 for _ in (REPO_ROOT / "pro_rl" / "data" / "toy_world_data" / "prompts.jsonl").open())
    for record in records:  # the same batches as the synchronous loop, each once
        assert record["data/first_prompt_index"] == batch_indices(num_prompts, 2, record["step"] - 1, 5)[0]
        assert all(math.isfinite(record[key]) for key in ("loss/policy", "kl/mean", "reward/total/mean"))
    if algorithm == "rloo":  # one optimizer step per batch: ratio 1 exactly when the batch was sampled by the policy
        assert records[0]["policy/ratio_mean"] == pytest.approx(1.0, abs=1e-5)
        assert all(record["policy/ratio_mean"] != pytest.approx(1.0, abs=1e-5) for record in records[1:])
    if algorithm != "online_dpo":  # batches 1 and 2 were both sampled by the initial weights, the reference's
        assert records[0]["kl/mean"] == records[1]["kl/mean"] == 0.0 != records[2]["kl/mean"]
