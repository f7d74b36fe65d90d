"""The SGA dual-head policy: head shapes, where the head reads (left and right padding, one pass with the
conditioned prompt), the token-prefix property on the toy world's prompts, and the save/load round trip."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from pro_rl.config.errors import ConfigError
from pro_rl.config.schema import ModelConfig, PolicyConfig
from pro_rl.config.method_validation import sga_head_objectives
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.conditioning import sga_prompt, sga_score_text, sga_split
from pro_rl.data.toy_world import shipped_dir
from pro_rl.models.builders import build_policy
from pro_rl.models.sga import (HeadSpec, SGAPolicy, ScoreHead, build_score_head, is_sga_policy, last_token_positions,
                               load_score_head, load_sga_policy, save_sga_policy, scores_at_last_token, sense_scores,
                               sga_prompt_ids)
from pro_rl.training.sequences import make_sequence_batch

OBJECTIVES = ["helpful", "harmless", "humor"]


@pytest.fixture(scope="module")
def tiny():
    lm, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    lm.eval()
    return lm, build_score_head(lm, OBJECTIVES, hidden_size=16, num_layers=3, seed=1), tokenizer


def test_head_is_an_mlp_of_num_layers_with_outputs_in_unit_interval():
    head = ScoreHead(HeadSpec(input_size=8, objectives=OBJECTIVES, hidden_size=16, num_layers=3))
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 16), (16, 16), (16, 3)]
    scores = head(torch.randn(5, 8) * 100)
    assert scores.shape == (5, 3) and bool(((scores >= 0) & (scores <= 1)).all())
    single = ScoreHead(HeadSpec(input_size=8, objectives=["a"], num_layers=1))
    assert [(m.in_features, m.out_features) for m in single.modules() if isinstance(m, torch.nn.Linear)] == [(8, 1)]


def test_last_token_positions_with_left_and_right_padding():
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 1]])
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    assert last_token_positions(left).tolist() == [3, 3, 3]
    assert last_token_positions(right).tolist() == [1, 3, 0]


def toy_prompts():
    rows = read_jsonl(shipped_dir() / "eval_prompts.jsonl") + read_jsonl(shipped_dir() / "general_pairs.jsonl")[:300]
    return [row["prompt"] for row in rows]


def test_the_prefix_tokens_are_a_prefix_of_the_conditioned_prompt_tokens(tiny):
    _, _, tokenizer = tiny
    for prompt in toy_prompts():
        scores = [0.75, 0.12, 0.5]
        ids, read = sga_prompt_ids(tokenizer, prompt, OBJECTIVES, scores, max_tokens=512)
        joint = tokenizer(sga_prompt(prompt, OBJECTIVES, scores), add_special_tokens=False)["input_ids"]
        assert ids == joint, prompt
        prefix_ids = tokenizer(sga_split(prompt)[0], add_special_tokens=False)["input_ids"]
        assert ids[:len(prefix_ids)] == prefix_ids and read == len(prefix_ids) - 1


def test_truncation_keeps_the_score_text_and_drops_the_prefix_start(tiny):
    _, _, tokenizer = tiny
    prompt = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"
    full, read = sga_prompt_ids(tokenizer, prompt, OBJECTIVES, [0.1, 0.2, 0.3], max_tokens=512)
    rest = len(full) - read - 1
    cut, cut_read = sga_prompt_ids(tokenizer, prompt, OBJECTIVES, [0.1, 0.2, 0.3], max_tokens=rest + 2)
    assert cut == full[read - 1:] and cut_read == 1
    with pytest.raises(ValueError, match="no room"):
        sga_prompt_ids(tokenizer, prompt, OBJECTIVES, [0.1, 0.2, 0.3], max_tokens=rest)


def test_the_head_reads_the_same_state_in_the_training_pass_and_in_a_prefix_prefill(tiny):
    lm, head, tokenizer = tiny
    prompts = ["\n\nHuman: how do i fix my bike ?\n\nAssistant:", "\n\nHuman: tell me a joke about a cat .\n\nAssistant:",
               "a plain prompt"]
    expected = sense_scores(lm, head, tokenizer, prompts, batch_size=3)  # left-padded prefixes
    assert expected.shape == (3, 3)
    alone = torch.cat([sense_scores(lm, head, tokenizer, [p]) for p in prompts])
    torch.testing.assert_close(expected, alone, rtol=1e-5, atol=1e-6)

    # right-padded prefill, read at each row's last real token
    prefixes = [tokenizer(sga_split(p)[0], add_special_tokens=False)["input_ids"] for p in prompts]
    width = max(map(len, prefixes))
    input_ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in prefixes])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in prefixes])
    with torch.no_grad():
        hidden = lm(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    torch.testing.assert_close(scores_at_last_token(head, hidden, mask), expected, rtol=1e-5, atol=1e-6)

    # the training pass: conditioned prompt + response, left-padded, read at the prefix's last token
    conditioned = [sga_prompt_ids(tokenizer, p, OBJECTIVES, [0.9, 0.1, 0.4], 512) for p in prompts]
    responses = [[5, 6, 7], [8], [9, 10]]
    batch = make_sequence_batch([ids for ids, _ in conditioned], responses, tokenizer.pad_token_id)
    positions = torch.tensor([batch.prompt_width - len(ids) + read for ids, read in conditioned])
    with torch.no_grad():
        output = SGAPolicy(lm, head)(batch.input_ids, batch.attention_mask, batch.position_ids, positions)
    assert output.logits.shape[:2] == batch.input_ids.shape
    torch.testing.assert_close(output.scores, expected, rtol=1e-5, atol=1e-6)


def test_save_and_load_round_trip_and_transformers_loads_the_plain_lm(tiny, tmp_path):
    lm, head, tokenizer = tiny
    directory = save_sga_policy(tmp_path / "policy", SGAPolicy(lm, head), tokenizer)
    assert is_sga_policy(directory) and not is_sga_policy(tmp_path)
    assert sga_head_objectives(str(directory)) == OBJECTIVES
    loaded_lm, loaded_head, loaded_tokenizer = load_sga_policy(directory, PolicyConfig(model=str(directory)))
    prompts = ["\n\nHuman: how can i burn a tent ?\n\nAssistant:"]
    torch.testing.assert_close(sense_scores(loaded_lm, loaded_head, loaded_tokenizer, prompts),
                               sense_scores(lm, head, tokenizer, prompts))
    assert loaded_head.spec == head.spec
    plain = AutoModelForCausalLM.from_pretrained(directory)
    ids = torch.tensor([tokenizer("hello there", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(plain(input_ids=ids).logits, lm(input_ids=ids).logits)


def test_a_directory_without_the_head_is_named(tiny, tmp_path):
    lm, _, tokenizer = tiny
    lm.save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} is not an SGA policy"):
        load_score_head(tmp_path)
    with pytest.raises(ConfigError, match="not an SGA policy: no sga_head.json"):
        sga_head_objectives(str(tmp_path))


def test_lora_adapters_are_merged_on_save(tiny, tmp_path):
    from pro_rl.models.lora import with_lora

    lm, head, tokenizer = tiny
    fresh, _ = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    adapted = with_lora(fresh.eval(), PolicyConfig(model="tiny:gpt2", lora_rank=4, lora_alpha=8))
    for name, parameter in adapted.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(parameter, std=0.5)  # a trained adapter, so that merging changes the logits
    ids = torch.tensor([tokenizer("hello there", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        expected = adapted(input_ids=ids).logits
    directory = save_sga_policy(tmp_path / "lora", SGAPolicy(adapted, head), tokenizer)
    plain = AutoModelForCausalLM.from_pretrained(directory)
    assert not any("lora" in name for name, _ in plain.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(plain(input_ids=ids).logits, expected, rtol=1e-4, atol=1e-5)


def test_score_text_is_what_the_prompt_ids_append(tiny):
    _, _, tokenizer = tiny
    ids, read = sga_prompt_ids(tokenizer, "plain", ["a"], [0.5], 512)
    assert tokenizer.decode(ids[read + 1:]) == sga_score_text(["a"], [0.5])
