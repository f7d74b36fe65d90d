"""The ``moslim`` reward source (MOSLIM §3.2): one multi-head intensity classifier instead of K reward models, and
the prompt's tags instead of a weight vector.

- Prompts: at load time every prompt's tags are parsed (``parse_moslim_tags``): a bad tag is an error naming the file
  and row, or with ``moslim.on_bad_tag: skip`` the prompt is dropped and counted (``data/skipped_bad_tags``). Each
  step, a prompt without tags gets 1–3 random tags (``random_moslim_targets``, ``moslim.min_tags``..``max_tags``)
  drawn from the step's seed, so a resumed run draws the same; a prompt that carries tags keeps them. A step reads
  its prompts' tags three times (conditioning, weights, mask) and the scorer once per response: ``TagParser``
  parses each distinct prompt once and remembers the last 4096.
- Scoring (one reward actor, ``MoslimScorer``): the tags are stripped before the classifier reads the prompt
  ("prompt alignment"); per response it returns the Σ n_k head probabilities followed by the K targets (intensity
  class, 0 = untagged) it parsed, so the mapping uses exactly the targets the classifier was scored for.
- Mapping (driver side, eq. 11 via ``pro_rl.algorithms.moslim``): the running statistics per head and intensity
  take in the batch, then R_k = (p_k[target_k] − μ)/σ (0 untagged) is the reward matrix and w_k = mask_k / Σ mask
  the prompt's weights (``weights.mode: reward_source``), so the loop's Σ_k w_k R_k is eq. 11. The statistics are
  the source's state, checkpointed with the loop state.

Objectives are the classifier's heads (its ``config.json`` ``moslim_heads``), in their order.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from functools import partial
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms.moslim import UNTAGGED, RunningIntensityStats, tag_weights, targeted_zscores
from pro_rl.data.conditioning import MoslimTagError, moslim_prompt, parse_moslim_tags, random_moslim_targets
from pro_rl.data.truncation import TruncationMonitor
from pro_rl.rl.registry import register_reward_source
from pro_rl.rl.reward_source import RewardSource, ScorerSpec

SCORER_NAME = "moslim"


def classifier_heads(path: str) -> Dict[str, int]:
    """The head layout {objective: n_k} a trained multi-head classifier saved, read from its config only."""
    from transformers import AutoConfig

    from pro_rl.models.multi_head import read_heads

    try:
        return read_heads(AutoConfig.from_pretrained(path))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None


ParsedTags = Tuple[str, Dict[str, int]]  # (prompt without tags, targets {objective: intensity})


class TagParser:
    """``parse_moslim_tags`` for one head layout, parsing each distinct prompt once: it remembers the results for the
    last ``size`` prompts it was given (a bad tag raises ``MoslimTagError`` every time, it is not remembered)."""

    def __init__(self, heads: Mapping[str, int], size: int = 4096):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.heads, self.size = dict(heads), size
        self._parsed: "OrderedDict[str, ParsedTags]" = OrderedDict()

    def __call__(self, prompt: str) -> ParsedTags:
        parsed = self._parsed.get(prompt)
        if parsed is None:
            parsed = self._parsed[prompt] = parse_moslim_tags(prompt, self.heads)
            if len(self._parsed) > self.size:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(prompt)
        return parsed[0], dict(parsed[1])


def prompt_targets(prompts: Sequence[str], heads: Mapping[str, int],
                   parse: Optional[Callable[[str], ParsedTags]] = None) -> Tuple[List[str], Tensor]:
    """(prompts stripped of their tags, (B, K) long targets: intensity class per head, 0 = untagged). ``parse``:
    the tag parser of ``heads`` to use (a ``TagParser``; default ``parse_moslim_tags``)."""
    parse = parse or partial(parse_moslim_tags, levels=heads)
    stripped, rows = [], []
    for prompt in prompts:
        text, targets = parse(prompt)
        stripped.append(text)
        rows.append([targets.get(objective, UNTAGGED) for objective in heads])
    return stripped, torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(heads))


class MoslimScorer:
    """The reward actor's scorer: the multi-head classifier, reading prompts without their tags."""

    def __init__(self, path: str, batch_size: int, max_length: int, device: str):
        from pro_rl.models.multi_head import load_multi_head_classifier

        self.model, self.tokenizer, self.heads = load_multi_head_classifier(path, device)
        self.batch_size, self.max_length = batch_size, max_length
        self.parse_tags = TagParser(self.heads)  # each prompt reaches the scorer once per response
        self.truncation = TruncationMonitor("moslim reward model scoring", "moslim.training.max_length",
                                            self.tokenizer.truncation_side)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> List[List[float]]:
        """Per response: the Σ n_k head probabilities (heads in order), then the K parsed targets (0 = untagged)."""
        from pro_rl.models.multi_head import head_probabilities

        stripped, targets = prompt_targets(prompts, self.heads, self.parse_tags)
        probabilities = head_probabilities(self.model, self.tokenizer, self.heads, stripped, list(responses),
                                           self.batch_size, self.max_length, self.truncation)
        columns = [probabilities[objective] for objective in self.heads] + [targets.float()]
        return torch.cat(columns, dim=1).tolist()


