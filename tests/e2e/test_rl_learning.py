"""RLOO on the toy world raises the scalarised reward by more than its step-to-step noise.

Setup: the tiny policy is warmed up with 150 SFT steps on the toy world's responses (so it emits whole segments),
then trained with RLOO for N = 40 steps (16 prompts × 4 samples each) against the toy world's ground-truth reward
functions, with fixed weights w = (0.8, 0.1, 0.1) on (helpful, harmless, humor) — a trained orchestrator would
take minutes more on two CPU cores — and reward normalisation off, so ``reward/total/mean`` is the scalarised
ground truth Σ_k w_k R_k itself, comparable across steps.

Criterion: mean(``reward/total/mean`` of the last 5 steps) − mean(first 5 steps) > 2 × the standard deviation of
the step-to-step differences of ``reward/total/mean``. Measured while writing the test (RL seeds 0, 1, 2, toy world
with conflicting objectives): the rise was 0.44–0.51 against a standard deviation of 0.05–0.07, i.e. 6.3–10.5 ×
(N = 40); the test takes 1–3 minutes on two shared CPU cores, most of it the SFT warm-up.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

import pipelines
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = 40
WEIGHTS = (0.8, 0.1, 0.1)
MARGIN = 2.0

pytestmark = pytest.mark.slow


def test_rloo_raises_the_scalarised_reward_beyond_its_noise(ray_cluster, tmp_path):
    sft = pipelines.run(REPO_ROOT / "configs" / "tiny" / "sft.yaml",
                        [f"run.output_dir={tmp_path / 'sft'}", "policy.sft_steps=150", "run.progress=false"])
    rewards = [f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
               for k, name in enumerate(("helpful", "harmless", "humor"))]

    pipelines.run(REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml", [
        f"policy.model={sft.output_dir / 'final' / 'policy'}", *rewards, "weights.mode=fixed",
        f"weights.fixed=[{','.join(map(str, WEIGHTS))}]", "orchestrator.path=''", "algorithm.normalise_rewards=false",
        "algorithm.name=rloo", f"algorithm.steps={STEPS}", "algorithm.prompt_batch_size=16", "rollout.num_samples=4",
        "data.eval_prompts=''", "run.checkpoint_every=0", "run.seed=1", "run.progress=false",
        f"run.output_dir={tmp_path / 'rl'}"])

    records = read_metrics(tmp_path / "rl" / "metrics.jsonl")
    assert [record["step"] for record in records] == list(range(1, STEPS + 1))
    total = [record["reward/total/mean"] for record in records]
    rise = statistics.mean(total[-5:]) - statistics.mean(total[:5])
    noise = statistics.stdev(b - a for a, b in zip(total, total[1:]))
    assert rise > MARGIN * noise, f"rise {rise:.3f} vs noise {noise:.3f}: {[round(t, 3) for t in total]}"
    # The objective with most of the weight is the one that improves.
    helpful = [record["reward/helpful/mean"] for record in records]
    assert statistics.mean(helpful[-5:]) > statistics.mean(helpful[:5])
