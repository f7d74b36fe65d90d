import math
import random

import pytest
import torch

from pro_rl.training.wic_conditioning import Conditioning, label_taus, labelled_rows, online_vectors, random_weights


class _Orchestrator:
    """Stands in for ``OrchestratorPredictor``: the same weights for every prompt."""

    def __init__(self, weights):
        self.weights = weights

    def predict(self, prompts):
        return torch.tensor([self.weights] * len(prompts), dtype=torch.float32)


def _conditioning(method: str = "wic") -> Conditioning:
    return Conditioning(method, ["a", "b"], mean=[0.0, 0.0], std=[1.0, 1.0], z_min=[-1.0, -1.0], z_max=[1.0, 1.0])


def test_label_taus_fixed_is_the_configured_tau():
    assert label_taus("fixed", 0.1, torch.zeros(2, 2), None, []) == [0.1]


def test_label_taus_matched_makes_labels_as_soft_as_the_orchestrator():
    # rows z = (0, 1); the orchestrator says (0.25, 0.75) everywhere: softmax(z / τ) equals it at τ = 1 / ln 3
    normalised = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    orchestrator = _Orchestrator([0.25, 0.75])
    assert label_taus("matched", 0.1, normalised, orchestrator, ["p", "q"]) == [pytest.approx(1 / math.log(3), rel=1e-5)]
    assert label_taus("both", 0.1, normalised, orchestrator, ["p"]) == [0.1, pytest.approx(1 / math.log(3), rel=1e-5)]
    with pytest.raises(ValueError, match="matched"):
        label_taus("matched", 0.1, normalised, None, ["p"])


def test_labelled_rows_repeat_each_row_once_per_tau():
    z = torch.tensor([[0.0, 0.1 * math.log(3.0)]])  # τ 0.1: (0.25, 0.75); a huge τ: (0.5, 0.5)
    rows, labels = labelled_rows(_conditioning(), ["P"], [" ok"], z, [0.1, 1e9])
    assert [row["prompt"] for row in rows] == ["P <W1> 0.25 <W2> 0.75", "P <W1> 0.50 <W2> 0.50"]
    assert labels.shape == (2, 2) and [row["response"] for row in rows] == [" ok", " ok"]
    ric_rows, ric_labels = labelled_rows(_conditioning("ric"), ["P"], [" ok"], z, [0.1])
    assert ric_labels.tolist() == z.tolist() and len(ric_rows) == 1


def test_random_weights_lie_on_the_simplex_and_average_to_uniform():
    rng = random.Random(0)
    draws = torch.tensor([random_weights(rng, 3) for _ in range(4000)])
    assert (draws >= 0).all() and torch.allclose(draws.sum(dim=1), torch.ones(4000, dtype=draws.dtype))
    assert torch.allclose(draws.mean(dim=0), torch.full((3,), 1 / 3, dtype=draws.dtype), atol=0.02)
    assert 0.1 < float((draws[:, 0] < 0.1).double().mean()) < 0.25  # Dirichlet(1,1,1): P(w1 < 0.1) = 1 - 0.9² = 0.19


def test_online_vectors_mix_random_weights_into_the_orchestrators_only_when_asked():
    prompts = [f"p{i}" for i in range(200)]
    orchestrator = _Orchestrator([0.75, 0.25])
    rng = random.Random(1)
    plain = online_vectors(_conditioning(), prompts, rng, orchestrator)
    assert plain == [[0.75, 0.25]] * 200 and rng.random() == random.Random(1).random()  # no draws by default
    mixed = online_vectors(_conditioning(), prompts, random.Random(1), orchestrator, random_fraction=0.5)
    replaced = [vector for vector in mixed if vector != [0.75, 0.25]]
    assert 70 < len(replaced) < 130 and all(sum(vector) == pytest.approx(1.0) for vector in replaced)
    assert mixed == online_vectors(_conditioning(), prompts, random.Random(1), orchestrator, random_fraction=0.5)
    assert online_vectors(_conditioning(), prompts[:2], random.Random(1), None) == [[0.5, 0.5]] * 2
