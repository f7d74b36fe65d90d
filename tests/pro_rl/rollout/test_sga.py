"""SGA generation from one prefill: the cache-continued output equals a plain generate on the conditioned prompt,
ŝ equals ``sense_scores``, snapping, several samples per prompt; ``pro-rl generate`` on an SGA policy and its
errors (a directory without the head, K mismatch, weights given to an SGA policy)."""

import json
import logging

import pytest
import torch

from pro_rl import cli
from pro_rl.config.errors import ConfigError
from pro_rl.config.schema import ModelConfig
from pro_rl.data.conditioning import sga_prompt, sga_split
from pro_rl.inference import generate_answers, sampling_settings
from pro_rl.models.builders import build_policy
from pro_rl.models.sga import SGAPolicy, build_score_head, save_sga_policy, sense_scores
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.rollout.sga import SGAGenerator

OBJECTIVES = ["helpful", "harmless", "humor"]
PROMPTS = ["\n\nHuman: how do i fix my bike ?\n\nAssistant:",
           "\n\nHuman: tell me a long joke about a cat that sits on the roof of the old house .\n\nAssistant:",
           "a plain prompt"]  # three prefix lengths; the last has no assistant marker (empty suffix)
GREEDY = SamplingSettings(temperature=0, max_new_tokens=8)


def noisy_tiny_sga(arch: str):
    """A tiny LM whose weights carry extra noise (so greedy outputs vary from token to token) and a fresh head."""
    lm, tokenizer = build_policy(ModelConfig(model=f"tiny:{arch}", tiny_hidden_size=32))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in lm.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return lm.eval(), build_score_head(lm, OBJECTIVES, hidden_size=16, num_layers=3, seed=1), tokenizer


@pytest.mark.parametrize("arch", ["gpt2", "llama", "qwen2"])
def test_cache_continued_generation_equals_plain_generate_on_the_conditioned_prompt(arch):
    lm, head, tokenizer = noisy_tiny_sga(arch)
    result = SGAGenerator(lm, head, tokenizer, GREEDY).generate(PROMPTS)

    assert torch.allclose(result.sensed, sense_scores(lm, head, tokenizer, PROMPTS), atol=1e-5)
    assert torch.equal(result.scores, result.sensed)  # no snapping, no given scores: conditioned on ŝ itself
    conditioned = [sga_prompt(p, OBJECTIVES, s.tolist()) for p, s in zip(PROMPTS, result.scores)]
    assert result.rollouts.prompts == conditioned
    plain = HFRolloutEngine(lm, tokenizer, GREEDY).generate(conditioned, 1)
    assert result.rollouts.prompt_ids == plain.prompt_ids
    assert result.rollouts.response_ids == plain.response_ids
    assert len({tuple(ids) for ids in plain.response_ids}) == 3  # the rows differ: the check has teeth
    assert all(len(set(ids)) > 2 for ids in plain.response_ids)


def test_cut_prefixes_are_counted_and_warned_once(caplog):
    lm, head, tokenizer = noisy_tiny_sga("gpt2")
    lengths = [len(tokenizer(sga_split(prompt)[0], add_special_tokens=False)["input_ids"]) for prompt in PROMPTS]
    limit = min(lengths)  # the shortest prefix fits, the two longer ones are cut
    generator = SGAGenerator(lm, head, tokenizer, GREEDY, max_prompt_length=limit)
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        generator.generate(PROMPTS)
        generator.generate(PROMPTS)
    assert sum(length > limit for length in lengths) == 2 and generator.prompt_truncation.total.truncated == 4
    assert [record.getMessage() for record in caplog.records] == [
        f"SGA prompt prefixes (calls so far: 1): 2 of 3 texts (66.7 %) longer than max_length {limit} (longest "
        f"{max(lengths)}) were truncated on the left; raise policy.max_prompt_length to keep them whole"]


