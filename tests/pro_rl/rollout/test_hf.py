"""HFRolloutEngine on the tiny GPT-2: layout of the rollouts, lengths, seeding, truncation and weight loading."""

import copy
import logging

import pytest
import torch

from pro_rl.config.schema import ModelConfig, RolloutConfig
from pro_rl.models.builders import build_policy
from pro_rl.rollout import HFRolloutEngine, RolloutEngine, Rollouts, SamplingSettings
from pro_rl.rollout.hf import cut_at_eos, generate_sampling_kwargs

PROMPTS = ["Human: tell me a joke\n\nAssistant:", "Human: how do I bake bread?\n\nAssistant:", "Hi"]


@pytest.fixture(scope="module")
def engine():
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    settings = SamplingSettings(temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=6)
    return HFRolloutEngine(model, tokenizer, settings, batch_size=4)


def test_settings_from_config():
    settings = SamplingSettings.from_config(RolloutConfig(temperature=0.7, top_p=0.9, top_k=5, max_new_tokens=32))
    assert settings == SamplingSettings(temperature=0.7, top_p=0.9, top_k=5, max_new_tokens=32)
    with pytest.raises(ValueError, match="top_p"):
        SamplingSettings(top_p=0.0)


def test_samples_are_contiguous_per_prompt(engine):
    rollouts = engine.generate(PROMPTS, num_samples=2, seed=0)
    assert isinstance(engine, RolloutEngine) and isinstance(rollouts, Rollouts)
    assert len(rollouts) == 6 and rollouts.num_samples == 2 and rollouts.num_prompts == 3
    assert rollouts.prompts == [PROMPTS[0]] * 2 + [PROMPTS[1]] * 2 + [PROMPTS[2]] * 2
    tokenizer = engine.tokenizer
    for prompt, prompt_ids in zip(rollouts.prompts, rollouts.prompt_ids):
        assert prompt_ids == tokenizer(prompt)["input_ids"]


def test_responses_are_unpadded_and_decode_to_their_ids(engine):
    rollouts = engine.generate(PROMPTS, num_samples=3, seed=1)
    eos = engine.tokenizer.eos_token_id
    for response, response_ids in zip(rollouts.responses, rollouts.response_ids):
        assert 1 <= len(response_ids) <= 6
        assert eos not in response_ids[:-1]
        assert len(response_ids) == 6 or response_ids[-1] == eos
        assert response == engine.tokenizer.decode(response_ids, skip_special_tokens=True)


def test_seeded_generation_repeats(engine):
    first = engine.generate(PROMPTS, num_samples=2, seed=7)
    again = engine.generate(PROMPTS, num_samples=2, seed=7)
    other = engine.generate(PROMPTS, num_samples=2, seed=8)
    assert first.response_ids == again.response_ids
    assert first.response_ids != other.response_ids


def test_prompts_are_cut_from_the_left(engine):
    short = HFRolloutEngine(engine.model, engine.tokenizer, engine.settings, max_prompt_length=3)
    rollouts = short.generate(PROMPTS[:1], num_samples=1, seed=0)
    assert rollouts.prompt_ids[0] == engine.tokenizer(PROMPTS[0])["input_ids"][-3:]


def test_cut_prompts_are_warned_with_counts_first_then_every_100_calls(engine, caplog):
    short = HFRolloutEngine(engine.model, engine.tokenizer, engine.settings, max_prompt_length=3)
    lengths = [len(engine.tokenizer(prompt)["input_ids"]) for prompt in PROMPTS]
    cut = sum(length > 3 for length in lengths)
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        for _ in range(3):
            short.generate(PROMPTS, num_samples=1, seed=0)
    assert [record.getMessage() for record in caplog.records] == [
        f"RL prompts (calls so far: 1): {cut} of 3 texts ({100 * cut / 3:.1f} %) longer than max_length 3 (longest "
        f"{max(lengths)}) were truncated on the left; raise policy.max_prompt_length to keep them whole"]
    assert short.prompt_truncation.total.truncated == 3 * cut and cut == 2


def test_cut_at_eos():
    assert cut_at_eos([5, 6, 2, 1, 1], eos_token_id=2) == [5, 6, 2]
    assert cut_at_eos([5, 6, 7], eos_token_id=2) == [5, 6, 7]
    assert cut_at_eos([2, 2], eos_token_id=2) == [2]


def test_greedy_samples_agree_and_load_weights_changes_them(engine):
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    greedy = HFRolloutEngine(model, tokenizer, SamplingSettings(temperature=0.0, max_new_tokens=5))
    before = greedy.generate(PROMPTS, num_samples=2)
    assert before.response_ids[0::2] == before.response_ids[1::2]
    trained = copy.deepcopy(model)
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in trained.parameters():  # tied embeddings are one parameter, so they stay tied
            parameter.add_(torch.randn_like(parameter))
    new_weights = trained.state_dict()
    greedy.load_weights(new_weights)
    assert torch.equal(model.transformer.wte.weight, new_weights["transformer.wte.weight"])
    assert greedy.generate(PROMPTS, num_samples=2).response_ids != before.response_ids


