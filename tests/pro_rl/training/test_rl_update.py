"""RLOO, PPO and online DPO updates on a tiny GPT-2 in a DeepSpeed TrainEngine (CPU, gloo)."""

import copy
from types import SimpleNamespace

import pytest
import torch

from pro_rl.algorithms import sum_masked
from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_critic, build_policy
from pro_rl.training.engine import EngineSettings, TrainEngine, parameters_changed
from pro_rl.training.rl_update import (
    batch_sizes,
    dpo_update,
    ppo_critic_update,
    ppo_policy_update,
    rloo_update,
    shuffled_mini_batches,
)
from pro_rl.training.sequences import make_sequence_batch, response_logprobs, response_values

PAD = 1
PROMPTS = [[10, 11, 12], [10, 11, 12], [20, 21], [20, 21]]
RESPONSES = [[40, 41, 42], [43, 44], [50, 51, 2], [52]]


def _without_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


@pytest.fixture(scope="module")
def policy():
    return _without_dropout(build_policy(ModelConfig(model="tiny:gpt2"))[0])


@pytest.fixture(scope="module")
def critic():
    return _without_dropout(build_critic(ModelConfig(model="tiny:gpt2"))[0])


@pytest.fixture
def batch():
    return make_sequence_batch(PROMPTS, RESPONSES, PAD)


def _engine(model, batch_size=2, micro_batch_size=1, learning_rate=1e-3):
    settings = EngineSettings(learning_rate=learning_rate, batch_size=batch_size, micro_batch_size=micro_batch_size)
    return TrainEngine(copy.deepcopy(model), settings, torch.device("cpu"))


def _snapshot(engine):
    return [parameter.detach().clone() for parameter in engine.module.parameters()]


def _sequence_logprobs(engine, batch, temperature=1.0):
    with torch.no_grad():
        return sum_masked(response_logprobs(engine, batch, temperature=temperature), batch.response_mask)


def _assert_finite(stats):
    assert all(torch.isfinite(torch.tensor(value)) for value in stats.values()), stats


def test_batch_sizes_follow_the_engine():
    fake = SimpleNamespace(settings=EngineSettings(learning_rate=1e-3, batch_size=4, micro_batch_size=2))
    assert batch_sizes(fake, 8, mini_batch_size=4, micro_batch_size=2) == (4, 2)
    assert batch_sizes(fake, 8, mini_batch_size=4) == (4, 2)  # micro-batch size from the engine
    with pytest.raises(ValueError, match="batch_size=4"):
        batch_sizes(fake, 8)  # whole batch of 8 is not the engine's 4
    with pytest.raises(ValueError, match="do not split"):
        batch_sizes(fake, 6, mini_batch_size=4)


def test_mini_batches_cover_every_row_each_epoch_in_a_seeded_order():
    batches = [indices.tolist() for indices in shuffled_mini_batches(6, 2, epochs=2, seed=3)]
    assert len(batches) == 6 and all(len(indices) == 2 for indices in batches)
    assert sorted(sum(batches[:3], [])) == list(range(6)) and sorted(sum(batches[3:], [])) == list(range(6))
    assert batches == [indices.tolist() for indices in shuffled_mini_batches(6, 2, epochs=2, seed=3)]


def test_rloo_update_raises_the_logprob_of_the_advantaged_sample(policy, batch):
    engine = _engine(policy)
    before = _snapshot(engine)
    start = _sequence_logprobs(engine, batch, temperature=0.8)
    advantages = torch.tensor([1.0, -1.0, 0.0, 0.0])
    for round_index in range(3):
        with torch.no_grad():
            old_logprobs = response_logprobs(engine, batch, temperature=0.8)
        stats = rloo_update(engine, batch, old_logprobs, advantages, clip_eps=0.2, mini_batch_size=2,
                            micro_batch_size=1, temperature=0.8, seed=round_index)
        _assert_finite(stats)
        assert stats["optimizer/steps"] == 2.0
        if round_index == 0:  # the first pass starts at the old policy: ratio 1, nothing clipped
            assert stats["policy/clipfrac"] <= 0.5
    end = _sequence_logprobs(engine, batch, temperature=0.8)
    assert engine.global_steps == 6
    assert parameters_changed(before, _snapshot(engine))
    assert end[0] > start[0] + 0.1 and end[1] < start[1] - 0.1


def test_ppo_policy_update_follows_token_advantages(policy, batch):
    engine = _engine(policy, batch_size=4, micro_batch_size=2)
    before = _snapshot(engine)
    start = _sequence_logprobs(engine, batch)
    advantages = torch.zeros_like(batch.response_mask)
    advantages[2] = batch.response_mask[2]  # push sample 2 up, token by token
    with torch.no_grad():
        old_logprobs = response_logprobs(engine, batch)
    stats = ppo_policy_update(engine, batch, old_logprobs, advantages, clip_eps=0.2, epochs=4)
    _assert_finite(stats)
    assert stats["optimizer/steps"] == 4.0 and stats["loss/policy"] < 0
    assert stats["policy/approx_kl"] > 0
    assert parameters_changed(before, _snapshot(engine))
    assert _sequence_logprobs(engine, batch)[2] > start[2] + 0.1


def test_ppo_critic_update_moves_values_toward_returns(critic, batch):
    engine = _engine(critic, batch_size=4, micro_batch_size=4, learning_rate=1e-2)
    with torch.no_grad():
        old_values = response_values(engine, batch)
    returns = 2.0 * batch.response_mask
    first = ppo_critic_update(engine, batch, old_values, returns, clip_eps=10.0, epochs=4)
    second = ppo_critic_update(engine, batch, old_values, returns, clip_eps=10.0, epochs=4)
    _assert_finite(first)
    assert second["loss/value"] < first["loss/value"]
    with torch.no_grad():
        values = response_values(engine, batch)
    error_before = ((old_values - returns) ** 2 * batch.response_mask).sum()
    error_after = ((values - returns) ** 2 * batch.response_mask).sum()
    assert error_after < 0.5 * error_before


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_dpo_update_raises_the_chosen_minus_rejected_margin(policy, batch, loss_type):
    chosen, rejected = batch.select([0, 2]), batch.select([1, 3])
    pairs = batch.select([0, 2, 1, 3])  # the chosen rows, then the rejected ones
    engine = _engine(policy, batch_size=2, micro_batch_size=1)
    before = _snapshot(engine)
    ref_chosen, ref_rejected = _sequence_logprobs(engine, chosen), _sequence_logprobs(engine, rejected)
    first = dpo_update(engine, pairs, ref_chosen, ref_rejected, beta=0.1, loss_type=loss_type, epochs=1)
    # one mini-batch of two micro-batches: both forward passes see the weights the references came from
    assert first["kl/mean"] == pytest.approx(0.0, abs=1e-5)
    assert first["dpo/accuracy"] == 0.0 and first["dpo/reward_margin"] == pytest.approx(0.0, abs=1e-6)
    stats = dpo_update(engine, pairs, ref_chosen, ref_rejected, beta=0.1, loss_type=loss_type, epochs=2)
    _assert_finite(stats)
    assert stats["kl/mean"] != 0.0
    assert stats["kl/seq_mean"] == stats["kl/mean"] and stats["kl/token_mean"] != 0.0
    assert stats["optimizer/steps"] == 2.0
    assert parameters_changed(before, _snapshot(engine))
    margin_before = ref_chosen - ref_rejected
    margin_after = _sequence_logprobs(engine, chosen) - _sequence_logprobs(engine, rejected)
    assert (margin_after > margin_before + 0.1).all()
