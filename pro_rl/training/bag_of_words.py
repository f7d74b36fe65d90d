"""A bag-of-words softmax regression fitted to the orchestrator's targets: the baseline to read PRO against.

Features are token counts under the orchestrator's own tokenizer; the model is one linear layer trained with
KL(w* ‖ softmax(Wx + b)) by full-batch Adam. It shows how much of the prompt → weights mapping plain word
identity already explains. ``save`` writes the layer beside the orchestrator (``bag_of_words.safetensors``; the
tokenizer is the orchestrator's), and ``load`` reads it back, so ``weights.mode: bag_of_words`` can route RL with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import load_file, save_file

from pro_rl.algorithms import orchestrator_loss
from pro_rl.config.validation import BAG_OF_WORDS_FILE


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

    def save(self, directory: str | Path) -> Path:
        """Write the layer to ``<directory>/bag_of_words.safetensors`` (the directory holds its tokenizer)."""
        path = Path(directory) / BAG_OF_WORDS_FILE
        save_file({name: tensor.detach().contiguous() for name, tensor in self.linear.state_dict().items()}, str(path))
        return path

    @classmethod
    def load(cls, directory: str | Path, tokenizer) -> "BagOfWordsBaseline":
        """The baseline ``save`` wrote into ``directory``, with ``tokenizer`` (the one it was fitted with)."""
        path = Path(directory) / BAG_OF_WORDS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no bag-of-words baseline at {path}: the orchestrator pipeline saves it only when "
                                    "data.eval_prompts carries true weights")
        state = load_file(str(path))
        if state["weight"].shape[1] != len(tokenizer):
            raise ValueError(f"{path} has {state['weight'].shape[1]} features but the tokenizer beside it has "
                             f"{len(tokenizer)} tokens")
        baseline = cls(tokenizer, state["weight"].shape[0])
        baseline.linear.load_state_dict(state)
        return baseline
