"""``evaluate.method: sga`` end to end on a tiny SGA policy (a tiny LM and a fresh head, no training): the grid
through the weights → scores rule, the adaptive point, the Table-5 strategies with win rates against a baseline
policy, and the head's accuracy, checked against values recomputed by hand."""

import json
import math

import pytest
import torch

from pipelines.evaluate import run
from pro_rl.algorithms import argmax_agreement
from pro_rl.config import ConfigError, ModelConfig, RewardModelConfig, load_config
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.formats import render_prompt
from pro_rl.data.toy_world import shipped_dir
from pro_rl.models.builders import build_policy
from pro_rl.models.sga import SGAPolicy, build_score_head, load_sga_policy, save_sga_policy, sense_scores
from pro_rl.training.sga_evaluation import ideal_response_targets

OBJECTIVES = ["helpful", "harmless", "humor"]
NUM_PROMPTS = 3


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    root = tmp_path_factory.mktemp("sga_eval")
    lm, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # noise, so that the responses change with the scores in the prompt
        for parameter in lm.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    head = build_score_head(lm, OBJECTIVES, hidden_size=16, num_layers=2, seed=3)
    sga = save_sga_policy(root / "sga", SGAPolicy(lm, head), tokenizer)
    baseline, baseline_tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    baseline.save_pretrained(root / "sft")
    baseline_tokenizer.save_pretrained(root / "sft")
    return root, sga, root / "sft"


def sga_config(root, sga, *extra):
    return load_config("configs/tiny/evaluate.yaml", [
        f"run.output_dir={root / 'run'}", "run.overwrite=true", "orchestrator.path=''", "evaluate.method=sga",
        f"evaluate.policy={sga}", f"evaluate.num_prompts={NUM_PROMPTS}", "evaluate.samples_per_prompt=1",
        "rollout.max_new_tokens=6", *extra])


def test_ideal_response_targets_of_the_toy_world():
    truth = torch.tensor([[0.7, 0.15, 0.15], [0.15, 0.15, 0.7]], dtype=torch.float64)
    # the single main segment is best; its reward maps 1 → 1 and the others' −0.3 → (−0.3 + 0.6) / 1.6 = 0.1875
    assert ideal_response_targets(truth, OBJECTIVES).tolist() == [[1.0, 0.1875, 0.1875], [0.1875, 0.1875, 1.0]]
    two = ideal_response_targets(torch.tensor([[0.5, 0.5]], dtype=torch.float64), ["helpful", "humor"])
    # both segments: each reward 1 − 0.3 = 0.7 (0.5·0.7 + 0.5·0.7 = 0.7 beats 0.5·1 − 0.5·0.3 = 0.35 for one),
    # mapped to (0.7 + 0.6) / 1.6 = 0.8125
    assert two.tolist() == [[0.8125, 0.8125]]


def test_evaluate_sga_grid_adaptive_point_strategies_and_head(policies):
    root, sga, sft = policies
    config = sga_config(root, sga, f"evaluate.baseline_policy={sft}")
    config.evaluate.grid = [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]
    # helpful: an untrained tiny reward model, so that rewards differ between responses and wins are not all ties
    config.reward_models[0] = RewardModelConfig(name="helpful", model="tiny:gpt2")
    result = run(config)
    summary = json.loads((result.output_dir / "evaluation.json").read_text())

    assert summary["method"] == "sga" and [p["weights"] for p in summary["points"]] == config.evaluate.grid
    table = summary["sga"]
    rows = {row["label"]: row for row in table["strategies"]}
    assert list(rows) == ["adaptive", "fixed_0.25", "fixed_0.5", "fixed_1.0", "ground_truth"]
    assert rows["fixed_0.25"]["scores"] == [0.25] * 3
    # equal weights map to full marks on every objective: the same responses as fixed_1.0
    assert rows["fixed_1.0"]["rewards"] == summary["points"][1]["rewards"]
    assert summary["adaptive"]["rewards"] == rows["adaptive"]["rewards"]
    assert summary["adaptive"]["true_scalarised"] == pytest.approx(rows["adaptive"]["true_scalarised"])
    for row in table["strategies"]:
        assert len(row["rewards"]) == 3 and math.isfinite(row["true_scalarised"])
        assert 0 <= row["win_rate"] <= 1 and (row["win_rate"] * 2 * NUM_PROMPTS) % 1 == 0  # halves of 3 pairs
    assert math.isfinite(table["baseline"]["true_scalarised"])
    assert len({row["win_rate"] for row in table["strategies"]}) > 1  # the strategies' responses differ

    eval_rows = read_jsonl(shipped_dir() / "eval_prompts.jsonl")[:NUM_PROMPTS]
    prompts = [render_prompt(row["prompt"]) for row in eval_rows]
    truth = torch.tensor([[row["weights"][name] for name in OBJECTIVES] for row in eval_rows], dtype=torch.float64)
    targets = torch.tensor([[1.0 if w == max(row) else 0.1875 for w in row] for row in truth.tolist()])
    assert rows["ground_truth"]["scores"] == pytest.approx(targets.mean(dim=0).tolist())
    lm, head, tokenizer = load_sga_policy(sga, ModelConfig(model=str(sga)))
    sensed = sense_scores(lm, head, tokenizer, prompts)
    assert rows["adaptive"]["scores"] == pytest.approx(sensed.mean(dim=0).tolist(), abs=1e-5)
    assert table["head"]["mse"] == pytest.approx(float(((sensed - targets) ** 2).mean()), abs=1e-5)
    assert table["head"]["argmax_agreement"] == argmax_agreement(sensed.double(), truth)

    report = (result.output_dir / "report.md").read_text()
    assert "## SGA inference strategies (SGA Table 5)" in report and "| adaptive |" in report
    assert result.metrics["eval/sga/head/mse"] == table["head"]["mse"]
    assert result.metrics["eval/sga/fixed_0.5/win_rate"] == rows["fixed_0.5"]["win_rate"]


def test_evaluate_sga_refuses_a_policy_without_head_or_a_k_mismatch(policies):
    root, sga, sft = policies
    with pytest.raises(ConfigError, match=f"key 'evaluate.policy'.*{sft} is not an SGA policy"):
        sga_config(root, sft)
    two = "reward_models=[{name: helpful, model: 'pro_rl.data.toy_world:helpful_reward'}," \
          "{name: humor, model: 'pro_rl.data.toy_world:humor_reward'}]"
    with pytest.raises(ConfigError, match="key 'evaluate.policy'.*K mismatch"):
        sga_config(root, sga, two, "evaluate.reference_point=[]")
    with pytest.raises(ConfigError, match="key 'evaluate.sga_strategies'.*fixed_2"):
        sga_config(root, sga, "evaluate.sga_strategies=[adaptive,fixed_2]")
