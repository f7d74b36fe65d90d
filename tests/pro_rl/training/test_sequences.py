"""Layout of SequenceBatch and the log-probs / values read from it, against hand loops over unpadded sequences."""

import pytest
import torch

from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_critic, build_policy
from pro_rl.training.sequences import make_sequence_batch, response_logprobs, response_values

PAD = 1
PROMPTS = [[10, 11, 12], [20], [30, 31]]
RESPONSES = [[40, 41], [50, 51, 52, 2], [PAD]]  # a sampled token may equal the pad id


@pytest.fixture(scope="module")
def policy():
    model, _ = build_policy(ModelConfig(model="tiny:gpt2"))
    return model.eval()


@pytest.fixture(scope="module")
def critic():
    model, _ = build_critic(ModelConfig(model="tiny:gpt2"))
    return model.eval()


def test_layout_and_masks():
    batch = make_sequence_batch(PROMPTS, RESPONSES, PAD)
    assert batch.prompt_width == 3 and batch.response_width == 4 and len(batch) == 3
    assert batch.input_ids.tolist() == [
        [10, 11, 12, 40, 41, PAD, PAD],
        [PAD, PAD, 20, 50, 51, 52, 2],
        [PAD, 30, 31, PAD, PAD, PAD, PAD],
    ]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1], [0, 1, 1, 1, 0, 0, 0]]
    assert batch.position_ids.tolist() == [[0, 1, 2, 3, 4, 4, 4], [0, 0, 0, 1, 2, 3, 4], [0, 0, 1, 2, 2, 2, 2]]
    assert batch.response_mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert batch.response_mask.dtype == torch.float32
    assert batch.response_ids.tolist()[1] == [50, 51, 52, 2]


def test_select_and_to():
    batch = make_sequence_batch(PROMPTS, RESPONSES, PAD)
    picked = batch.select([2, 0])
    assert picked.input_ids.tolist() == [batch.input_ids[2].tolist(), batch.input_ids[0].tolist()]
    assert picked.response_mask.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0]]
    assert picked.prompt_width == 3
    moved = batch.to("cpu")
    assert torch.equal(moved.position_ids, batch.position_ids) and moved.prompt_width == 3


def test_empty_prompt_is_an_error():
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        make_sequence_batch([[5], []], [[6], [7]], PAD)


def _hand_outputs(model, prompt, response):
    ids = torch.tensor([prompt + response])
    return model(input_ids=ids).logits[0, len(prompt) - 1:len(prompt) - 1 + len(response)]


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_response_logprobs_match_unpadded_sequences(policy, temperature):
    batch = make_sequence_batch(PROMPTS, RESPONSES, PAD)
    with torch.no_grad():
        logprobs = response_logprobs(policy, batch, temperature=temperature)
        by_one = response_logprobs(policy, batch, micro_batch_size=1, temperature=temperature)
        assert logprobs.shape == (3, 4)
        for row, (prompt, response) in enumerate(zip(PROMPTS, RESPONSES)):
            log_softmax = torch.log_softmax(_hand_outputs(policy, prompt, response) / temperature, dim=-1)
            expected = log_softmax[torch.arange(len(response)), torch.tensor(response)]
            torch.testing.assert_close(logprobs[row, :len(response)], expected, atol=1e-5, rtol=0)
            assert logprobs[row, len(response):].abs().sum() == 0
    torch.testing.assert_close(by_one, logprobs, atol=1e-5, rtol=0)


def test_response_logprobs_carry_gradients(policy):
    batch = make_sequence_batch(PROMPTS, RESPONSES, PAD)
    logprobs = response_logprobs(policy, batch)
    logprobs.sum().backward()
    gradient = policy.transformer.wte.weight.grad
    assert gradient is not None and torch.isfinite(gradient).all() and gradient.abs().sum() > 0
    policy.zero_grad(set_to_none=True)


def test_response_values_match_unpadded_sequences(critic):
    batch = make_sequence_batch(PROMPTS, RESPONSES, PAD)
    with torch.no_grad():
        values = response_values(critic, batch, micro_batch_size=2)
        assert values.shape == (3, 4)
        for row, (prompt, response) in enumerate(zip(PROMPTS, RESPONSES)):
            expected = _hand_outputs(critic, prompt, response)[:, 0]
            torch.testing.assert_close(values[row, :len(response)], expected, atol=1e-5, rtol=0)
            assert values[row, len(response):].abs().sum() == 0


def test_response_mask_pads_to_the_longest_response_and_matches_the_batch():
    from pro_rl.training.sequences import response_mask

    responses = [[4, 5, 6], [7], []]
    mask = response_mask(responses)

    assert mask.dtype == torch.float32
    assert mask.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert torch.equal(mask, make_sequence_batch([[1], [2], [3]], responses, 0).response_mask)
