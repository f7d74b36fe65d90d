"""``weights.mode`` bag_of_words and oracle through the RL loop (pipelines/pro_morlhf.py, rl_stages.py) and alone.

The loop logs each step's mean weights and their entropy, which shows where the weights came from: a bag-of-words
layer with zero weights and fixed biases gives every prompt the same known vector, and the toy world's oracle gives
every prompt 0.7 on its category's objective and 0.15 on the others (entropy 0.8188 nats whatever the prompt).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

import pipelines
from pipelines import rl_stages
from pro_rl.config import load_config
from pro_rl.training.bag_of_words import BagOfWordsBaseline
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
OBJECTIVES = ("helpful", "harmless", "humor")
ORACLE = "pro_rl.data.toy_world_oracle:true_prompt_weights"
BAG_OF_WORDS_WEIGHTS = (0.5, 0.3, 0.2)
ORACLE_ENTROPY = -(0.7 * math.log(0.7) + 2 * 0.15 * math.log(0.15))  # 0.8188


@pytest.fixture(scope="module")
def bag_of_words_dir(tiny_orchestrator_dir, tmp_path_factory) -> Path:
    """The tiny orchestrator with a bag-of-words layer beside it that answers BAG_OF_WORDS_WEIGHTS for any prompt."""
    directory = tmp_path_factory.mktemp("bag_of_words") / "orchestrator"
    shutil.copytree(tiny_orchestrator_dir, directory)
    baseline = BagOfWordsBaseline(AutoTokenizer.from_pretrained(directory), len(OBJECTIVES))
    with torch.no_grad():
        baseline.linear.weight.zero_()
        baseline.linear.bias.copy_(torch.tensor(BAG_OF_WORDS_WEIGHTS).log())
    baseline.save(directory)
    return directory


def test_collect_prompt_weights_gives_the_oracle_rows():
    config = load_config(CONFIG, ["policy.model=tiny:gpt2", "orchestrator.path=''", "weights.mode=oracle",
                                  f"weights.function={ORACLE}",
                                  *[f"reward_models.{i}.model=pro_rl.data.toy_world:{name}_reward"
                                    for i, name in enumerate(OBJECTIVES)]])

    class Source:
        objectives = list(OBJECTIVES)

    prompts = ["\n\nHuman: tell me a joke about a cat .\n\nAssistant:", "\n\nHuman: how do i fix my bike ?\n\nAssistant:"]
    assert rl_stages.submit_prompt_weights(config, None, prompts) is None  # no actor call
    weights = rl_stages.collect_prompt_weights(config, None, prompts, Source())
    assert weights.dtype == torch.float32
    assert torch.allclose(weights, torch.tensor([[0.15, 0.15, 0.7], [0.7, 0.15, 0.15]]))


@pytest.mark.slow
def test_rl_loop_with_bag_of_words_weights(ray_cluster, rl_overrides, bag_of_words_dir, tmp_path):
    pipelines.run(CONFIG, rl_overrides(tmp_path, "weights.mode=bag_of_words", f"orchestrator.path={bag_of_words_dir}"))
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2]
    for record in records:
        assert [record[f"weights/{name}/mean"] for name in OBJECTIVES] == pytest.approx(BAG_OF_WORDS_WEIGHTS, abs=1e-6)
        assert record["weights/helpful/std"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_rl_loop_with_oracle_weights(ray_cluster, rl_overrides, tmp_path):
    pipelines.run(CONFIG, rl_overrides(tmp_path, "weights.mode=oracle", f"weights.function={ORACLE}",
                                       "algorithm.prompt_batch_size=4"))
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [record["step"] for record in records] == [1, 2]
    for record in records:
        assert record["weights/entropy"] == pytest.approx(ORACLE_ENTROPY, abs=1e-5)
        means = [record[f"weights/{name}/mean"] for name in OBJECTIVES]
        assert sum(means) == pytest.approx(1.0, abs=1e-6) and all(0.15 - 1e-6 <= m <= 0.7 + 1e-6 for m in means)
