"""pipelines/moslim.py: MOSLIM RL through PRO-MORLHF's driver, one multi-head classifier as the reward actor.

A tiny random policy and an untrained tiny multi-head classifier (its probabilities differ between responses, so the
mapping has spread); 2 prompts × 2 samples × 8 tokens per step. Each algorithm runs a few steps in process on the
session cluster; the kill-and-resume test runs ``python -m pro_rl.cli`` in subprocesses with the machinery of
``tests/e2e/test_rl_resume.py``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pipelines
from pipelines.rl_stages import step_metrics
from pro_rl.rollout import Rollouts
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "moslim.yaml"
HEADS = {"helpful": 3, "harmless": 2, "humor": 3}
STAGES = ("weights", "generate", "score", "reference", "scalarise", "advantages", "update", "sync")


@pytest.fixture(scope="module")
def classifier_dir(tiny_moslim_classifier_dir) -> Path:
    return tiny_moslim_classifier_dir


def overrides(classifier_dir: Path, output_dir: Path, *extra: str, steps: int = 2) -> list[str]:
    return [f"moslim.reward_model={classifier_dir}", "policy.model=tiny:gpt2", f"run.output_dir={output_dir}",
            "run.progress=false", "run.checkpoint_every=0", f"algorithm.steps={steps}",
            "algorithm.prompt_batch_size=2", "rollout.num_samples=2", "rollout.max_new_tokens=8", *extra]


def tagged_prompts(path: Path) -> Path:
    """Four toy-world prompts, two of them already carrying tags (kept as given), one with a bad tag."""
    rows = [json.loads(line) for line in
            (REPO_ROOT / "pro_rl" / "data" / "toy_world_data" / "prompts.jsonl").read_text().splitlines()[:4]]
    rows[0]["prompt"] = rows[0]["prompt"].replace("Human: ", "Human: <helpful 3> ")
    rows[1]["prompt"] = rows[1]["prompt"].replace("Human: ", "Human: <harmless 2><humor 1> ")
    rows[2]["prompt"] = rows[2]["prompt"].replace("Human: ", "Human: <humor 7> ")
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["rloo", "ppo", "online_dpo"])
def test_each_algorithm_runs_with_one_reward_actor_and_per_tag_metrics(algorithm, ray_cluster, classifier_dir,
                                                                        tmp_path):
    result = pipelines.run(CONFIG, overrides(classifier_dir, tmp_path / "run", f"algorithm.name={algorithm}"))

    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2]
    for record in records:
        assert all(f"time/{stage}_s" in record for stage in STAGES)
        assert math.isfinite(record["reward/total/mean"]) and math.isfinite(record["loss/policy"])
        weights = [record[f"weights/{name}/mean"] for name in HEADS]
        assert sum(weights) == pytest.approx(1.0, abs=1e-6)  # every prompt's tag weights sum to 1
        for name, weight in zip(HEADS, weights):  # an objective's reward is logged over the prompts that tag it
            assert math.isfinite(record[f"reward/{name}/mean"]) == (weight > 0), (name, record)
            assert math.isfinite(record.get(f"moslim/{name}/target_prob", math.nan)) == (weight > 0)
        assert record["data/skipped_bad_tags"] == 0.0
    state = json.loads((tmp_path / "run" / "final" / "trainer_state.json").read_text())
    counts = [moments["count"] for moments in state["reward_source"]["intensity_stats"]["moments"].values()]
    assert counts == [2 * 2 * 2] * 3  # every response of both steps updated every head
    assert (tmp_path / "run" / "report.md").is_file() and (tmp_path / "run" / "plots" / "reward_curves.png").is_file()
    assert "| helpful |" in (tmp_path / "run" / "report.md").read_text()
    assert (tmp_path / "run" / "final" / "policy" / "model.safetensors").is_file()
    assert math.isfinite(result.metrics["reward/total/mean"])


@pytest.mark.slow
def test_tagged_prompt_data_keeps_its_tags_and_bad_tags_fail_or_are_counted(ray_cluster, classifier_dir, tmp_path):
    prompts = tagged_prompts(tmp_path / "prompts.jsonl")
    with pytest.raises(ValueError, match=r"prompts.jsonl: row 3: bad MOSLIM tag: intensity 7 of tag <humor 7>"):
        pipelines.run(CONFIG, overrides(classifier_dir, tmp_path / "refused", f"data.prompts={prompts}"))
    assert not (tmp_path / "refused").exists()  # refused before the run directory was touched

    pipelines.run(CONFIG, overrides(classifier_dir, tmp_path / "run", f"data.prompts={prompts}",
                                    "moslim.on_bad_tag=skip", "algorithm.prompt_batch_size=3", steps=1))
    record = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    assert record["data/skipped_bad_tags"] == 1.0
    # the batch is the three kept prompts (in batch_indices order): rows 0 and 1 keep their tags, row 3 gets random
    # ones; so helpful, harmless and humor are each tagged by at least one prompt
    assert record["weights/helpful/mean"] >= 1 / 3 - 1e-6 and record["weights/harmless/mean"] >= 1 / 6 - 1e-6


def resume_machinery():
    """tests/e2e/test_rl_resume.py's helpers (kill a process group when ready, wait for its Ray processes, compare
    nested states), loaded from its file: test modules are not importable as a package here."""
    path = REPO_ROOT / "tests" / "e2e" / "test_rl_resume.py"
    spec = importlib.util.spec_from_file_location("rl_resume_machinery", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def close_or_both_nan(actual: float, expected: float) -> bool:
    return (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_a_killed_moslim_run_resumes_with_the_same_metrics_and_statistics(classifier_dir, tmp_path):
    machinery = resume_machinery()

    def command(output_dir: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "pro_rl.cli", "run", str(CONFIG),
                *overrides(classifier_dir, output_dir, "run.seed=3", "run.checkpoint_every=2", "resources.num_cpus=2",
                           steps=6), *extra]

    def run_to_completion(output_dir: Path, *extra: str) -> None:
        done = subprocess.run(command(output_dir, *extra), cwd=REPO_ROOT, env=machinery.environment(),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]

    uninterrupted, killed = tmp_path / "uninterrupted", tmp_path / "killed"
    run_to_completion(uninterrupted)
    process = subprocess.Popen(command(killed), cwd=REPO_ROOT, env=machinery.environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    machinery.kill_when(process, lambda: (killed / "checkpoints" / "step-000002").is_dir(), timeout_s=400)
    machinery.wait_until_gone(process.pid, timeout_s=60)
    assert not (killed / "final").exists() and machinery.logged_steps(killed)[-1] < 6

    run_to_completion(killed, "run.resume=auto")

    assert "resumed from" in (killed / "run.log").read_text()
    expected, resumed = read_metrics(uninterrupted / "metrics.jsonl"), read_metrics(killed / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [r["step"] for r in expected] == list(range(1, 7))
    keys = ["reward/total/mean", "loss/policy", "kl/mean", "data/first_prompt_index",
            *[f"{kind}/{name}/mean" for kind in ("reward", "weights") for name in HEADS]]
    for a, b in zip(expected, resumed):
        for key in keys:
            assert close_or_both_nan(b[key], a[key]), (a["step"], key, a[key], b[key])
    state_a = json.loads((uninterrupted / "final" / "trainer_state.json").read_text())
    state_b = json.loads((killed / "final" / "trainer_state.json").read_text())
    assert state_a["reward_source"]["intensity_stats"]["moments"]["helpful"]["count"] == 6 * 2 * 2
    machinery.assert_nested_close(state_b["reward_source"], state_a["reward_source"])


def test_step_metrics_average_each_objective_over_the_prompts_that_count_it():
    """Two prompts × 2 samples; prompt 0 tags a only, prompt 1 tags a and b; sample 3 is invalid."""
    rewards = torch.tensor([[1.0, 0.0], [3.0, 0.0], [5.0, 2.0], [7.0, float("nan")]])
    valid = torch.tensor([True, True, True, False])
    weights = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    counted = torch.tensor([[True, False], [True, True]])
    rollouts = Rollouts(["p"] * 4, ["r"] * 4, [[1]] * 4, [[2]] * 4, 2)
    values = step_metrics(["a", "b"], rewards, valid, weights, torch.tensor([1.0, 3.0, 3.5, 0.0]), rollouts, counted)
    assert values["reward/a/mean"] == pytest.approx(3.0) and values["reward/b/mean"] == pytest.approx(2.0)
    assert values["reward/total/mean"] == pytest.approx(7.5 / 3)
    only_a = step_metrics(["a", "b"], rewards, valid, weights, torch.zeros(4), rollouts, counted & torch.tensor([True, False]))
    assert math.isnan(only_a["reward/b/mean"])
    assert step_metrics(["a", "b"], rewards, valid, weights, torch.zeros(4), rollouts)["reward/b/mean"] == pytest.approx(2 / 3)
