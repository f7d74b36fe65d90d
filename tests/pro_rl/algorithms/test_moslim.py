"""MOSLIM eq. 6: masked per-head cross-entropy, head splitting and per-intensity accuracy, on hand-made values."""

import math

import pytest
import torch

from pro_rl.algorithms.moslim import (head_probabilities_from_logits, head_slices, intensity_accuracy,
                                      multi_head_loss, multi_head_predictions, split_head_logits)

HEADS = {"helpful": 3, "harmless": 2}


def _ce(logits, target):
    """−log softmax(logits)[target], by hand."""
    return -(logits[target] - math.log(sum(math.exp(value) for value in logits)))


def test_head_slices_are_consecutive_in_layout_order():
    assert head_slices(HEADS) == {"helpful": slice(0, 3), "harmless": slice(3, 5)}
    with pytest.raises(ValueError, match="at least one"):
        head_slices({"helpful": 0})


def test_split_checks_the_width():
    logits = torch.arange(10.0).reshape(2, 5)
    parts = split_head_logits(logits, HEADS)
    assert parts["helpful"].tolist() == [[0, 1, 2], [5, 6, 7]]
    assert parts["harmless"].tolist() == [[3, 4], [8, 9]]
    with pytest.raises(ValueError, match="Σ n_k = 5"):
        split_head_logits(torch.zeros(2, 4), HEADS)


def test_probabilities_are_one_softmax_per_head():
    probabilities = head_probabilities_from_logits(torch.tensor([[0.0, 0.0, math.log(2.0), 0.0, 0.0]]), HEADS)
    assert probabilities["helpful"].tolist()[0] == pytest.approx([0.25, 0.25, 0.5])
    assert probabilities["harmless"].tolist()[0] == pytest.approx([0.5, 0.5])


def test_masked_loss_on_hand_made_values():
    rows = [[1.0, 2.0, 0.0, 0.5, -0.5], [0.0, 0.0, 3.0, 2.0, 1.0], [2.0, 1.0, 1.0, 0.0, 4.0]]
    logits = torch.tensor(rows)
    labels = torch.tensor([[1, -1], [2, 0], [-1, 1]])  # row 0: no harmless label; row 2: no helpful label
    loss, per_head = multi_head_loss(logits, labels, HEADS)
    helpful = (_ce(rows[0][:3], 1) + _ce(rows[1][:3], 2)) / 2
    harmless = (_ce(rows[1][3:], 0) + _ce(rows[2][3:], 1)) / 2
    assert per_head["helpful"].item() == pytest.approx(helpful, rel=1e-6)
    assert per_head["harmless"].item() == pytest.approx(harmless, rel=1e-6)
    assert loss.item() == pytest.approx((helpful + harmless) / 2, rel=1e-6)


def test_a_head_without_labels_is_left_out_of_the_aggregate():
    rows = [[1.0, 2.0, 0.0, 0.5, -0.5]]
    loss, per_head = multi_head_loss(torch.tensor(rows), torch.tensor([[0, -1]]), HEADS)
    assert list(per_head) == ["helpful"]
    assert loss.item() == pytest.approx(_ce(rows[0][:3], 0), rel=1e-6)


def test_masked_entries_get_no_gradient():
    logits = torch.zeros(2, 5, requires_grad=True)
    multi_head_loss(logits, torch.tensor([[0, -1], [-1, 1]]), HEADS)[0].backward()
    assert logits.grad[0, 3:].abs().sum().item() == 0.0  # row 0 has no harmless label
    assert logits.grad[1, :3].abs().sum().item() == 0.0  # row 1 has no helpful label
    assert logits.grad[0, :3].abs().sum().item() > 0.0


def test_bad_labels_are_errors():
    with pytest.raises(ValueError, match="no row"):
        multi_head_loss(torch.zeros(1, 5), torch.tensor([[-1, -1]]), HEADS)
    with pytest.raises(ValueError, match="0..1"):
        multi_head_loss(torch.zeros(1, 5), torch.tensor([[0, 2]]), HEADS)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        multi_head_loss(torch.zeros(1, 5), torch.tensor([[0, 1, 0]]), HEADS)


def test_predictions_and_intensity_accuracy():
    logits = torch.tensor([[0.0, 1.0, 0.0, 2.0, 0.0],   # helpful 1 (index), harmless 0
                           [3.0, 1.0, 0.0, 0.0, 2.0],   # helpful 0, harmless 1
                           [0.0, 0.0, 5.0, 2.0, 0.0],   # helpful 2, harmless 0
                           [0.0, 4.0, 0.0, 0.0, 1.0]])  # helpful 1, harmless 1
    predictions = multi_head_predictions(logits, HEADS)
    assert predictions.tolist() == [[1, 0], [0, 1], [2, 0], [1, 1]]
    labels = torch.tensor([[1, 0], [1, 1], [2, -1], [1, 0]])
    accuracy = intensity_accuracy(predictions, labels, HEADS)
    assert accuracy == pytest.approx({
        "helpful": 3 / 4, "helpful/2": 2 / 3, "helpful/3": 1.0,  # no row of helpful class 1
        "harmless": 2 / 3, "harmless/1": 1 / 2, "harmless/2": 1.0,
    })


# ---------------------------------------------------------------- reward mapping (eq. 11) and its running statistics

import json  # noqa: E402

from pro_rl.algorithms.moslim import RunningIntensityStats, moslim_reward, tag_weights, targeted_zscores  # noqa: E402
from pro_rl.algorithms.scalarisation import scalarise  # noqa: E402

PROBABILITIES = {"a": torch.tensor([[0.2, 0.8], [0.6, 0.4]]),
                 "b": torch.tensor([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])}
