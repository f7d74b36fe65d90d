import math

import pytest
import torch

from pro_rl.algorithms.dpo import dpo_loss, select_best_worst


def test_select_best_worst_global_indices_and_ties():
    scalarised = torch.tensor([0.1, 0.5, 0.5, -0.2, 1.0, 1.0, 1.0, 1.0, 3.0, -1.0, 2.0, -1.0])
    # group 0 (idx 0-3): first max at 1, min at 3
    # group 1 (idx 4-7): all equal -> first max 4, last min 7
    # group 2 (idx 8-11): max at 8, last of the two -1.0 at 11
    chosen, rejected = select_best_worst(scalarised, num_samples=4)
    assert chosen.dtype == rejected.dtype == torch.long
    assert chosen.tolist() == [1, 4, 8]
    assert rejected.tolist() == [3, 7, 11]


def test_select_best_worst_two_equal_samples_still_differ():
    chosen, rejected = select_best_worst(torch.tensor([0.0, 0.0]), num_samples=2)
    assert (chosen.tolist(), rejected.tolist()) == ([0], [1])


def test_select_best_worst_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        select_best_worst(torch.zeros(3), num_samples=1)
    with pytest.raises(ValueError, match="shape"):
        select_best_worst(torch.zeros(5), num_samples=2)


def test_select_best_worst_picks_among_valid_samples_only():
    scalarised = torch.tensor([9.0, 0.5, 0.2, 0.0, 1.0, 2.0, -5.0, 3.0, 4.0])
    valid = torch.tensor([False, True, True, False, True, False, False, False, False])
    # group 0: the invalid 9.0 is never chosen -> best 1 (0.5), worst 2 (0.2);
    # group 1 (one valid sample, 4) and group 2 (none valid): the pair (i, i), i the first valid sample (else first)
    chosen, rejected = select_best_worst(scalarised, 3, valid)
    assert chosen.tolist() == [1, 4, 6]
    assert rejected.tolist() == [2, 4, 6]


def test_select_best_worst_with_every_sample_valid_matches_the_unmasked_form():
    scalarised = torch.tensor([0.1, 0.5, 0.5, -0.2, 1.0, 1.0, 1.0, 1.0])
    masked = select_best_worst(scalarised, 4, torch.ones(8, dtype=torch.bool))
    assert [t.tolist() for t in masked] == [t.tolist() for t in select_best_worst(scalarised, 4)]


LOGPS = dict(
    policy_chosen_logps=torch.tensor([-1.0, -2.0]),
    policy_rejected_logps=torch.tensor([-3.0, -2.0]),
    ref_chosen_logps=torch.tensor([-2.0, -2.0]),
    ref_rejected_logps=torch.tensor([-2.0, -3.0]),
)
# logits: pair 0: (-1 + 3) - (-2 + 2) = 2;  pair 1: (-2 + 2) - (-2 + 3) = -1


def test_dpo_sigmoid_loss():
    loss, stats = dpo_loss(**LOGPS, beta=0.5, loss_type="sigmoid")
    # -logsigmoid(0.5*2) = log(1 + e^-1) = 0.313262; -logsigmoid(0.5*-1) = log(1 + e^0.5) = 0.974077
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(0.5))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats["reward_margin"] == pytest.approx((1.0 - 0.5) / 2)  # mean of beta*logits = (1, -0.5)
    assert stats["accuracy"] == 0.5


def test_ipo_loss():
    loss, _ = dpo_loss(**LOGPS, beta=0.5, loss_type="ipo")
    # 1 / (2*0.5) = 1: ((2 - 1)^2 + (-1 - 1)^2) / 2 = (1 + 4) / 2 = 2.5
    assert loss.item() == pytest.approx(2.5)


def test_dpo_at_the_reference_is_log_two_and_unknown_type_raises():
    zeros = torch.zeros(3)
    loss, stats = dpo_loss(zeros, zeros, zeros, zeros, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2.0))  # -logsigmoid(0) = log 2
    assert stats["accuracy"] == 0.0
    with pytest.raises(ValueError, match="unknown DPO loss_type"):
        dpo_loss(zeros, zeros, zeros, zeros, loss_type="hinge")
