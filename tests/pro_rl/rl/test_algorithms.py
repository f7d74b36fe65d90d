"""The registered RL algorithms' update batches (``pro_rl.rl``), built from hand-made experience, and the
registries themselves."""

import pytest
import torch

from pro_rl.config import load_config
from pro_rl.rl import (
    ALGORITHMS,
    REWARD_SOURCES,
    CriticBatch,
    Experience,
    PolicyGradientBatch,
    PreferenceBatch,
    build_algorithm,
    build_reward_source,
)
from pro_rl.rollout import Rollouts

# 2 prompts x 2 samples; responses of 2, 1, 2, 2 tokens
ROLLOUTS = Rollouts(prompts=["a", "a", "b", "b"], responses=["a0", "a1", "b0", "b1"],
                    prompt_ids=[[1], [1], [2], [2]], response_ids=[[10, 11], [12], [20, 21], [22, 23]], num_samples=2)
REF = torch.tensor([[-1.5, -1.0], [-1.0, 0.0], [-1.0, -1.0], [-1.0, -1.0]])
OLD = torch.tensor([[-1.0, -1.0], [-2.0, 0.0], [-1.0, -1.0], [-1.0, -1.0]])
REWARD = torch.tensor([1.0, 3.0, 0.0, 2.0])


def config(*overrides):
    return load_config({"reward_models": [{"name": "helpful", "model": "tiny:gpt2"}]},
                       ["algorithm.prompt_batch_size=2", "rollout.num_samples=2", *overrides])


def experience(valid=(True, True, True, True), values=None):
    return Experience(ROLLOUTS, REWARD, torch.tensor(valid), REF, OLD, values)


def test_the_built_in_algorithms_and_reward_source_are_registered():
    assert {"rloo", "ppo", "online_dpo"} <= set(ALGORITHMS.names())
    assert "reward_models" in REWARD_SOURCES.names()
    with pytest.raises(KeyError, match="unknown RL algorithm 'grpo'; registered: .*online_dpo"):
        build_algorithm("grpo")


@pytest.mark.parametrize("name, rows, critic, old", [("rloo", 4, False, True), ("ppo", 4, True, True),
                                                     ("online_dpo", 2, False, False)])
def test_each_algorithm_says_its_rows_critic_and_old_policy_pass(name, rows, critic, old):
    algorithm = build_algorithm(name)
    assert (algorithm.rows_per_update(config()), algorithm.needs_critic, algorithm.needs_old_logprobs) == (
        rows, critic, old)


def test_rloo_update_batch_by_hand():
    # k1 summed per response: [0.5, -1, 0, 0]; beta 0.1 -> penalised [0.95, 3.1, 0, 2]; n = 2: A_i = r_i - r_other
    batches = build_algorithm("rloo").build_update(experience(), config("algorithm.kl_coef=0.1"), kl_coef=0.1)

    assert isinstance(batches.policy, PolicyGradientBatch) and batches.critic is None
    torch.testing.assert_close(batches.policy.advantages, torch.tensor([-2.15, 2.15, -2.0, 2.0]))
    assert batches.policy.response_ids == ROLLOUTS.response_ids and batches.policy.old_logprobs is OLD
    assert batches.stats["kl/mean"] == batches.stats["kl/seq_mean"] == pytest.approx(-0.125)
    assert batches.stats["kl/token_mean"] == pytest.approx(-0.5 / 7)


def test_rloo_with_a_skipped_sample_and_whitening():
    batches = build_algorithm("rloo").build_update(experience(valid=(True, False, True, True)),
                                                   config("algorithm.normalize_advantages=true"), kl_coef=0.1)
    # prompt 0 keeps one valid sample: skipped; prompt 1: (-2, 2) whitened over the 2 counted samples -> -/+ 1/sqrt2·2
    torch.testing.assert_close(batches.policy.advantages,
                               torch.tensor([0.0, 0.0, -2.0 / 8 ** 0.5, 2.0 / 8 ** 0.5]), atol=1e-6, rtol=0)


def test_ppo_update_batches_by_hand():
    values = torch.zeros(4, 2)
    batches = build_algorithm("ppo").build_update(
        experience(valid=(True, False, True, True), values=values), config("algorithm.lam=1.0"), kl_coef=0.0)

    assert isinstance(batches.critic, CriticBatch) and batches.critic.old_values is values
    # beta 0, V = 0, gamma = lambda = 1: the returns are the score at every real token; the skipped row keeps V
    torch.testing.assert_close(batches.critic.returns, torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [2.0, 2.0]]))
    advantages = batches.policy.advantages
    assert advantages.shape == (4, 2) and bool((advantages[1] == 0).all())
    raw = torch.tensor([1.0, 1.0, 0.0, 0.0, 2.0, 2.0])  # the real tokens of rows 0, 2, 3
    torch.testing.assert_close(advantages[[0, 2, 3]].reshape(-1), (raw - raw.mean()) / raw.std())


def test_online_dpo_pairs_and_reference_sums_by_hand():
    batches = build_algorithm("online_dpo").build_update(experience(valid=(True, True, False, True)), config(),
                                                         kl_coef=0.1)
    batch = batches.policy

    assert isinstance(batch, PreferenceBatch) and len(batch) == 2
    # prompt 0: best row 1 (3.0), worst row 0 (1.0); prompt 1 has one valid row (3): the pair (3, 3)
    assert batch.chosen_response_ids == [[12], [22, 23]] and batch.rejected_response_ids == [[10, 11], [22, 23]]
    torch.testing.assert_close(batch.ref_chosen_logps, torch.tensor([-1.0, -2.0]))  # sums over real tokens
    torch.testing.assert_close(batch.ref_rejected_logps, torch.tensor([-2.5, -2.0]))
    assert batch.sequences() == ([[1], [2], [1], [2]], [[12], [22, 23], [10, 11], [22, 23]])
    assert batches.stats == {"dpo/scalarised_margin": pytest.approx((2.0 + 0.0) / 2)}


def test_reward_models_source_stacks_one_column_per_objective():
    cfg = load_config({"reward_models": [{"name": n, "model": "tiny:gpt2"} for n in ("helpful", "harmless")]})
    source = build_reward_source("reward_models", cfg)

    assert [scorer.name for scorer in source.scorers()] == ["helpful", "harmless"]
    matrix = source.reward_matrix({"harmless": [3.0, 4.0], "helpful": [1.0, 2.0]})
    assert matrix.dtype == torch.float32 and matrix.tolist() == [[1.0, 3.0], [2.0, 4.0]]