def test_snapping_given_scores_and_several_samples_per_prompt():
    lm, head, tokenizer = noisy_tiny_sga("gpt2")
    snapped = SGAGenerator(lm, head, tokenizer, GREEDY, snap_grid=4).generate(PROMPTS)
    assert torch.equal(snapped.scores, torch.round(snapped.sensed * 4) / 4)

    sampling = SamplingSettings(temperature=0.6, top_p=0.9, max_new_tokens=6)
    generator = SGAGenerator(lm, head, tokenizer, sampling, batch_size=4)  # 2 prompts per generate call
    given = [[1.0, 0.0, 0.25]] * 3
    first = generator.generate(PROMPTS, num_samples=2, scores=given, seed=3)
    again = generator.generate(PROMPTS, num_samples=2, scores=given, seed=3)
    assert first.rollouts.response_ids == again.rollouts.response_ids
    assert len(first.rollouts) == 6 and first.rollouts.prompts[0] == first.rollouts.prompts[1]
    assert "<helpful_score:1.00> and <harmless_score:0.00> and <humor_score:0.25>" in first.rollouts.prompts[5]
    assert torch.equal(first.scores, torch.tensor(given))
    assert torch.allclose(first.sensed, snapped.sensed, atol=1e-5)  # the head still reads every prompt


@pytest.fixture(scope="module")
def sga_policy_dir(tmp_path_factory):
    lm, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    head = build_score_head(lm, OBJECTIVES, hidden_size=16, num_layers=3, seed=1)
    return save_sga_policy(tmp_path_factory.mktemp("sga") / "policy", SGAPolicy(lm, head), tokenizer)


@pytest.fixture(scope="module")
def plain_policy_dir(tmp_path_factory):
    lm, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    directory = tmp_path_factory.mktemp("plain") / "policy"
    lm.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_generate_answers_senses_or_steers_an_sga_policy(sga_policy_dir):
    settings = sampling_settings(str(sga_policy_dir), None, None, 4)
    assert (settings.temperature, settings.top_p) == (0.6, 0.9)  # SGA's defaults, no sga_scores.json saved
    sensed = generate_answers(str(sga_policy_dir), PROMPTS[:2], settings=settings, device="cpu")
    assert [row["prompt"] for row in sensed] == PROMPTS[:2]
    assert all(row["scores"] == row["sensed_scores"] and list(row["scores"]) == OBJECTIVES for row in sensed)
    steered = generate_answers(str(sga_policy_dir), PROMPTS[:2], settings=settings, device="cpu",
                               scores=[0.5, 1.0, 0.25])
    assert steered[0]["scores"] == {"helpful": 0.5, "harmless": 1.0, "humor": 0.25}
    assert steered[1]["sensed_scores"] == pytest.approx(sensed[1]["sensed_scores"], abs=1e-6)
    assert steered[0]["conditioned_prompt"] == sga_prompt(PROMPTS[0], OBJECTIVES, [0.5, 1.0, 0.25])


def test_sga_errors_name_the_directory_or_the_k_mismatch(sga_policy_dir, plain_policy_dir):
    with pytest.raises(ConfigError, match=f"{plain_policy_dir} is not an SGA policy"):
        generate_answers(str(plain_policy_dir), ["hi"], scores=[0.5, 0.5, 0.5])
    with pytest.raises(ConfigError, match=r"need 3 scores in \[0, 1\].*helpful.*K mismatch"):
        generate_answers(str(sga_policy_dir), ["hi"], scores=[0.5, 0.5])
    with pytest.raises(ConfigError, match="reads scores, not weights"):
        generate_answers(str(sga_policy_dir), ["hi"], weights=[0.2, 0.3, 0.5])


def test_cli_generate_with_scores(sga_policy_dir, plain_policy_dir, capsys):
    assert cli.main(["generate", "--policy", str(sga_policy_dir), "--scores", "0.5,1,0.25", "--max-new-tokens", "3",
                     "--device", "cpu", "how do i fix my bike ?", "--user-turn"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert row["scores"] == {"helpful": 0.5, "harmless": 1.0, "humor": 0.25}
    assert "<harmless_score:1.00>" in row["conditioned_prompt"]
    for argv, culprit in [(["--policy", str(plain_policy_dir), "--scores", "0.5,0.5,0.5"], str(plain_policy_dir)),
                          (["--policy", str(sga_policy_dir), "--scores", "0.5,0.5"], "need 3 scores"),
                          (["--policy", str(sga_policy_dir), "--scores", "0.5,1.5,0"], "not a score in [0, 1]"),
                          (["--policy", str(sga_policy_dir), "--snap-grid", "-1"], "--snap-grid")]:
        assert cli.main(["generate", *argv, "hi"]) == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pro-rl: error:") and culprit in lines[0], captured.err
        assert captured.out == ""
