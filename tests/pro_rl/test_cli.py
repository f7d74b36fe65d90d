"""The ``pro-rl`` command through ``python -m pro_rl.cli`` in a subprocess, as ``ray job submit`` runs it."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_REWARD_MODELS = REPO_ROOT / "configs" / "tiny" / "reward_models.yaml"
OBJECTIVES = ["helpful", "harmless", "humor"]


def pro_rl(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pro_rl.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def orchestrator_dir(tmp_path_factory) -> Path:
    """An untrained tiny orchestrator in save_pretrained layout: enough for the weights command."""
    from pro_rl.config.schema import OrchestratorConfig
    from pro_rl.models.builders import build_orchestrator

    model, tokenizer = build_orchestrator(OrchestratorConfig(model="tiny:xlm-roberta", tiny_hidden_size=32), OBJECTIVES)
    directory = tmp_path_factory.mktemp("orchestrator")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def assert_weight_lines(stdout: str, prompts: list) -> None:
    lines = stdout.strip().splitlines()
    assert len(lines) == len(prompts)
    for line, prompt in zip(lines, prompts):
        row = json.loads(line)
        assert row["prompt"] == prompt
        assert list(row["weights"]) == OBJECTIVES
        assert all(value >= 0 for value in row["weights"].values())
        assert math.isclose(sum(row["weights"].values()), 1.0, abs_tol=1e-5)


def test_config_with_a_misspelled_override_exits_2_naming_the_key():
    result = pro_rl("config", TINY_REWARD_MODELS, "algorithm.kl_coeff=0.1")
    assert result.returncode == 2
    assert "kl_coeff" in result.stderr and str(TINY_REWARD_MODELS) in result.stderr
    assert result.stderr.startswith("pro-rl: error:")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_config_with_a_misspelled_yaml_key_exits_2_naming_key_and_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("base: " + str(TINY_REWARD_MODELS) + "\nalgorithm:\n  kl_coeff: 0.1\n")
    result = pro_rl("config", config)
    assert result.returncode == 2
    assert "kl_coeff" in result.stderr and str(config) in result.stderr


def test_run_with_a_misspelled_key_fails_before_any_work(tmp_path):
    result = pro_rl("run", TINY_REWARD_MODELS, f"run.output_dir={tmp_path / 'run'}", "algorithm.kl_coeff=0.1")
    assert result.returncode == 2
    assert "kl_coeff" in result.stderr
    assert not (tmp_path / "run").exists()


def test_config_prints_the_resolved_yaml():
    result = pro_rl("config", TINY_REWARD_MODELS, "algorithm.kl_coef=0.05")
    assert result.returncode == 0, result.stderr
    assert "kl_coef: 0.05" in result.stdout and "pipeline: reward_models" in result.stdout
    assert "${" not in result.stdout


def test_config_without_a_file_lists_every_key_with_help():
    result = pro_rl("config")
    assert result.returncode == 0, result.stderr
    assert "orchestrator.tau = 0.1: Temperature τ" in result.stdout


def test_weights_prints_one_json_line_per_prompt(orchestrator_dir):
    prompts = ["how do i fix my bike ?", "tell me a joke about a cat"]
    result = pro_rl("weights", "--orchestrator", orchestrator_dir, "--device", "cpu", *prompts)
    assert result.returncode == 0, result.stderr
    assert_weight_lines(result.stdout, prompts)


def test_weights_reads_prompts_from_a_jsonl_file(orchestrator_dir, tmp_path):
    prompts_file = tmp_path / "prompts.jsonl"
    prompts_file.write_text('{"prompt": "first one"}\n{"prompt": "second one"}\n')
    result = pro_rl("weights", "--orchestrator", orchestrator_dir, "--prompts", prompts_file, "third")
    assert result.returncode == 0, result.stderr
    assert_weight_lines(result.stdout, ["third", "first one", "second one"])


def test_weights_without_prompts_exits_2(orchestrator_dir):
    result = pro_rl("weights", "--orchestrator", orchestrator_dir)
    assert result.returncode == 2
    assert "give prompts" in result.stderr


def test_weights_of_a_missing_orchestrator_exits_2(tmp_path):
    result = pro_rl("weights", "--orchestrator", tmp_path / "nothing", "a prompt")
    assert result.returncode == 2
    assert "no trained orchestrator" in result.stderr and str(tmp_path / "nothing") in result.stderr


def test_toy_world_writes_the_files(tmp_path):
    from pro_rl.data.toy_world import shipped_dir

    result = pro_rl("toy-world", "--output", tmp_path / "world")
    assert result.returncode == 0, result.stderr
    names = ["pairs_helpful", "pairs_harmless", "pairs_humor", "general_pairs", "prompts", "eval_prompts", "sft"]
    assert result.stdout.splitlines() == [f"{name}: {tmp_path / 'world' / name}.jsonl" for name in names]
    for name in names:  # seed 0 is the shipped copy
        assert (tmp_path / "world" / f"{name}.jsonl").read_bytes() == (shipped_dir() / f"{name}.jsonl").read_bytes()


def test_toy_world_seed_changes_the_data(tmp_path):
    result = pro_rl("toy-world", "--output", tmp_path, "--seed", "9")
    assert result.returncode == 0, result.stderr
    from pro_rl.data.toy_world import shipped_dir

    assert (tmp_path / "general_pairs.jsonl").read_bytes() != (shipped_dir() / "general_pairs.jsonl").read_bytes()


def test_unknown_command_is_a_usage_error():
    result = pro_rl("train")
    assert result.returncode == 2
    assert "invalid choice: 'train'" in result.stderr


@pytest.fixture(scope="module")
def wic_policy_dir(tmp_path_factory) -> Path:
    """An untrained tiny policy that declares PRO-WIC weight tags (wic_conditioning.json)."""
    from pro_rl.config.schema import ModelConfig
    from pro_rl.models.builders import build_policy
    from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    directory = tmp_path_factory.mktemp("policy")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    Conditioning("wic", OBJECTIVES, [0.0] * 3, [1.0] * 3, [-1.0] * 3, [1.0] * 3).save(directory / CONDITIONING_FILE)
    return directory


@pytest.mark.slow
def test_generate_conditions_on_user_weights_or_the_orchestrators(wic_policy_dir, orchestrator_dir):
    given = pro_rl("generate", "--policy", wic_policy_dir, "--weights", "0.2,0.3,0.5", "--max-new-tokens", "4",
                   "--num-samples", "2", "--user-turn", "tell me a joke")
    assert given.returncode == 0, given.stderr
    rows = [json.loads(line) for line in given.stdout.strip().splitlines()]
    assert len(rows) == 2 and rows[0]["weights"] == [0.2, 0.3, 0.5]
    assert rows[0]["conditioned_prompt"] == "\n\nHuman: tell me a joke\n\nAssistant: <W1> 0.20 <W2> 0.30 <W3> 0.50"

    default = pro_rl("generate", "--policy", wic_policy_dir, "--orchestrator", orchestrator_dir, "--max-new-tokens",
                     "4", "hi")
    assert default.returncode == 0, default.stderr
    row = json.loads(default.stdout)
    assert sum(row["weights"]) == pytest.approx(1.0) and row["conditioned_prompt"].startswith("hi <W1> ")

    neither = pro_rl("generate", "--policy", wic_policy_dir, "hi")
    assert neither.returncode == 2 and "give --weights or an --orchestrator" in neither.stderr
    wrong = pro_rl("generate", "--policy", wic_policy_dir, "--weights", "0.5,0.5", "hi")
    assert wrong.returncode == 2 and "need 3 weights" in wrong.stderr
