"""The weight sync of a ZeRO-3 policy group of two ranks: the engines get the whole, gathered weights.

Under ZeRO-3 ``module.state_dict()`` holds empty placeholders, which no engine can load; the sync gathers the
partitions a bucket at a time (``pro_rl.training.full_weights``). After each sync the rollout engine's log-probs of
its own samples (computed with its copy of the weights) must equal the policy's log-probs of the same tokens.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import pipelines
from pipelines import rl_stages
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"

pytestmark = pytest.mark.slow


def test_a_zero3_policy_group_syncs_its_gathered_weights_to_the_engines(ray_cluster, rl_overrides, tmp_path,
                                                                        monkeypatch):
    """Both ranks take part in every gather (a collective); rank 0 builds the payload (a single ZeRO-3 rank runs
    the same code as rank 0 here)."""
    sync, gaps = rl_stages.sync_weights, []

    def sync_then_compare(roles, version):
        sync(roles, version)
        rollouts = ray_cluster.get(roles.rollouts[0].generate.remote(["Human: hi\n\nAssistant:"] * 2, 2, 0, True))
        policy = ray_cluster.get(roles.policy.logprobs.remote(rollouts.prompt_ids, rollouts.response_ids))
        engine = torch.zeros_like(policy)
        for row, values in enumerate(rollouts.logprobs):
            engine[row, :len(values)] = torch.tensor(values)
        gaps.append(float((engine - policy).abs().max()))

    monkeypatch.setattr(rl_stages, "sync_weights", sync_then_compare)
    pipelines.run(CONFIG, rl_overrides(tmp_path, "trainer.zero_stage=3", "resources.policy.replicas=2",
                                       steps=2))

    assert [record["step"] for record in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]
    assert len(gaps) == 3  # the initial sync and one after each update
    assert max(gaps) < 1e-5, gaps
