"""Adding an RL algorithm touches one file and its registration: a dummy algorithm defined and registered in this
test file runs through the loop's own stage functions, and through a tiny Ray run of ``pipelines.pro_morlhf``.

The dummy is REINFORCE with the mean reward of the prompt's samples as baseline (no leave-one-out), trained with the
sequence-level clipped loss that RLOO uses. The actors receive the algorithm object pickled by value, so they never
import this file.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

from pro_rl.algorithms import kl_penalty
from pro_rl.config import ConfigError, load_config
from pro_rl.rl import ALGORITHMS, Experience, PolicyGradientBatch, RLAlgorithm, UpdateBatches, register_algorithm
from pro_rl.rollout import Rollouts
from pro_rl.training.metrics import read_metrics
from pro_rl.training.rl_advantages import kl_stats
from pro_rl.training.rl_update import rloo_update

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
NAME = "test_mean_baseline_reinforce"


@register_algorithm(NAME)
class MeanBaselineReinforce(RLAlgorithm):
    """A_i = r_i - mean_j r_j over the prompt's samples (skipped samples: 0), one clipped ratio per sequence."""

    def build_update(self, experience: Experience, config, kl_coef: float) -> UpdateBatches:
        grouped = experience.scalarised_reward.view(-1, experience.num_samples)
        advantages = (grouped - grouped.mean(dim=1, keepdim=True)).reshape(-1) * experience.valid
        rollouts = experience.rollouts
        stats = kl_stats(kl_penalty(experience.old_logprobs, experience.ref_logprobs), experience.response_mask)
        batch = PolicyGradientBatch(rollouts.prompt_ids, rollouts.response_ids, experience.old_logprobs, advantages)
        return UpdateBatches(policy=batch, stats=stats)

    def update_policy(self, batch: PolicyGradientBatch, context) -> dict:
        return rloo_update(context.engine, context.sequences(batch.prompt_ids, batch.response_ids),
                           batch.old_logprobs.to(context.device), batch.advantages.to(context.device),
                           context.config.algorithm.clip_eps, epochs=1, temperature=context.temperature,
                           seed=context.seed, **context.batch_sizes)


def dummy_config(*overrides):
    """A config that names the dummy as a plain override: validation reads the registry."""
    return load_config(CONFIG, [*overrides, f"algorithm.name={NAME}"])


def test_validation_reads_the_registry(rl_overrides, tmp_path):
    assert dummy_config(*rl_overrides(tmp_path), "rollout.num_samples=1").algorithm.name == NAME
    with pytest.raises(ConfigError, match="'not_registered' is not one of .*online_dpo, ppo, rloo"):
        load_config(CONFIG, [*rl_overrides(tmp_path), "algorithm.name=not_registered"])
    with pytest.raises(ConfigError, match="key 'rollout.num_samples': rloo needs at least 2 samples per prompt"):
        load_config(CONFIG, [*rl_overrides(tmp_path), "rollout.num_samples=1"])


def test_the_dummy_builds_its_update_batch_from_the_loops_experience():
    rollouts = Rollouts(["a", "a", "b", "b"], ["x", "y", "z", "w"], [[1]] * 4, [[5, 6], [7], [8], [9]], 2)
    logprobs = torch.tensor([[-1.0, -1.0], [-2.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    experience = Experience(rollouts, torch.tensor([1.0, 3.0, 4.0, 4.0]), torch.tensor([True, True, True, False]),
                            ref_logprobs=logprobs - 0.5, old_logprobs=logprobs)

    algorithm = ALGORITHMS.get(NAME)()
    config = load_config({"reward_models": [{"name": "helpful", "model": "tiny:gpt2"}]},
                         ["algorithm.prompt_batch_size=3", "rollout.num_samples=4"])
    batches = algorithm.build_update(experience, config, kl_coef=0.1)

    # prompt 0: mean 2 -> (-1, 1); prompt 1: mean 4 -> (0, skipped 0); k1 = 0.5 per real token: 1, .5, .5, .5
    torch.testing.assert_close(batches.policy.advantages, torch.tensor([-1.0, 1.0, 0.0, 0.0]))
    assert batches.stats["kl/mean"] == pytest.approx(2.5 / 4) and batches.stats["kl/token_mean"] == pytest.approx(0.5)
    assert algorithm.rows_per_update(config) == 3 * 4
    assert (algorithm.needs_critic, algorithm.needs_old_logprobs) == (False, True)


@pytest.mark.slow
def test_the_dummy_runs_a_step_of_pro_morlhf_on_ray(ray_cluster, rl_overrides, tmp_path):
    from pipelines import pro_morlhf

    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors need not import this file
    config = dummy_config(*rl_overrides(tmp_path, steps=1))

    result = pro_morlhf.run(config)

    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1]
    assert all(math.isfinite(records[0][key]) for key in ("loss/policy", "kl/mean", "kl/token_mean",
                                                          "reward/total/mean"))
    assert records[0]["optimizer/steps"] == 1.0
    assert (tmp_path / "final" / "policy").is_dir() and math.isfinite(result.metrics["loss/policy"])
