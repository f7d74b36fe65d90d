"""The data of the PRO-WIC/RiC stages: offline rows, online prompt samples, and reward matrices.

- ``offline_rows``: (prompt, response) lists of the offline stage, read from local JSONL (``response`` rows, or both
  sides of ``chosen``/``rejected`` pairs) or from any pair source through its adapter;
- ``sample_prompts``: the online stage's draw of ``wic.online_prompts`` prompts from ``data.prompts``;
- ``score_matrix``: the (N, K) reward matrix of K scorers, with an error naming the objective of a NaN/inf score.

Chat-message prompts are rendered in the plain Human/Assistant format (``render_prompt``) before tags are added.
"""

from __future__ import annotations

from dataclasses import dataclass

import random
from typing import Dict, List, Sequence

import torch

from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import DataConfig, ProRLConfig
from pro_rl.data.canonical import data_limits, is_local, load_pairs, load_prompts, read_jsonl
from pro_rl.data.errors import DataError
from pro_rl.data.formats import render_prompt, render_response
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.models.scoring import RewardScorer
from pro_rl.rollout.generator import reward_columns


def score_matrix(scorers: Sequence[RewardScorer], prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
    """(N, K) float64 scores of K scorers in this process; a NaN/inf score is an error naming the objective."""
    return reward_columns([scorer.name for scorer in scorers], [scorer.score(prompts, responses) for scorer in scorers])


def reward_log(objectives: Sequence[str], reward_matrix: torch.Tensor) -> Dict[str, float]:
    """``reward/<objective>/mean`` of each column of an (N, K) reward matrix."""
    return {f"reward/{name}/mean": float(value) for name, value in zip(objectives, reward_matrix.mean(dim=0))}


def offline_rows(path: str, data: DataConfig) -> tuple[List[str], List[str]]:
    """(prompts, responses) of the offline rows. A local JSONL row gives its ``response``, or both sides of a
    ``chosen``/``rejected`` pair; any other source (a hub dataset such as Anthropic/hh-rlhf) is read as pairs through
    its adapter. Each response is labelled with its own rewards, so the rejected side teaches the tags too (RiC)."""
    if is_local(path) and str(path).endswith(".jsonl"):
        rows = read_jsonl(path)
    else:
        rows = load_pairs(path, **data_limits(data)).to_list()
    prompts, responses = [], []
    for index, row in enumerate(rows):
        targets = [row["response"]] if row.get("response") is not None else \
            [row[side] for side in ("chosen", "rejected") if row.get(side) is not None]
        if "prompt" not in row or not targets:
            raise DataError(path, "offline rows need 'prompt' and 'response' (or 'chosen'/'rejected')", row=index)
        for target in targets:
            prompts.append(render_prompt(row["prompt"], None, data.prompt_format))
            responses.append(render_response(target))
    return prompts, responses


@dataclass
class WicInputs:
    """What PRO-WIC/RiC read: the offline (prompt, response) rows and the rendered online prompts (empty without
    online iterations). Loaded once, before the run directory is touched."""

    offline_prompts: List[str]
    offline_responses: List[str]
    online_prompts: List[str]


def load_wic_inputs(config: ProRLConfig) -> WicInputs:
    offline_prompts, offline_responses = offline_rows(config.wic.offline_data or config.data.sft, config.data)
    online_prompts: List[str] = []
    if config.wic.online_iterations > 0:
        if not config.data.prompts:
            raise ConfigError("key 'data.prompts': empty, but the online stage samples prompts from it")
        online_prompts = render_prompts(config, load_prompts(config.data.prompts, **data_limits(config.data))["prompt"])
    return WicInputs(offline_prompts, offline_responses, online_prompts)


def sample_prompts(prompts: List[str], count: int, rng: random.Random) -> List[str]:
    """``count`` of ``prompts`` (``wic.online_prompts``; without replacement while there are enough)."""
    return rng.sample(prompts, count) if count <= len(prompts) else [rng.choice(prompts) for _ in range(count)]