def build_moslim_scorer(path: str, batch_size: int, max_length: int, device: str) -> MoslimScorer:
    return MoslimScorer(path, batch_size, max_length, device)


@register_reward_source("moslim")
class MoslimRewardSource(RewardSource):
    provides_weights = True

    def __init__(self, config):
        settings = config.moslim
        self.path = settings.reward_model
        self.heads = classifier_heads(self.path)
        self.parse_tags = TagParser(self.heads)
        self.objectives = list(self.heads)
        self.min_tags, self.max_tags, self.on_bad_tag = settings.min_tags, settings.max_tags, settings.on_bad_tag
        self.batch_size, self.max_length = settings.batch_size, settings.training.max_length
        self.stats = RunningIntensityStats(self.heads, settings.stats_eps, settings.stats_momentum)
        self.skipped_prompts = 0
        self._last_metrics: Dict[str, float] = {}

    def scorers(self) -> List[ScorerSpec]:
        return [ScorerSpec(SCORER_NAME, partial(build_moslim_scorer, self.path, self.batch_size, self.max_length))]

    def check_prompts(self, prompts: List[str], origin: str) -> List[str]:
        """Parse every prompt's tags now: a bad tag names ``origin`` and the row (or, with ``on_bad_tag: skip``,
        drops the prompt and counts it)."""
        kept = []
        for row, prompt in enumerate(prompts, start=1):
            try:
                self.parse_tags(prompt)
            except MoslimTagError as error:
                if self.on_bad_tag == "error":
                    raise ValueError(f"{origin}: row {row}: bad MOSLIM tag: {error} "
                                     "(set moslim.on_bad_tag=skip to skip such prompts, counted)") from None
                self.skipped_prompts += 1
                continue
            kept.append(prompt)
        if not kept:
            raise ValueError(f"{origin}: every prompt has a bad MOSLIM tag ({self.skipped_prompts} skipped)")
        return kept

    def condition_prompts(self, prompts: List[str], seed: int) -> List[str]:
        """A prompt without tags gets random ones (MOSLIM §3.2), drawn from ``seed``; a tagged prompt is kept."""
        rng = random.Random(seed)
        conditioned = []
        for prompt in prompts:
            _, targets = self.parse_tags(prompt)
            if not targets:
                prompt = moslim_prompt(prompt, random_moslim_targets(rng, self.heads, self.min_tags, self.max_tags))
            conditioned.append(prompt)
        return conditioned

    def prompt_weights(self, prompts: Sequence[str]) -> Tensor:
        """w_k = mask_k / Σ mask (eq. 11's average over the prompt's tagged objectives): (B, K)."""
        return tag_weights(prompt_targets(prompts, self.heads, self.parse_tags)[1])

    def objective_mask(self, prompts: Sequence[str]) -> Tensor:
        return prompt_targets(prompts, self.heads, self.parse_tags)[1] > UNTAGGED

    def reward_matrix(self, outputs: Mapping[str, Sequence]) -> Tensor:
        """R (N, K): each tagged head's z-scored probability of its target intensity, 0 where untagged; the batch's
        probabilities first update the running statistics."""
        probabilities, targets = self.split_outputs(outputs[SCORER_NAME])
        self.stats.update(probabilities)
        rewards = targeted_zscores(probabilities, targets, self.stats.means(), self.stats.stds())
        self._last_metrics = self.target_probability_metrics(probabilities, targets)
        return rewards

    def split_outputs(self, rows: Sequence[Sequence[float]]) -> Tuple[Dict[str, Tensor], Tensor]:
        """The scorer's rows → ({objective: (N, n_k)} probabilities, (N, K) long targets)."""
        width = sum(self.heads.values())
        table = torch.tensor([list(row) for row in rows], dtype=torch.float32).reshape(len(rows), width + len(self.heads))
        probabilities, start = {}, 0
        for objective, levels in self.heads.items():
            probabilities[objective] = table[:, start:start + levels]
            start += levels
        return probabilities, table[:, width:].round().long()

    def target_probability_metrics(self, probabilities: Mapping[str, Tensor], targets: Tensor) -> Dict[str, float]:
        """``moslim/<objective>/target_prob``: the raw p_k[target] averaged over the responses that tag k."""
        values = {}
        for column, (objective, head) in enumerate(probabilities.items()):
            tagged = targets[:, column] > UNTAGGED
            if tagged.any():
                chosen = head[tagged].gather(1, (targets[tagged, column] - 1)[:, None])
                values[f"moslim/{objective}/target_prob"] = chosen.mean().item()
        return values

    def step_metrics(self) -> Dict[str, float]:
        return {**self._last_metrics, "data/skipped_bad_tags": float(self.skipped_prompts)}

    def state_dict(self) -> dict:
        return {"intensity_stats": self.stats.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "intensity_stats" in state:
            self.stats.load_state_dict(state["intensity_stats"])
