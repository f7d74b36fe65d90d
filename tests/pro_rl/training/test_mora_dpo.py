"""MORA's offline DPO stage: a few steps on hand-made pairs move the policy towards the chosen responses relative to
its frozen start (the reference), save the policy, and a resumed stage continues from its checkpoint."""

import json

import pytest
import torch

from pro_rl.algorithms import sum_masked
from pro_rl.config import load_config
from pro_rl.models.builders import build_policy, load_policy
from pro_rl.training.mora_dpo import pair_token_ids, train_dpo_stage
from pro_rl.training.sequences import make_sequence_batch, response_logprobs

PROMPT = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"
PAIRS = [{"prompt": PROMPT, "chosen": " first check the bike , then follow each step in order .",
          "rejected": " ok ."},
         {"prompt": PROMPT.replace("bike", "lamp"),
          "chosen": " use the manual of the lamp and test it after every step .", "rejected": " well , maybe ."}] * 4


def _policy_dir(tmp_path):
    model, tokenizer = build_policy(load_config("configs/tiny/mora.yaml").policy)
    model.save_pretrained(tmp_path / "start")
    tokenizer.save_pretrained(tmp_path / "start")
    return str(tmp_path / "start")


def _config(start, *overrides):
    return load_config("configs/tiny/mora.yaml", [f"policy.model={start}", "run.progress=false",
                                                  "mora.training.learning_rate=1e-3", "mora.training.batch_size=4",
                                                  "mora.training.max_steps=6", "mora.training.min_steps=6",
                                                  "mora.training.eval_fraction=0", *overrides])


def _logit(path, config):
    """Mean over the pairs of (log pi(chosen) - log pi(rejected)) under the policy at ``path``."""
    model, tokenizer = load_policy(path, config.policy)
    prompts, chosen, rejected = pair_token_ids(PAIRS, tokenizer, 64, 40)
    batch = make_sequence_batch(prompts * 2, chosen + rejected, tokenizer.pad_token_id)
    with torch.no_grad():
        sums = sum_masked(response_logprobs(model.eval(), batch), batch.response_mask)
    return float((sums[:len(PAIRS)] - sums[len(PAIRS):]).mean())


def test_dpo_stage_prefers_the_chosen_responses(tmp_path):
    start = _policy_dir(tmp_path)
    config = _config(start)
    values = train_dpo_stage(config, PAIRS, start, tmp_path / "dpo", seed=0)
    assert values == {"dpo/pairs": 8.0}  # no held-out pairs: eval_fraction 0
    logged = [json.loads(line) for line in (tmp_path / "dpo" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [1, 2, 3, 4, 5, 6, 6]
    assert logged[0]["train/dpo/loss"] == pytest.approx(0.6931, abs=1e-3)  # policy = reference
    assert logged[5]["train/dpo/loss"] < logged[0]["train/dpo/loss"]
    trained = str(tmp_path / "dpo" / "final" / "policy")
    assert _logit(trained, config) > _logit(start, config) + 0.5


def test_dpo_stage_resumes_from_its_checkpoint(tmp_path):
    start = _policy_dir(tmp_path)
    straight = train_dpo_stage(_config(start, "mora.training.eval_fraction=0.25"), PAIRS, start, tmp_path / "a", 0)
    # the same stage, stopped after 3 of its 6 steps with a checkpoint, then run again with resume
    halfway = _config(start, "mora.training.eval_fraction=0.25", "mora.training.max_steps=3",
                      "run.checkpoint_every=3")
    train_dpo_stage(halfway, PAIRS, start, tmp_path / "b", 0)
    resumed = train_dpo_stage(_config(start, "mora.training.eval_fraction=0.25", "run.resume=auto"), PAIRS, start,
                              tmp_path / "b", 0)
    assert (tmp_path / "b" / "checkpoints").is_dir()
    # continued at step 4 (a fresh start would have logged steps 1-3 twice)
    logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4, 5, 6, 6]
    assert resumed["eval/dpo/loss"] == pytest.approx(straight["eval/dpo/loss"], rel=1e-5)
    assert resumed["dpo/pairs"] == straight["dpo/pairs"] == 8.0
