"""One-step off-policy updates (``algorithm.off_policy_steps: 1``): a batch sampled by the weights one update behind
the policy trains with its ratios against the engine's behaviour log-probs, exactly as the formulas say."""

import copy

import pytest
import torch

from pipelines.rl_generation import behaviour_logprobs
from pro_rl.algorithms import ppo_policy_loss, sequence_clipped_loss, sum_masked
from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_policy
from pro_rl.rollout import HFRolloutEngine, SamplingSettings
from pro_rl.training.engine import EngineSettings, TrainEngine
from pro_rl.training.rl_update import ppo_policy_update, rloo_update
from pro_rl.training.sequences import make_sequence_batch, response_logprobs

TEMPERATURE = 0.8
PROMPTS = ["Human: how do i fix my bike ?\n\nAssistant:", "Human: tell me a joke about my cat\n\nAssistant:"]


@pytest.fixture(scope="module")
def stale_batch():
    """(policy one update ahead, the behaviour weights' rollouts with their log-probs, the padded batch)."""
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    behaviour = HFRolloutEngine(copy.deepcopy(model), tokenizer,
                                SamplingSettings(temperature=TEMPERATURE, top_p=1.0, max_new_tokens=6))
    policy = TrainEngine(copy.deepcopy(model), EngineSettings(learning_rate=5e-2, batch_size=4, micro_batch_size=4),
                         torch.device("cpu"))
    warm_up = behaviour.generate(PROMPTS, num_samples=2, seed=1)  # one update: the policy is now version 1
    warm_batch = make_sequence_batch(warm_up.prompt_ids, warm_up.response_ids, tokenizer.pad_token_id)
    with torch.no_grad():
        old = response_logprobs(policy, warm_batch, temperature=TEMPERATURE)
    rloo_update(policy, warm_batch, old, torch.tensor([1.0, -1.0, 1.0, -1.0]), temperature=TEMPERATURE)

    rollouts = behaviour.generate(PROMPTS, num_samples=2, seed=2, behaviour_logprobs=True)  # sampled by version 0
    batch = make_sequence_batch(rollouts.prompt_ids, rollouts.response_ids, tokenizer.pad_token_id)
    return model, copy.deepcopy(policy.module), rollouts, batch


def engine_of(model) -> TrainEngine:
    """A fresh trainer holding ``model``'s weights (one update of the whole batch)."""
    return TrainEngine(copy.deepcopy(model), EngineSettings(learning_rate=5e-2, batch_size=4, micro_batch_size=4),
                       torch.device("cpu"))


def test_the_engine_reports_the_log_probs_of_the_weights_that_sampled(stale_batch):
    model, policy, rollouts, batch = stale_batch
    reported = behaviour_logprobs(rollouts)
    with torch.no_grad():
        version_0 = response_logprobs(model, batch, temperature=TEMPERATURE)
        version_1 = response_logprobs(policy, batch, temperature=TEMPERATURE)
    torch.testing.assert_close(reported, version_0 * batch.response_mask, atol=1e-5, rtol=1e-5)
    gap = (sum_masked(version_1, batch.response_mask) - sum_masked(reported, batch.response_mask)).abs()
    assert gap.max() > 1e-2  # the batch is stale for real: the policy moved since it was sampled


def test_rloo_on_a_stale_batch_clips_its_ratio_against_the_behaviour_log_probs(stale_batch):
    _, policy, rollouts, batch = stale_batch
    engine = engine_of(policy)
    old = behaviour_logprobs(rollouts)
    advantages = torch.tensor([1.0, -1.0, 0.5, -0.5])
    with torch.no_grad():
        current = response_logprobs(engine, batch, temperature=TEMPERATURE)
    expected, expected_stats = sequence_clipped_loss(sum_masked(current, batch.response_mask),
                                                     sum_masked(old, batch.response_mask), advantages, 0.2)

    stats = rloo_update(engine, batch, old, advantages, clip_eps=0.2, temperature=TEMPERATURE)

    assert stats["loss/policy"] == pytest.approx(expected.item(), rel=1e-5, abs=1e-7)
    assert stats["policy/ratio_mean"] == pytest.approx(expected_stats["ratio_mean"], rel=1e-5)
    assert stats["policy/ratio_mean"] != pytest.approx(1.0, abs=1e-3)  # not the on-policy ratio of 1


def test_ppo_on_a_stale_batch_takes_token_ratios_against_the_behaviour_log_probs(stale_batch):
    _, policy, rollouts, batch = stale_batch
    engine = engine_of(policy)
    old = behaviour_logprobs(rollouts)
    advantages = torch.linspace(-1.0, 1.0, old.numel()).reshape(old.shape) * batch.response_mask
    with torch.no_grad():
        current = response_logprobs(engine, batch, temperature=TEMPERATURE)
    expected, _ = ppo_policy_loss(current, old, advantages, batch.response_mask, 0.2)

    stats = ppo_policy_update(engine, batch, old, advantages, clip_eps=0.2, epochs=1, temperature=TEMPERATURE)

    assert stats["loss/policy"] == pytest.approx(expected.item(), rel=1e-5, abs=1e-7)
