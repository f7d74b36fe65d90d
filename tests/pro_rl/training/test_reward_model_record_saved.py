"""A trained reward model's directory records its length and its tokenizer's corpus; the orchestrator then scores
with both, from a config that only names the directory."""

import json

from datasets import Dataset

from pro_rl.config.schema import ProRLConfig, RewardModelConfig, TrainingConfig
from pro_rl.models.reward_model_record import RECORD_FILE
from pro_rl.models.scoring import RewardScorer
from pro_rl.models.tokenizer import CORPUS_RECORD, train_tiny_tokenizer
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.reward_model import train_reward_model

PAIRS = Dataset.from_list([{"prompt": f"zindrel {i}?", "chosen": "quorvane pylons hum", "rejected": "no"}
                           for i in range(16)])


def test_training_writes_the_record_and_the_run_data_tokenizer(tmp_path):
    spec = RewardModelConfig(name="helpful", model="tiny:gpt2", tiny_hidden_size=32, tiny_layers=1,
                             tiny_vocab_size=300, tiny_tokenizer_corpus="run_data",
                             training=TrainingConfig(learning_rate=1e-3, batch_size=8, max_steps=1, max_length=40))
    config = ProRLConfig(reward_models=[spec])
    config.run.device, config.run.progress, config.data.prompt_format = "cpu", False, "hh"
    train_reward_model(config, spec, tmp_path, MetricsLogger(tmp_path, tensorboard=False), pairs=PAIRS)
    final = tmp_path / "final" / "helpful"
    assert json.loads((final / RECORD_FILE).read_text()) == {
        "objective": "helpful", "max_length": 40, "response_only": False, "label_index": 0, "prompt_format": "hh"}
    corpus = json.loads((final / "tokenizer_config.json").read_text())[CORPUS_RECORD]
    assert corpus["corpus"] == "run_data" and corpus["texts"] == 32  # prompt + chosen and prompt + rejected
    scorer = RewardScorer(RewardModelConfig(name="helpful", model=str(final)), device="cpu")
    assert scorer.max_length == 40  # the trained length, not the default 512
    toy = train_tiny_tokenizer(vocab_size=300)  # the same size, trained on the shipped toy world
    pieces = [len(tokenizer(" quorvane pylons", add_special_tokens=False)["input_ids"])
              for tokenizer in (scorer.tokenizer, toy)]
    assert pieces[0] < pieces[1]
