"""A tiny RLOO run whose policy is a 2-rank training group: it trains, a dead rank stops it cleanly, and
``run.resume: auto`` continues it from its last checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines
from actors.train_group import TrainingGroup, TrainingGroupError
from pipelines import rl_stages
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"


@pytest.mark.slow
def test_a_two_rank_policy_run_stops_on_a_dead_rank_and_resumes_from_its_checkpoint(ray_cluster, rl_overrides,
                                                                                    tmp_path, monkeypatch):
    from transformers import AutoModelForCausalLM

    overrides = rl_overrides(tmp_path, "resources.policy.replicas=2", "run.checkpoint_every=1",
                             "trainer.group_timeout_s=30", steps=2)
    update, groups = rl_stages.update, []

    def update_killing_rank_1_at_step_2(roles, *args, **kwargs):
        groups.append(roles.policy)
        if len(groups) == 2:
            ray_cluster.kill(roles.policy.ranks[1], no_restart=True)
        return update(roles, *args, **kwargs)

    monkeypatch.setattr(rl_stages, "update", update_killing_rank_1_at_step_2)
    with pytest.raises(TrainingGroupError, match=r"policy: rank 1 of 2 failed in update"):
        pipelines.run(CONFIG, overrides)

    assert all(isinstance(group, TrainingGroup) and len(group.ranks) == 2 for group in groups)
    assert [record["step"] for record in read_metrics(tmp_path / "metrics.jsonl")] == [1]
    assert (tmp_path / "checkpoints" / "step-000001").is_dir()

    monkeypatch.setattr(rl_stages, "update", update)
    result = pipelines.run(CONFIG, [*overrides, "run.resume=auto"])

    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2]
    assert result.metrics["step"] == 2
    policy = AutoModelForCausalLM.from_pretrained(tmp_path / "final" / "policy")
    assert policy.config.model_type == "gpt2"


@pytest.mark.slow
def test_ppo_with_policy_critic_and_reference_groups_of_two(ray_cluster, rl_overrides, tmp_path, monkeypatch):
    overrides = rl_overrides(tmp_path, "algorithm.name=ppo", "resources.policy.replicas=2",
                             "resources.critic.replicas=2", "resources.reference.replicas=2",
                             "resources.reward.num_cpus=0.1", "resources.rollout.num_cpus=0.3",
                             "resources.reference.num_cpus=0.1", steps=1)
    update, seen = rl_stages.update, []

    def recording_update(roles, *args, **kwargs):
        seen.extend([roles.policy, roles.critic, roles.reference])
        return update(roles, *args, **kwargs)

    monkeypatch.setattr(rl_stages, "update", recording_update)
    result = pipelines.run(CONFIG, overrides)

    assert [len(group.ranks) for group in seen] == [2, 2, 2]
    assert all(isinstance(group, TrainingGroup) for group in seen)
    assert result.metrics["step"] == 1
    for key in ("loss/policy", "loss/value", "kl/mean"):
        assert key in result.metrics and result.metrics[key] == result.metrics[key], key  # present, not NaN
