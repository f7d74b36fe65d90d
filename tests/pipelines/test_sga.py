"""The sga_sft and sga_dpo pipelines end to end on the toy world with a tiny policy, and the resume of a killed
sga_sft run (same final metrics, weights and metric lines as an uninterrupted run)."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import pipelines
from pro_rl.models.sga import load_score_head
from pro_rl.training.metrics import read_metrics
from pro_rl.training.sga import initial_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
SFT = "configs/tiny/sga_sft.yaml"
DPO = "configs/tiny/sga_dpo.yaml"


def tiny_overrides(output_dir, *extra, steps=4):
    return [f"run.output_dir={output_dir}", "run.progress=false", "data.max_rows=240", "policy.tiny_hidden_size=32",
            "policy.max_prompt_length=112", "sga.head_hidden_size=16", f"sga.training.max_steps={steps}",
            "sga.training.batch_size=8", "sga.training.max_length=136", "sga.training.eval_fraction=0.1",
            "run.checkpoint_every=0", *extra]


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("sga") / "sft"
    return pipelines.run(SFT, tiny_overrides(output_dir, "sga.training.learning_rate=3e-3", steps=6))


def test_sga_sft_writes_the_policy_with_its_head_and_a_report(sft_run):
    output_dir, metrics = sft_run.output_dir, sft_run.metrics
    policy = output_dir / "final" / "policy"
    assert {"model.safetensors", "sga_head.safetensors", "sga_head.json", "sga_scores.json", "tokenizer.json"} <= \
        {path.name for path in policy.iterdir()}
    scores = json.loads((policy / "sga_scores.json").read_text())
    assert scores["score_source"] == "toy_world" and scores["objectives"] == ["helpful", "harmless", "humor"]
    assert set(metrics) == {"eval/sga/ce", "eval/sga/mse", "eval/sga/loss", "eval/w_star/argmax_agreement"}
    assert metrics["eval/sga/loss"] == pytest.approx(metrics["eval/sga/ce"] + 1000 * metrics["eval/sga/mse"])
    assert 0.0 <= metrics["eval/w_star/argmax_agreement"] <= 1.0
    train = [row for row in read_metrics(output_dir / "metrics.jsonl") if "train/sga/mse" in row]
    assert [row["step"] for row in train] == [1, 2, 3, 4, 5, 6]
    assert train[-1]["train/sga/mse"] < train[0]["train/sga/mse"]  # λ = 1000 pulls the head towards the targets
    report = (output_dir / "report.md").read_text()
    assert "eval/w_star/argmax_agreement" in report and "λ = 1000" in report
    assert (output_dir / "plots" / "sga_training.png").is_file()


def test_sga_dpo_from_an_sft_policy_starts_at_log_2_against_it_as_reference(sft_run, tmp_path):
    sft_policy = sft_run.output_dir / "final" / "policy"
    result = pipelines.run(DPO, tiny_overrides(tmp_path / "dpo", f"policy.model={sft_policy}", "sga.lam=0.9",
                                               "sga.dpo_weight=0.1", steps=3))
    first = next(row for row in read_metrics(tmp_path / "dpo" / "metrics.jsonl") if row.get("step") == 1)
    # before its first update the policy is the reference: every DPO logit is 0, so L_DPO = log 2
    assert first["train/sga/dpo"] == pytest.approx(math.log(2), abs=1e-5)
    assert first["train/sga/reward_margin"] == pytest.approx(0.0, abs=1e-5)
    assert first["train/sga/loss"] == pytest.approx(0.1 * math.log(2) + 0.9 * first["train/sga/mse"], rel=1e-5)
    # the initial policy is the SFT policy with its trained head
    config = pipelines.load_config(DPO, tiny_overrides(tmp_path / "other", f"policy.model={sft_policy}"))
    policy, _ = initial_policy(config)
    saved_head = load_score_head(sft_policy).state_dict()
    for name, tensor in policy.head.state_dict().items():
        torch.testing.assert_close(tensor, saved_head[name], msg=name)
    assert {"eval/sga/dpo", "eval/sga/accuracy", "eval/sga/mse", "eval/w_star/argmax_agreement"} <= set(result.metrics)
    assert (tmp_path / "dpo" / "final" / "policy" / "sga_head.safetensors").is_file()
    assert (tmp_path / "dpo" / "report.md").is_file()


def test_sga_dpo_on_a_plain_policy_builds_a_fresh_head(tmp_path):
    result = pipelines.run(DPO, tiny_overrides(tmp_path / "dpo", steps=1))
    head = json.loads((tmp_path / "dpo" / "final" / "policy" / "sga_head.json").read_text())
    assert head == {"input_size": 32, "objectives": ["helpful", "harmless", "humor"], "hidden_size": 16,
                    "num_layers": 3}
    assert result.metrics["eval/sga/dpo"] > 0


def resume_machinery():
    """tests/e2e/test_rl_resume.py's helpers (SIGKILL a process group once ready, wait for it to be gone), loaded from
    its file: test modules are not importable as a package here."""
    spec = importlib.util.spec_from_file_location("rl_resume_machinery", REPO_ROOT / "tests" / "e2e" / "test_rl_resume.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def checkpointed_steps(output_dir) -> int:
    """The latest checkpointed step (0: none yet). Older checkpoints are pruned (``run.keep_checkpoints``), so a
    poll looks for any step at or past the one it waits for, not for one directory."""
    steps = [int(path.name.split("-")[1]) for path in (output_dir / "checkpoints" / "policy").glob("step-*")
             if path.is_dir() and path.name.split("-")[1].isdigit()]
    return max(steps, default=0)


def test_a_killed_sga_sft_run_resumes_to_the_uninterrupted_result(tmp_path):
    machinery = resume_machinery()
    common = tiny_overrides(tmp_path / "whole", steps=40) + ["run.checkpoint_every=2", "run.resume=auto"]
    expected = pipelines.run(SFT, common)

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "pro_rl.cli", "run", SFT, *common, f"run.output_dir={killed}"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    machinery.kill_when(process, lambda: checkpointed_steps(killed) >= 4, timeout_s=300)
    machinery.wait_until_gone(process.pid, timeout_s=30)
    assert not (killed / "final").exists()  # SIGKILLed mid-run, after a checkpoint of step 4 or later
    resumed = pipelines.run(SFT, [*common, f"run.output_dir={killed}"])

    assert "resumed" in (killed / "run.log").read_text()
    assert resumed.metrics == pytest.approx(expected.metrics, rel=1e-5)
    for name in ("model.safetensors", "sga_head.safetensors"):
        first = load_file(tmp_path / "whole" / "final" / "policy" / name)
        second = load_file(killed / "final" / "policy" / name)
        assert first.keys() == second.keys()
        for key in first:
            torch.testing.assert_close(second[key], first[key], rtol=1e-5, atol=1e-7, msg=key)
    whole_lines = read_metrics(tmp_path / "whole" / "metrics.jsonl")
    killed_lines = read_metrics(killed / "metrics.jsonl")
    assert [row["step"] for row in killed_lines] == [row["step"] for row in whole_lines]
    for first, second in zip(whole_lines, killed_lines):
        assert second == pytest.approx(first, rel=1e-5, abs=1e-7)


def test_a_prompt_limit_below_the_score_text_is_a_config_error(tmp_path):
    from pro_rl.config.errors import ConfigError

    with pytest.raises(ConfigError, match="policy.max_prompt_length.*leaving no room"):
        pipelines.run(SFT, tiny_overrides(tmp_path / "short", "policy.max_prompt_length=40"))


def test_sga_sft_with_lora_trains_the_adapters_and_the_head_and_saves_a_merged_lm(tmp_path):
    from pro_rl.models.builders import build_policy
    from pro_rl.config.schema import ModelConfig

    pipelines.run(SFT, tiny_overrides(tmp_path / "lora", "policy.lora_rank=4", "policy.lora_alpha=8", steps=2))
    policy = tmp_path / "lora" / "final" / "policy"
    saved = load_file(policy / "model.safetensors")
    initial = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))[0].state_dict()
    assert not any("lora" in name for name in saved)
    assert any(not torch.equal(saved[name], initial[name]) for name in saved if name in initial)  # adapters merged
    assert json.loads((policy / "sga_head.json").read_text())["objectives"] == ["helpful", "harmless", "humor"]
