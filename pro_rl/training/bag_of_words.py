"""A bag-of-words softmax regression fitted to the orchestrator's targets: the baseline to read PRO against.

Features are token counts under the orchestrator's own tokenizer; the model is one linear layer trained with
KL(w* ‖ softmax(Wx + b)) by full-batch Adam. It shows how much of the prompt → weights mapping plain word
identity already explains.
"""

from __future__ import annotations

from typing import Sequence

import torch

from pro_rl.algorithms import orchestrator_loss


class BagOfWordsBaseline:
    """Softmax regression from token counts to K weights; ``seed`` fixes the initial layer."""

    def __init__(self, tokenizer, num_objectives: int, seed: int = 0, steps: int = 300, learning_rate: float = 0.05):
        self.tokenizer = tokenizer
        self.vocab_size = len(tokenizer)
        torch.manual_seed(seed)
        self.linear = torch.nn.Linear(self.vocab_size, num_objectives)
        self.steps = steps
        self.learning_rate = learning_rate

    def features(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, vocabulary size) token counts of ``prompts`` (no special tokens)."""
        counts = torch.zeros(len(prompts), self.vocab_size)
        for row, ids in enumerate(self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]):
            counts[row].index_add_(0, torch.tensor(ids, dtype=torch.long), torch.ones(len(ids)))
        return counts

    def fit(self, prompts: Sequence[str], targets: torch.Tensor) -> None:
        """``steps`` full-batch Adam steps on KL(targets ‖ softmax(Wx + b)); ``targets``: (B, K) rows on the simplex."""
        features = self.features(prompts)
        optimizer = torch.optim.Adam(self.linear.parameters(), lr=self.learning_rate)
        for _ in range(self.steps):
            optimizer.zero_grad()
            loss = orchestrator_loss(self.linear(features), targets.float(), "reverse")
            loss.backward()
            optimizer.step()

    @torch.no_grad()
    def predict(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, K) predicted weights, rows summing to 1."""
        return torch.softmax(self.linear(self.features(prompts)), dim=-1)
