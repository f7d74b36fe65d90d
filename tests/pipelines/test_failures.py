"""DESIGN.md "Rules for failure" on the RL pipeline: bad rewards, bad configs, dead actors.

NaN rewards come from ``tests/pipelines/reward_functions.py`` (on the session cluster's worker ``PYTHONPATH``).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import pipelines
from pipelines import rl_generation, rl_stages
from pro_rl.config import ConfigError
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
NAN_HARMLESS = "reward_models.1.model=reward_functions:nan_on_first_row"


# --- NaN rewards --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_nan_reward_is_an_error_naming_the_objective_and_the_count(ray_cluster, rl_overrides, tmp_path):
    overrides = rl_overrides(tmp_path, NAN_HARMLESS, "algorithm.on_bad_reward=error")

    with pytest.raises(rl_stages.BadRewardError, match=r"objective 'harmless': 1 of 4") as raised:
        pipelines.run(CONFIG, overrides)

    assert "helpful" not in str(raised.value) and "humor" not in str(raised.value)
    assert not (tmp_path / "final" / "policy").exists()


@pytest.mark.slow
def test_nan_reward_with_skip_is_counted_and_never_trained_on(ray_cluster, rl_overrides, tmp_path, monkeypatch):
    overrides = rl_overrides(tmp_path, NAN_HARMLESS, "algorithm.on_bad_reward=skip", steps=2)
    advantages = []
    update = rl_stages.update

    def record_advantages(roles, batches, *args, **kwargs):
        advantages.append(batches.policy.advantages.clone())
        return update(roles, batches, *args, **kwargs)

    monkeypatch.setattr(rl_stages, "update", record_advantages)

    result = pipelines.run(CONFIG, overrides)

    # Row 0 is NaN. RLOO (as TRL's) leaves it out of its prompt's baseline; with 2 samples per prompt its sibling has
    # no valid sibling left, so the whole group (rows 0-1) gets zero advantage; the other prompt trains.
    assert len(advantages) == 2
    for step_advantages in advantages:
        assert bool((step_advantages[:2] == 0).all())

    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2]
    for record in records:
        assert record["reward/skipped"] == 1.0  # one NaN row of 4 per step
        assert record["reward/harmless/mean"] == 0.5  # the mean over the valid rows only
        for key in ("loss/policy", "reward/total/mean", "kl/mean", "advantages/std"):
            assert math.isfinite(record[key]), key
    assert math.isfinite(result.metrics["loss/policy"])


@pytest.mark.slow
def test_nan_reward_with_skip_keeps_the_valid_siblings_of_the_sample(ray_cluster, rl_overrides, tmp_path,
                                                                     monkeypatch):
    """With 3 samples per prompt the NaN row's 2 valid siblings still compare with each other (TRL's RLOO)."""
    overrides = rl_overrides(tmp_path, NAN_HARMLESS, "algorithm.on_bad_reward=skip", "rollout.num_samples=3",
                             steps=1)
    advantages = []
    update = rl_stages.update

    def record_advantages(roles, batches, *args, **kwargs):
        advantages.append(batches.policy.advantages.clone())
        return update(roles, batches, *args, **kwargs)

    monkeypatch.setattr(rl_stages, "update", record_advantages)

    pipelines.run(CONFIG, overrides)

    (step_advantages,) = advantages
    assert step_advantages[0] == 0.0
    # rows 1 and 2 are each other's whole baseline: A_1 = r_1 - r_2 = -A_2
    assert step_advantages[1] == pytest.approx(-step_advantages[2].item(), abs=1e-6)


# --- bad configs fail before any actor starts ---------------------------------------------------------------------

@pytest.fixture
def no_actors(monkeypatch):
    """Fail the test if the pipeline gets as far as Ray or the actors."""
    import actors.launch

    def refuse(*args, **kwargs):
        raise AssertionError("the pipeline reached Ray before rejecting the config")

    monkeypatch.setattr(rl_stages, "connect_ray", refuse)
    monkeypatch.setattr(actors.launch, "launch_roles", refuse)


@pytest.mark.parametrize("override, key", [
    ("algorithm.kl_coeff=0.1", "algorithm.kl_coeff"),
    ("weights.fixed=[0.5,0.4,0.3]", "weights.fixed"),
    ("weights.fixed=[0.5,0.5]", "weights.fixed"),
    ("algorithm.steps=many", "algorithm.steps"),
    ("policy.model=/nonexistent/policy", "policy.model"),
    ("orchestrator.path=/nonexistent/orchestrator", "orchestrator.path"),
])
def test_bad_config_is_a_config_error_naming_the_key(no_actors, rl_overrides, tmp_path, override, key):
    mode = {"weights.fixed": ["weights.mode=fixed"], "orchestrator.path": ["weights.mode=orchestrator"]}.get(key, [])

    with pytest.raises(ConfigError, match=rf"key '{key}'"):
        pipelines.run(CONFIG, rl_overrides(tmp_path, *mode, override))

    assert not (tmp_path / "metrics.jsonl").exists()


def test_misspelled_key_in_a_yaml_file_names_the_file_and_the_key(no_actors, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(f"base: {CONFIG}\nalgorithm:\n  name: rloo\n  stepz: 3\n")

    with pytest.raises(ConfigError, match=rf"{config}.*key 'algorithm.stepz'"):
        pipelines.run(config)


@pytest.mark.slow
def test_a_reward_function_that_cannot_load_stops_the_run_at_launch(ray_cluster, rl_overrides, tmp_path,
                                                                    monkeypatch):
    import ray

    generated = []
    monkeypatch.setattr(rl_generation, "submit_generation", lambda *args, **kwargs: generated.append(args))
    overrides = rl_overrides(tmp_path, "reward_models.2.model=pro_rl.data.toy_world:no_such_reward")

    with pytest.raises(ray.exceptions.ActorDiedError, match="module 'pro_rl.data.toy_world' has no function "
                                                            "'no_such_reward'"):
        pipelines.run(CONFIG, overrides)

    assert generated == []  # launch waits for every actor, so the loop never started
    # ... and then releases what it had reserved.
    assert all(group["state"] == "REMOVED" for group in ray.util.placement_group_table().values())


# --- dead stateless actors are restarted and the call retried -----------------------------------------------------

class KillOnCall:
    """Wraps a stage function: on call ``kill_on`` it kills an actor (Ray restarts it), then runs the stage."""

    def __init__(self, stage, kill_on: int, pick_actor):
        self.stage, self.kill_on, self.pick_actor = stage, kill_on, pick_actor
        self.calls = 0
        self.killed = None

    def __call__(self, *args, **kwargs):
        import ray

        self.calls += 1
        if self.calls == self.kill_on:
            self.killed = self.pick_actor(*args)
            ray.kill(self.killed, no_restart=False)
        return self.stage(*args, **kwargs)


@pytest.mark.slow
def test_a_reward_actor_killed_mid_run_is_restarted_and_the_step_completes(ray_cluster, rl_overrides, tmp_path,
                                                                          monkeypatch):
    pids = []
    killer = KillOnCall(rl_stages.score, kill_on=2, pick_actor=lambda roles, *rest: roles.rewards["humor"])

    def score_and_record_pid(roles, *args, **kwargs):
        result = killer(roles, *args, **kwargs)
        pids.append(ray_cluster.get(roles.rewards["humor"].pid.remote()))
        return result

    monkeypatch.setattr(rl_stages, "score", score_and_record_pid)

    pipelines.run(CONFIG, rl_overrides(tmp_path, steps=3))

    assert killer.killed is not None
    assert pids[0] != pids[1] == pids[2]  # a new process from step 2 on
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2, 3]
    assert all(math.isfinite(record[key]) for record in records for key in ("loss/policy", "reward/total/mean"))


@pytest.mark.slow
@pytest.mark.parametrize("off_policy_steps, sampled_by", [(0, [0, 1, 2]), (1, [0, 0, 2])])
def test_a_rollout_actor_killed_mid_run_is_restarted_with_the_current_weights(ray_cluster, rl_overrides, tmp_path,
                                                                             monkeypatch, off_policy_steps, sampled_by):
    """The engine is killed as the third batch is submitted. Synchronous: step s samples from the policy after s-1
    updates, the restarted engine too. Off-policy: batch 3 was submitted to version 1 (while update 2 ran); the
    restarted engine came back with the initial weights, so the batch is sampled again with version 2 (no lag)."""
    versions = []
    killer = KillOnCall(rl_generation.submit_generation, kill_on=3, pick_actor=lambda roles, *rest: roles.rollouts[0])
    collect = rl_generation.collect_generation

    def collect_and_record_version(*args, **kwargs):
        rollouts, version = collect(*args, **kwargs)
        versions.append(version)
        return rollouts, version

    monkeypatch.setattr(rl_generation, "submit_generation", killer)
    monkeypatch.setattr(rl_generation, "collect_generation", collect_and_record_version)

    pipelines.run(CONFIG, rl_overrides(tmp_path, f"algorithm.off_policy_steps={off_policy_steps}", steps=3))

    assert killer.killed is not None
    assert versions == sampled_by  # never the initial weights after an update
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2, 3]
    assert [record["rollout/policy_lag"] for record in records] == [step - 1 - v for step, v in zip([1, 2, 3],
                                                                                                  sampled_by)]


def test_a_bad_held_out_prompt_file_fails_before_the_run_directory_is_touched(no_actors, rl_overrides, tmp_path):
    earlier_metrics = tmp_path / "run" / "metrics.jsonl"
    earlier_metrics.parent.mkdir()
    earlier_metrics.write_text('{"step": 1}\n')  # an earlier run's log, which a fresh start would clear
    eval_prompts = tmp_path / "eval_prompts.jsonl"
    eval_prompts.write_text('{"prompt": "fine"}\n{"prompt": ""}\n')

    with pytest.raises(Exception, match=r"eval_prompts\.jsonl"):
        pipelines.run(CONFIG, rl_overrides(tmp_path / "run", f"data.eval_prompts={eval_prompts}",
                                           "data.on_bad_row=error", "run.overwrite=true"))

    assert earlier_metrics.read_text() == '{"step": 1}\n'
    assert not (tmp_path / "run" / "config.yaml").exists()