MEANS = {"a": torch.tensor([0.4, 0.6]), "b": torch.tensor([0.3, 0.25, 0.45])}
STDS = {"a": torch.tensor([0.2, 0.2]), "b": torch.tensor([0.1, 0.1, 0.5])}
TARGETS = torch.tensor([[2, 3], [1, 0]])  # row 0 tags a=2, b=3; row 1 tags only a=1


def test_targeted_zscores_pick_the_target_class_and_zero_untagged_heads():
    rewards = targeted_zscores(PROBABILITIES, TARGETS, MEANS, STDS)
    # row 0: a (0.8 - 0.6) / 0.2 = 1, b (0.7 - 0.45) / 0.5 = 0.5; row 1: a (0.6 - 0.4) / 0.2 = 1, b untagged 0
    torch.testing.assert_close(rewards, torch.tensor([[1.0, 0.5], [1.0, 0.0]]))


def test_eq_11_averages_over_the_tagged_heads_and_equals_the_loops_scalarisation():
    torch.testing.assert_close(tag_weights(TARGETS), torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
    reward = moslim_reward(PROBABILITIES, TARGETS, MEANS, STDS)
    torch.testing.assert_close(reward, torch.tensor([0.75, 1.0]))
    torch.testing.assert_close(reward, scalarise(targeted_zscores(PROBABILITIES, TARGETS, MEANS, STDS),
                                                 tag_weights(TARGETS)))


def test_eq_11_matches_the_scalarisation_on_random_values():
    generator = torch.Generator().manual_seed(0)
    heads = {"x": 2, "y": 5, "z": 3}
    probabilities = {k: torch.softmax(torch.randn(7, n, generator=generator), dim=1) for k, n in heads.items()}
    targets = torch.stack([torch.randint(0, n + 1, (7,), generator=generator) for n in heads.values()], dim=1)
    targets[0] = torch.tensor([0, 3, 0])
    means = {k: torch.rand(n, generator=generator) for k, n in heads.items()}
    stds = {k: torch.rand(n, generator=generator) + 0.1 for k, n in heads.items()}
    expected = []
    for row in range(7):  # eq. 11 written out, k = the number of tagged heads
        terms = [(probabilities[k][row, t - 1] - means[k][t - 1]) / stds[k][t - 1]
                 for k, t in zip(heads, targets[row].tolist()) if t > 0]
        expected.append(sum(terms) / len(terms) if terms else 0.0)
    torch.testing.assert_close(moslim_reward(probabilities, targets, means, stds), torch.tensor(expected))


def test_a_target_outside_the_heads_classes_is_refused():
    with pytest.raises(ValueError, match="targets of head 'a' must lie in 1..2"):
        targeted_zscores(PROBABILITIES, torch.tensor([[3, 1], [1, 0]]), MEANS, STDS)
    with pytest.raises(ValueError, match=r"targets \(2, 1\) must be \(N, K\) = \(2, 2\)"):
        targeted_zscores(PROBABILITIES, torch.tensor([[1], [1]]), MEANS, STDS)


def test_count_based_stats_per_head_and_intensity():
    stats = RunningIntensityStats({"a": 2}, epsilon=1e-3)
    torch.testing.assert_close(stats.stds()["a"], torch.tensor([1.001, 1.001], dtype=torch.float64))
    stats.update({"a": torch.tensor([[0.2, 0.8], [0.6, 0.4]])})
    torch.testing.assert_close(stats.means()["a"], torch.tensor([0.4, 0.6], dtype=torch.float64))
    torch.testing.assert_close(stats.stds()["a"], torch.tensor([0.201, 0.201], dtype=torch.float64))
    stats.update({"a": torch.tensor([[0.4, 0.6], [float("nan"), 0.5]])})  # the NaN row stays out
    torch.testing.assert_close(stats.means()["a"], torch.tensor([0.4, 0.6], dtype=torch.float64))
    expected_std = (0.08 / 3) ** 0.5 + 1e-3
    torch.testing.assert_close(stats.stds()["a"], torch.tensor([expected_std] * 2, dtype=torch.float64))


def test_momentum_stats_blend_each_batch_in():
    stats = RunningIntensityStats({"a": 2}, epsilon=0.0, momentum=0.5)
    stats.update({"a": torch.tensor([[0.2, 0.8], [0.6, 0.4]])})
    stats.update({"a": torch.tensor([[0.0, 1.0], [0.0, 1.0]])})
    torch.testing.assert_close(stats.means()["a"], torch.tensor([0.2, 0.8], dtype=torch.float64))
    torch.testing.assert_close(stats.stds()["a"], torch.tensor([0.02 ** 0.5] * 2, dtype=torch.float64))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_stats_state_round_trips_through_json_and_continues_identically(momentum):
    heads = {"a": 2, "b": 3}
    batches = [{k: torch.softmax(torch.randn(4, n, generator=torch.Generator().manual_seed(i)), dim=1)
                for k, n in heads.items()} for i in range(3)]
    uninterrupted = RunningIntensityStats(heads, momentum=momentum)
    first = RunningIntensityStats(heads, momentum=momentum)
    for batch in batches[:2]:
        uninterrupted.update(batch)
        first.update(batch)
    restored = RunningIntensityStats(heads, momentum=momentum)
    restored.load_state_dict(json.loads(json.dumps(first.state_dict())))
    uninterrupted.update(batches[2])
    restored.update(batches[2])
    for objective in heads:
        torch.testing.assert_close(restored.means()[objective], uninterrupted.means()[objective], rtol=0, atol=0)
        torch.testing.assert_close(restored.stds()[objective], uninterrupted.stds()[objective], rtol=0, atol=0)
    with pytest.raises(ValueError, match="saved intensity statistics are for heads"):
        RunningIntensityStats({"a": 2}, momentum=momentum).load_state_dict(first.state_dict())
