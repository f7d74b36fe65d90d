"""actors/train_group.py: a 2-rank policy group (gloo on CPU) against one rank — same update, checkpoints, failure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from actors.launch import start_role
from actors.policy import PolicyActor
from actors.train_group import TrainingGroup, TrainingGroupError, merge_results
from pro_rl.config import load_config
from pro_rl.rl import build_algorithm
from pro_rl.rl.batches import PolicyGradientBatch

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [[10, 11, 12], [10, 11, 12], [20, 21], [20, 21], [30, 31, 32, 33], [30, 31, 32, 33], [40], [40]]
RESPONSES = [[40, 41, 42], [43, 44], [50, 51, 2], [52], [60, 61], [62, 63, 64, 65], [70], [71, 72]]
ADVANTAGES = torch.tensor([1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 0.25, -0.25])


def group_config(tmp_path, *extra: str):
    """8 rows per update (4 prompts × 2 samples) in micro-batches of 2: one rank accumulates 4, two ranks 2 each."""
    rewards = [f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
               for k, name in enumerate(("helpful", "harmless", "humor"))]
    return load_config(REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml", [
        "policy.model=tiny:gpt2", f"run.output_dir={tmp_path}", "weights.mode=uniform", "orchestrator.path=''",
        "data.eval_prompts=''", "algorithm.prompt_batch_size=4", "rollout.num_samples=2",
        "trainer.micro_batch_size=2", "policy.learning_rate=1e-2", "trainer.group_timeout_s=30", *rewards, *extra])


def start_policy(config, replicas: int):
    """0.2 CPU per rank: the 7 actors of this module fit the session cluster's 2 CPUs at once."""
    return start_role("policy", PolicyActor, replicas, lambda rank: {"num_cpus": 0.2},
                      (config.policy.model, config, build_algorithm("rloo")), {"num_cpus": 0.2})


def host_weights(ray, handle) -> dict:
    return ray.get(handle.weights_for_sync.remote("host"))["state_dict"]


def max_difference(first: dict, second: dict) -> float:
    assert first.keys() == second.keys()
    return max(float((first[name].float() - second[name].float()).abs().max()) for name in first)


@pytest.fixture(scope="module")
def policies(ray_cluster, tmp_path_factory):
    config = group_config(tmp_path_factory.mktemp("group"))
    zero2 = group_config(tmp_path_factory.mktemp("group_zero2"), "trainer.zero_stage=2")
    single, group, group_zero2 = start_policy(config, 1), start_policy(config, 2), start_policy(zero2, 2)
    ray_cluster.get([handle.__ray_ready__.remote() for handle in (single, group, group_zero2)], timeout=300)
    yield single, group, group_zero2
    ray_cluster.kill(single, no_restart=True)
    group.kill()
    group_zero2.kill()


def test_merge_results_restores_row_order_and_averages_statistics():
    parts = [torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[5.0, 0.0, 6.0], [5.0, 0.0, 6.0]])]

    # 3 rows over 2 ranks: shares [0, 1] and [2, 2] (the last row repeated); widths 2 and 3 → 3, 0-padded
    assert merge_results("rows", parts, num_rows=3).tolist() == [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [5.0, 0.0, 6.0]]
    assert merge_results("mean", [{"loss": 1.0, "lr": 0.1}, {"loss": 3.0, "lr": 0.1}]) == {"loss": 2.0, "lr": 0.1}
    assert merge_results("first", ["rank0", "rank1"]) == "rank0"


@pytest.mark.slow
def test_two_rank_group_splits_logprob_rows_like_one_rank(policies, ray_cluster):
    single, group, _ = policies
    assert isinstance(group, TrainingGroup) and not isinstance(single, TrainingGroup)

    for rows in (8, 3):  # 3 rows: the second rank gets one real row and one copy, dropped in the merge
        expected = ray_cluster.get(single.logprobs.remote(PROMPTS[:rows], RESPONSES[:rows]))
        merged = ray_cluster.get(group.logprobs.remote(PROMPTS[:rows], RESPONSES[:rows]))
        assert merged.shape == expected.shape == (rows, max(len(r) for r in RESPONSES[:rows]))
        assert float((merged - expected).abs().max()) <= 1e-6


@pytest.mark.slow
def test_two_rank_rloo_update_equals_the_one_rank_update_under_zero_0_and_2(policies, ray_cluster):
    single, group, group_zero2 = policies
    before = host_weights(ray_cluster, single)
    for handle in (group, group_zero2):  # the same seeded tiny model in every rank
        assert max_difference(before, host_weights(ray_cluster, handle)) == 0.0
    old_logprobs = ray_cluster.get(single.logprobs.remote(PROMPTS, RESPONSES))
    batch = PolicyGradientBatch(PROMPTS, RESPONSES, old_logprobs, ADVANTAGES)

    one_rank, *groups = ray_cluster.get([handle.update.remote(batch, 5) for handle in (single, group, group_zero2)])

    after_single = host_weights(ray_cluster, single)
    assert max_difference(before, after_single) > 1e-3  # the step moved the weights
    for handle, two_ranks in zip((group, group_zero2), groups):
        after_group = host_weights(ray_cluster, handle)
        rank1 = ray_cluster.get(handle.ranks[1].weights_for_sync.remote("host"))["state_dict"]
        assert max_difference(after_single, after_group) <= 1e-5
        assert max_difference(after_group, rank1) == 0.0  # the ranks stay identical
        assert two_ranks["optimizer/steps"] == one_rank["optimizer/steps"] == 1.0
        for key in ("loss/policy", "policy/ratio_mean", "policy/clipfrac"):
            assert two_ranks[key] == pytest.approx(one_rank[key], abs=1e-6), key


@pytest.mark.slow
def test_group_checkpoint_restores_the_weights_and_save_pretrained_writes_rank_0s(policies, ray_cluster, tmp_path):
    from transformers import AutoModelForCausalLM

    _, group, _ = policies
    saved = host_weights(ray_cluster, group)
    ray_cluster.get(group.save_state.remote(str(tmp_path / "state")))
    old_logprobs = ray_cluster.get(group.logprobs.remote(PROMPTS, RESPONSES))
    ray_cluster.get(group.update.remote(PolicyGradientBatch(PROMPTS, RESPONSES, old_logprobs, ADVANTAGES), 6))
    assert max_difference(saved, host_weights(ray_cluster, group)) > 1e-3

    ray_cluster.get(group.load_state.remote(str(tmp_path / "state")))

    assert max_difference(saved, host_weights(ray_cluster, group)) == 0.0
    rank1 = ray_cluster.get(group.ranks[1].weights_for_sync.remote("host"))["state_dict"]
    assert max_difference(saved, rank1) == 0.0
    directory = ray_cluster.get(group.save_pretrained.remote(str(tmp_path / "hf")))
    loaded = AutoModelForCausalLM.from_pretrained(directory).state_dict()
    assert max_difference({name: loaded[name] for name in saved}, saved) == 0.0


@pytest.mark.slow
def test_a_dead_rank_fails_the_update_with_an_error_naming_it(ray_cluster, tmp_path):
    config = group_config(tmp_path)
    group = start_policy(config, 2)
    ray_cluster.get(group.__ray_ready__.remote(), timeout=300)
    batch = PolicyGradientBatch(PROMPTS, RESPONSES, torch.zeros(8, 4), ADVANTAGES)
    ray_cluster.kill(group.ranks[1], no_restart=True)
    try:
        with pytest.raises(TrainingGroupError, match=r"policy: rank 1 of 2 failed in update"):
            ray_cluster.get(group.update.remote(batch, 1), timeout=60)
    finally:
        group.kill()