def test_min_new_tokens_holds_eos_back(engine):
    eos = engine.tokenizer.eos_token_id
    eager = copy.deepcopy(engine.model)  # a model that wants to stop at once: +20 on the eos logit
    eager.lm_head.register_forward_hook(lambda module, inputs, logits: logits.index_add(
        -1, torch.tensor([eos]), torch.full((*logits.shape[:-1], 1), 20.0)))
    free = SamplingSettings(temperature=1.0, top_p=1.0, max_new_tokens=6)
    fixed = SamplingSettings(temperature=1.0, top_p=1.0, max_new_tokens=6, min_new_tokens=6)

    stopped = HFRolloutEngine(eager, engine.tokenizer, free).generate(PROMPTS, num_samples=2, seed=2)
    held = HFRolloutEngine(eager, engine.tokenizer, fixed).generate(PROMPTS, num_samples=2, seed=2)

    assert stopped.response_ids == [[eos]] * 6
    assert all(len(ids) == 6 and eos not in ids for ids in held.response_ids)
    with pytest.raises(ValueError, match="min_new_tokens"):
        SamplingSettings(max_new_tokens=4, min_new_tokens=5)


def test_sampling_decodes_greedily_over_the_warpers_and_the_draw():
    plain = generate_sampling_kwargs(SamplingSettings(temperature=1.0, top_p=1.0, top_k=0))
    assert plain["do_sample"] is False and "num_return_sequences" not in plain and "min_new_tokens" not in plain
    assert [type(processor).__name__ for processor in plain["logits_processor"]] == ["_InverseCdfDraw"]
    warped = generate_sampling_kwargs(SamplingSettings(temperature=0.7, top_p=0.9, top_k=5, min_new_tokens=3))
    temperature, top_k, top_p, draw = warped["logits_processor"]
    assert (temperature.temperature, top_k.top_k, top_p.top_p, warped["min_new_tokens"]) == (0.7, 5, 0.9, 3)
    assert type(draw).__name__ == "_InverseCdfDraw"
    assert generate_sampling_kwargs(SamplingSettings(temperature=0.0)) == dict(do_sample=False, temperature=None,
                                                                              top_p=None, top_k=None)


def drawn_frequencies(settings: SamplingSettings, logits: torch.Tensor, draws: int, seed: int) -> torch.Tensor:
    """How often each token comes out of ``settings``' processors over ``draws`` rows of ``logits``; checks that
    every row keeps exactly one finite score, 0."""
    processors = generate_sampling_kwargs(settings)["logits_processor"]
    torch.manual_seed(seed)
    scores = processors(None, logits.expand(draws, -1).clone())
    assert torch.equal(torch.isfinite(scores).sum(dim=-1), torch.ones(draws, dtype=torch.long))
    assert scores[torch.isfinite(scores)].eq(0).all()
    return (scores == 0).float().mean(dim=0)


def test_the_draw_follows_the_softmax_and_never_picks_a_masked_token():
    logits = torch.tensor([2.0, 1.0, float("-inf"), 0.0, -1.0, float("-inf")])
    frequencies = drawn_frequencies(SamplingSettings(temperature=1.0, top_p=1.0), logits, 40_000, seed=0)
    probabilities = logits.softmax(dim=-1)  # 0.644, 0.237, 0, 0.087, 0.032, 0
    assert (frequencies - probabilities).abs().le(4 * (probabilities * (1 - probabilities) / 40_000).sqrt()).all()
    assert frequencies[2] == 0 and frequencies[5] == 0


def test_the_draw_samples_the_distribution_left_by_temperature_top_k_and_top_p():
    # temperature 0.5: 6, 4, 3, 2, 0, -2; top-k 4: softmax 0.831, 0.112, 0.041, 0.015; top-p 0.9 drops the last two
    # (their mass, 0.057, is under 1 - 0.9), so tokens 0 and 1 remain, renormalised: 0.881 and 0.119
    logits = torch.tensor([3.0, 2.0, 1.5, 1.0, 0.0, -1.0])
    frequencies = drawn_frequencies(SamplingSettings(temperature=0.5, top_p=0.9, top_k=4), logits, 40_000, seed=1)
    kept = torch.tensor([6.0, 4.0]).softmax(dim=-1)
    assert abs(frequencies[1] - kept[1]) < 4 * (kept[0] * kept[1] / 40_000) ** 0.5
    assert frequencies[:2].sum() == 1


def test_engine_samples_follow_the_model_distribution(engine):
    """The first token of 4000 samples of one prompt against the model's next-token softmax at temperature 0.5 (the
    logits scaled by 5 on the way out: the tiny random model's own distribution is nearly flat)."""
    sharp = copy.deepcopy(engine.model)
    sharp.lm_head.register_forward_hook(lambda module, inputs, logits: logits * 5)
    settings = SamplingSettings(temperature=0.5, top_p=1.0, max_new_tokens=1)
    rollouts = HFRolloutEngine(sharp, engine.tokenizer, settings, batch_size=4000).generate(PROMPTS[:1], 4000, seed=0)
    with torch.no_grad():
        logits = sharp(torch.tensor([rollouts.prompt_ids[0]])).logits[0, -1]
    probabilities = (logits / 0.5).softmax(dim=-1)
    first_tokens = torch.tensor([ids[0] for ids in rollouts.response_ids])
    frequencies = torch.bincount(first_tokens, minlength=len(probabilities)).float() / 4000
    assert 0.2 < probabilities.max() < 0.8  # neither flat nor one token
    assert (frequencies - probabilities).abs().le(4 * (probabilities * (1 - probabilities) / 4000).sqrt() + 1e-3).all()
