"""Inference with trained models: reward scores and orchestrator weights.

``RewardScorer`` hides whether an objective is a reward model or a ``module:function``: both take
(prompts, responses) and return one float per pair; a reward model scores at the length it was trained at
(``reward_model_record.scoring_length``). ``OrchestratorPredictor`` maps prompts to weight vectors
on the simplex (softmax of the K logits). Both are Ray-free; the actors wrap them.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from pro_rl.config.schema import RewardModelConfig
from pro_rl.config.validation import orchestrator_objectives
from pro_rl.data.formats import join_prompt_response
from pro_rl.data.truncation import TruncationCount, TruncationMonitor, encode_counted
from pro_rl.models.builders import build_reward_model, is_function_spec, load_function
from pro_rl.models.reward_model_record import scoring_length


def default_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class RewardScorer:
    """Scores (prompt, response) pairs for one objective with a reward model or a reward function."""

    def __init__(self, spec: RewardModelConfig, device: str = "auto", model_path: Optional[str] = None):
        self.name = spec.name
        self.spec = spec
        self.device = default_device(device)
        self.function = None
        source = model_path or spec.model
        self.max_length = scoring_length(spec, source)  # the trained length unless score_max_length is set
        if is_function_spec(source):
            self.function = load_function(source)
            self.model = self.tokenizer = None
            return
        if model_path:
            self.model = AutoModelForSequenceClassification.from_pretrained(model_path)
            self.tokenizer = AutoTokenizer.from_pretrained(model_path)
            self.tokenizer.padding_side = "right"
        else:
            self.model, self.tokenizer = build_reward_model(spec)
        self.truncation = TruncationMonitor(f"reward model '{self.name}' scoring",
                                            f"score_max_length of the reward_models entry '{self.name}'",
                                            self.tokenizer.truncation_side)
        self.model.to(self.device).eval()

    def texts(self, prompts: Sequence[str], responses: Sequence[str]) -> List[str]:
        eos = self.tokenizer.eos_token or ""
        if self.spec.response_only:
            return [response + eos for response in responses]
        return [join_prompt_response(prompt, response) + eos for prompt, response in zip(prompts, responses)]

    @torch.no_grad()
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
        """One float per pair. NaN/inf are returned as they are; the caller decides (DESIGN: failure rules)."""
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses for objective '{self.name}'")
        if self.function is not None:
            scores = [float(value) for value in self.function(list(prompts), list(responses))]
            if len(scores) != len(responses):
                raise ValueError(f"reward function of '{self.name}' returned {len(scores)} scores for {len(responses)} responses")
            return scores
        return reward_model_scores(self.model, self.tokenizer, self.texts(prompts, responses),
                                   self.spec.batch_size, self.max_length, self.spec.label_index, self.truncation)


def reward_model_scores(model, tokenizer, texts: Sequence[str], batch_size: int, max_length: int, label_index: int = 0,
                        truncation: Optional[TruncationMonitor] = None) -> List[float]:
    """Forward ``texts`` through a sequence classifier in batches; the ``label_index`` logit of each. Texts longer
    than ``max_length`` tokens are cut; ``truncation`` (when given) records how many, once per call."""
    scores: List[float] = []
    device = next(model.parameters()).device
    count = TruncationCount(0, 0, 0, max_length)
    for start in range(0, len(texts), batch_size):
        batch, batch_count = encode_counted(tokenizer, texts[start:start + batch_size], max_length,
                                            add_special_tokens=False)
        count = count + batch_count
        logits = model(**batch.to(device)).logits.float()
        scores.extend(logits[:, label_index].tolist())
    if truncation is not None:
        truncation.record(count)
    return scores


class OrchestratorPredictor:
    """Prompt → weight vector on the simplex, from a trained orchestrator directory; with ``router="bag_of_words"``
    from the bag-of-words baseline saved beside it (``weights.mode: bag_of_words``; it reads whole prompts)."""

    def __init__(self, path: str, device: str = "auto", batch_size: int = 64, max_length: int = 256,
                 router: str = "orchestrator"):
        # a ConfigError before any weights load when the directory holds no orchestrator (a policy, a reward model)
        self.objectives = orchestrator_objectives(path)
        self.device = default_device(device)
        self.bag_of_words = None
        if router == "bag_of_words":
            from pro_rl.training.bag_of_words import BagOfWordsBaseline

            self.bag_of_words = BagOfWordsBaseline.load(path, AutoTokenizer.from_pretrained(path))
        self.model = None if self.bag_of_words else \
            AutoModelForSequenceClassification.from_pretrained(path).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.batch_size = batch_size
        self.max_length = max_length
        self.truncation = TruncationMonitor("orchestrator weights", "orchestrator.max_prompt_length",
                                            self.tokenizer.truncation_side)

    @torch.no_grad()
    def predict(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, K) weights: softmax of the orchestrator's logits (or of the bag-of-words baseline's)."""
        if self.bag_of_words is not None:
            return self.bag_of_words.predict(prompts).double()
        return predict_weights(self.model, self.tokenizer, prompts, self.batch_size, self.max_length, self.truncation)

    def predict_dicts(self, prompts: Sequence[str]) -> List[Dict[str, float]]:
        weights = self.predict(prompts)
        return [{name: float(value) for name, value in zip(self.objectives, row)} for row in weights.tolist()]


@torch.no_grad()
def predict_weights(model, tokenizer, prompts: Sequence[str], batch_size: int = 64, max_length: int = 256,
                    truncation: Optional[TruncationMonitor] = None) -> torch.Tensor:
    """(B, K) softmax weights of an orchestrator model for ``prompts`` (float64 so rows sum to 1 tightly). Prompts
    longer than ``max_length`` tokens are cut; ``truncation`` (when given) records how many, once per call."""
    device = next(model.parameters()).device
    rows = []
    count = TruncationCount(0, 0, 0, max_length)
    for start in range(0, len(prompts), batch_size):
        batch, batch_count = encode_counted(tokenizer, prompts[start:start + batch_size], max_length)
        count = count + batch_count
        rows.append(torch.softmax(model(**batch.to(device)).logits.double(), dim=-1).cpu())
    if truncation is not None:
        truncation.record(count)
    return torch.cat(rows) if rows else torch.zeros(0, model.config.num_labels, dtype=torch.float64)
