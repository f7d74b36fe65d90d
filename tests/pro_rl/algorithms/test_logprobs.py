import math

import pytest
import torch

from pro_rl.algorithms.logprobs import sequence_token_logprobs, sum_masked


def test_token_logprobs_gather_the_label():
    logits = torch.tensor([[[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]]])
    labels = torch.tensor([[1, 0]])
    # position 0: softmax (1/4, 3/4), label 1 -> ln 0.75; position 1: (1/2, 1/2), label 0 -> ln 0.5
    result = sequence_token_logprobs(logits, labels)
    assert result.shape == (1, 2)
    torch.testing.assert_close(result, torch.tensor([[math.log(0.75), math.log(0.5)]]))


def test_low_precision_logits_are_upcast():
    logits = torch.zeros(2, 3, 4, dtype=torch.bfloat16)
    result = sequence_token_logprobs(logits, torch.zeros(2, 3, dtype=torch.long))
    assert result.dtype == torch.float32
    # uniform over 4 tokens: ln(1/4) = -1.386294
    torch.testing.assert_close(result, torch.full((2, 3), -math.log(4.0)))


def test_shape_checks():
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        sequence_token_logprobs(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="same shape"):
        sum_masked(torch.zeros(2, 3), torch.zeros(2, 4))


def test_sum_masked():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])
    # row 0: 1 + 2 = 3; row 1: 5 + 6 = 11
    torch.testing.assert_close(sum_masked(x, mask), torch.tensor([3.0, 11.0]))
