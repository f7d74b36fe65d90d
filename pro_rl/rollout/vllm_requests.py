"""The vLLM backend's requests and answers, without vLLM: ``SamplingParams`` keyword arguments, per-prompt seeds,
and ``Rollouts`` (with behaviour log-probs) or log-probs read from vLLM's ``RequestOutput``s. ``vllm_engine`` calls
these; they are tested against fakes on CPU.
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

from pro_rl.rollout.base import Rollouts, SamplingSettings


def sampling_params_kwargs(settings: SamplingSettings, num_samples: int, seed: Optional[int],
                           behaviour_logprobs: bool = False) -> dict:
    """Keyword arguments of ``vllm.SamplingParams`` for one prompt's request of ``num_samples`` samples.

    Greedy (temperature 0) asks for one sample without a seed: vLLM refuses n > 1 there and the samples would be
    identical anyway. ``detokenize`` is off: responses are decoded by the policy's tokenizer, as on the hf backend.
    ``behaviour_logprobs`` asks for the sampled token's log-prob at each step (``logprobs=0``: no alternatives).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    kwargs = dict(n=num_samples, temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k,
                  max_tokens=settings.max_new_tokens, min_tokens=settings.min_new_tokens, seed=seed,
                  detokenize=False)
    if behaviour_logprobs:
        kwargs["logprobs"] = 0
    if settings.temperature == 0:
        kwargs.update(n=1, top_p=1.0, top_k=0, seed=None)
    return kwargs


def request_seeds(seed: Optional[int], num_prompts: int) -> list[Optional[int]]:
    """One seed per prompt, drawn from ``seed`` (``None``: unseeded); vLLM seeds sample j with seed + j."""
    if seed is None:
        return [None] * num_prompts
    generator = random.Random(seed)
    return [generator.randrange(2 ** 31) for _ in range(num_prompts)]


def rollouts_from_outputs(prompts: Sequence[str], outputs: Sequence, prompt_ids: Sequence[Sequence[int]],
                          num_samples: int, tokenizer, behaviour_logprobs: bool = False) -> Rollouts:
    """A ``Rollouts`` from vLLM ``RequestOutput``s, one per prompt, in prompt order.

    Each output carries ``num_samples`` completions (``.outputs[j].token_ids``), or one when decoding was greedy,
    which then stands for all n. Responses are decoded from the token ids without special tokens. With
    ``behaviour_logprobs`` each completion's ``.logprobs`` (one ``{token id: Logprob}`` per step) gives the sampled
    tokens' log-probs.
    """
    if len(outputs) != len(prompts) or len(prompt_ids) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts, {len(prompt_ids)} prompt id lists and {len(outputs)} vLLM outputs")
    response_ids: list[list[int]] = []
    logprobs: list[list[float]] = []
    for prompt, output in zip(prompts, outputs):
        completions = [[int(token) for token in completion.token_ids] for completion in output.outputs]
        if behaviour_logprobs:
            steps = [[float(step[token].logprob) for step, token in zip(completion.logprobs, ids)]
                     for completion, ids in zip(output.outputs, completions)]
            logprobs.extend(steps * num_samples if len(steps) == 1 else steps)
        if len(completions) == 1:
            completions = completions * num_samples
        if len(completions) != num_samples:
            raise ValueError(f"vLLM returned {len(completions)} completions for prompt {prompt!r}, "
                             f"expected {num_samples}")
        response_ids.extend(completions)
    return Rollouts(
        prompts=[prompt for prompt in prompts for _ in range(num_samples)],
        responses=tokenizer.batch_decode(response_ids, skip_special_tokens=True),
        prompt_ids=[list(ids) for ids in prompt_ids for _ in range(num_samples)],
        response_ids=response_ids,
        num_samples=num_samples,
        logprobs=logprobs if behaviour_logprobs else None,
    )


def response_logprobs_from_outputs(outputs: Sequence, prompt_ids: Sequence[Sequence[int]],
                                   response_ids: Sequence[Sequence[int]]) -> list[list[float]]:
    """log p(response token | everything before it) for each response, read from the ``prompt_logprobs`` of
    requests whose prompt was prompt + response (entry i holds the log-prob of token i; entry 0 is ``None``)."""
    rows = []
    for output, prompt, response in zip(outputs, prompt_ids, response_ids):
        entries = output.prompt_logprobs[len(prompt):len(prompt) + len(response)]
        rows.append([float(entry[token].logprob) for entry, token in zip(entries, response)])
    return rows
