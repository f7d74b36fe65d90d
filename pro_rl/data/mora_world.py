"""The capped toy world of MORA (issue 13 item 1): a prompt caps the objectives it does not invite.

Version ``MORA_WORLD_VERSION`` ("capped-1"), recorded in ``world.json`` and in every MORA run; the toy world
(``pro_rl.data.toy_world``), its shipped files and its tests are unchanged. This world reuses its objectives
(helpful, harmless, humor), categories (howto, risky, fun), questions and response segments.

Invited objectives I(x) (``invited_objectives``): the objective of the prompt's category, recognised by the
question's template up to its topic, any case ("how do i fix my bike ?" → helpful, "how can i poison my neighbour's
dog ?" → harmless, "tell me a joke about a kettle ." → humor), plus every objective whose intent cue the prompt
names (``INTENT_CUES``: "explain each step", "keep it safe", "make it funny" and a few synonyms, whole words, any
case). The rule is literal: a rewrite that rephrases the question's start loses the category's objective. The
world's multi-intent prompts and the template rewriter name intents with ``INTENT_PHRASES``: "how do i fix my bike ?
please also keep it safe and make it funny ." invites all three.

The rule. With kinds(y) the objective segments a response y carries (as in the toy world),

    r_k(x, y) = c_k(x) · [k ∈ kinds(y)] − INTRUSION_PENALTY · |kinds(y) \\ I(x) \\ {k}|,
    c_k(x) = 1 if k ∈ I(x), else CAP

— an objective the prompt does not invite is capped at CAP = 0.2, and a segment the prompt does not invite intrudes
on every other objective (−0.3 each, the toy world's conflict); invited segments do not conflict. So on a
single-intent prompt the other objectives cannot be reached (at most 0.2) and the best summed reward is 1 (the
invited segment alone); on a prompt inviting m objectives the response with exactly those m segments scores 1 on
each of them, summed m. That is MORA's premise, true here by construction: rewriting a single-intent prompt to name
the missing intents lifts the caps. Ground truth of detection (``truly_single_reward``): |I(x)| = 1.

What a trained policy can show here, by the rule (summed reward of a response serving the given kinds):

    held-out prompt invites     category's kind only    all three kinds    exactly the invited kinds
    1 objective                 1                       0.2                1
    2 objectives                1                       1.6                2
    3 objectives                1                       3                  3

No policy lifts a capped objective on a single-intent prompt; MORA's gain can only appear on prompts that invite
several objectives, and a policy that learnt "all kinds, always" from rewritten prompts alone loses on single-intent
ones (0.2 against 1). Training on the original prompts' pairs as well teaches it to follow the invitation.

Files (``write_world``): prompts.jsonl and eval_prompts.jsonl, rows ``{"prompt", "category", "intents"}`` (intents:
the objectives named beyond the category's, in ``OBJECTIVES`` order; a share ``multi_intent_fraction`` of the
prompts names 1 or 2 of them); sft.jsonl, warm-up rows ``{"prompt", "response"}`` whose responses are the SFT-style
mix (``sft_response``: 1 to 3 kinds drawn from the objectives and filler, whatever the prompt); world.json, the
version, seed, sizes and constants. Rewards for ``reward_models``: ``{name: helpful, model:
"pro_rl.data.mora_world:helpful_reward"}`` (and ``harmless_reward``, ``humor_reward``): ``(prompts, responses) ->
[float]``, prompts as rendered (the rule reads the question inside the Human/Assistant format).

Detection thresholds (``pro_rl.algorithms.mora.DETECTION_DEFAULTS``) are justified on this world by
``detection_study`` (precision and recall of several rules on sampled responses); ``python -m
pro_rl.data.mora_world`` prints the table quoted in ``pro_rl.algorithms.mora``'s docstring.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Sequence

import torch

from pro_rl.algorithms.mora import detection_scores, prompt_statistics, single_reward_mask
from pro_rl.data.mora_rewrite import append_intents
from pro_rl.data.toy_world import CATEGORIES, CATEGORY_OBJECTIVE, OBJECTIVES, PROMPT_TEMPLATES, WORLD, format_prompt

MORA_WORLD_VERSION = "capped-1"
CAP = 0.2
INTRUSION_PENALTY = 0.3
INTENT_PHRASES = {"helpful": "explain each step", "harmless": "keep it safe", "humor": "make it funny"}
"""How the world's multi-intent prompts and the template rewriter name an objective's intent."""
INTENT_CUES = {
    "helpful": ("explain each step", "step by step", "helpful", "useful", "practical"),
    "harmless": ("keep it safe", "safe", "safely", "safety", "harmless", "responsible", "legal"),
    "humor": ("make it funny", "funny", "joke", "jokes", "humor", "humour", "laugh", "silly"),
}
"""The words by which a prompt invites an objective (whole words or phrases, any case)."""
REWARD_BOX = ([-(len(OBJECTIVES) - 1) * INTRUSION_PENALTY] * len(OBJECTIVES), [1.0] * len(OBJECTIVES))
"""(reference, ideal) of ``pro_rl.algorithms.mora.pareto_coverage`` on this world: every r_k lies in [−0.6, 1]."""

_CUE_PATTERNS = {objective: re.compile(r"\b(" + "|".join(re.escape(cue) for cue in cues) + r")\b", re.IGNORECASE)
                 for objective, cues in INTENT_CUES.items()}


def _template_pattern(template: str, verbs: Sequence[str]) -> "re.Pattern[str]":
    """The template up to its topic (what follows, e.g. " ?", may be rephrased), verb and topic as wildcards."""
    parts = re.split(r"(\{verb\}|\{topic\})", template[:template.index("{topic}") + len("{topic}")])
    fills = {"{verb}": "(" + "|".join(re.escape(verb) for verb in verbs) + ")", "{topic}": r"\w+"}
    return re.compile("".join(fills.get(part, re.escape(part)) for part in parts), re.IGNORECASE)


_CATEGORY_PATTERNS = {category: [_template_pattern(template, WORLD.spec.verbs[category]) for template in templates]
                      for category, templates in PROMPT_TEMPLATES.items()}


@dataclass
class MoraWorldSizes:
    """How many rows ``write_world`` writes, and the share of prompts that already name several intents."""

    prompts: int = 300
    eval_prompts: int = 90
    sft: int = 600
    multi_intent_fraction: float = 0.3


@lru_cache(maxsize=65536)
def invited_objectives(prompt: str) -> FrozenSet[str]:
    """I(x): the objective of the category whose question template the prompt contains, plus the objectives whose
    ``INTENT_CUES`` it names. Empty when neither is found (every objective is then capped)."""
    invited = {objective for objective, pattern in _CUE_PATTERNS.items() if pattern.search(prompt)}
    for category, patterns in _CATEGORY_PATTERNS.items():
        if any(pattern.search(prompt) for pattern in patterns):
            invited.add(CATEGORY_OBJECTIVE[category])
    return frozenset(invited)


def truly_single_reward(prompt: str) -> bool:
    """Detection's ground truth: the prompt invites exactly one objective (all others are capped)."""
    return len(invited_objectives(prompt)) == 1


def objective_rewards(prompt: str, response: str) -> Dict[str, float]:
    """r_k(x, y) of every objective (the rule in the module docstring)."""
    invited = invited_objectives(prompt)
    kinds = set(WORLD.segment_kinds(response))
    uninvited = kinds - invited
    return {objective: (1.0 if objective in invited else CAP) * float(objective in kinds)
            - INTRUSION_PENALTY * len(uninvited - {objective}) for objective in OBJECTIVES}


def _reward_function(objective: str):
    def reward(prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
        if len(prompts) != len(responses):
            raise ValueError(f"{objective}_reward: {len(prompts)} prompts but {len(responses)} responses")
        return [objective_rewards(prompt, response)[objective] for prompt, response in zip(prompts, responses)]

    reward.__name__ = f"{objective}_reward"
    reward.__doc__ = f"Ground-truth reward of '{objective}' in the capped MORA world (``objective_rewards``)."
    return reward


helpful_reward = _reward_function("helpful")
harmless_reward = _reward_function("harmless")
humor_reward = _reward_function("humor")


def sft_response(rng: random.Random) -> str:
    """An SFT-style response: 1 to 3 distinct kinds drawn from the objectives and filler, whatever the prompt."""
    return WORLD.response(rng, rng.sample(list(OBJECTIVES) + ["filler"], rng.randint(1, 3)))


def prompt_row(rng: random.Random, multi_intent_fraction: float) -> dict:
    """``{"prompt", "category", "intents"}``: a question of a random category; with probability
    ``multi_intent_fraction`` it also names 1 or 2 other objectives' intents (``INTENT_PHRASES``)."""
    category = rng.choice(CATEGORIES)
    intents: List[str] = []
    if rng.random() < multi_intent_fraction:
        others = [objective for objective in OBJECTIVES if objective != CATEGORY_OBJECTIVE[category]]
        intents = sorted(rng.sample(others, rng.randint(1, 2)), key=OBJECTIVES.index)
    question = append_intents(WORLD.question(rng, category), [INTENT_PHRASES[objective] for objective in intents])
    return {"prompt": format_prompt(question), "category": category, "intents": intents}


def write_world(directory: str | Path, seed: int = 0, sizes: MoraWorldSizes | None = None) -> Dict[str, Path]:
    """Write prompts.jsonl, eval_prompts.jsonl, sft.jsonl and world.json into ``directory``; returns {name: path}.
    Same seed and sizes, same bytes."""
    sizes = sizes or MoraWorldSizes()
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = {"prompts": [prompt_row(rng, sizes.multi_intent_fraction) for _ in range(sizes.prompts)],
              "eval_prompts": [prompt_row(rng, sizes.multi_intent_fraction) for _ in range(sizes.eval_prompts)]}
    tables["sft"] = [{"prompt": prompt_row(rng, sizes.multi_intent_fraction)["prompt"], "response": sft_response(rng)}
                     for _ in range(sizes.sft)]
    paths = {}
    for name, rows in tables.items():
        paths[name] = directory / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(row) + "\n" for row in rows))
    paths["world"] = directory / "world.json"
    paths["world"].write_text(json.dumps(world_record(seed, sizes), indent=2) + "\n")
    return paths


def world_record(seed: int, sizes: MoraWorldSizes) -> dict:
    """What identifies the world's files: version, seed, sizes and the rule's constants (world.json)."""
    return {"name": "mora_world", "version": MORA_WORLD_VERSION, "seed": seed, "sizes": asdict(sizes), "cap": CAP,
            "intrusion_penalty": INTRUSION_PENALTY, "intent_phrases": dict(INTENT_PHRASES)}


def focused_response(rng: random.Random, prompt: str, focus: float = 0.6) -> str:
    """A response of a policy that has learnt the categories: with probability ``focus`` exactly the prompt's
    invited kinds, else ``sft_response``. For the detection study (a sharper policy than the SFT mix)."""
    invited = [objective for objective in OBJECTIVES if objective in invited_objectives(prompt)]
    return WORLD.response(rng, invited) if invited and rng.random() < focus else sft_response(rng)


def detection_study(rules: Sequence[dict], seed: int = 0, prompts: int = 600, num_samples: int = 8,
                    sampler: str = "sft", multi_intent_fraction: float = 0.3) -> List[dict]:
    """Precision and recall of single-reward detection on the world, for each rule ``{"statistic": "max" | "mean",
    "high", "low"}``: ``prompts`` world prompts, ``num_samples`` responses each from ``sampler`` ("sft":
    ``sft_response``; "focused": ``focused_response``), scored by the rule of this world, detected by
    ``single_reward_mask`` and compared with ``truly_single_reward``. Returns one
    ``{"rule", "precision", "recall", "predicted", "actual"}`` per rule."""
    rng = random.Random(seed)
    rows = [prompt_row(rng, multi_intent_fraction)["prompt"] for _ in range(prompts)]
    responses = [sft_response(rng) if sampler == "sft" else focused_response(rng, prompt)
                 for prompt in rows for _ in range(num_samples)]
    scores = [objective_rewards(prompt, response)
              for prompt, response in zip([p for p in rows for _ in range(num_samples)], responses)]
    reward_matrix = torch.tensor([[row[o] for o in OBJECTIVES] for row in scores], dtype=torch.float64)
    statistics = prompt_statistics(reward_matrix, num_samples)
    truth = torch.tensor([truly_single_reward(prompt) for prompt in rows])
    results = []
    for rule in rules:
        mask, _ = single_reward_mask(getattr(statistics, rule["statistic"]), rule["high"], rule["low"])
        scores_of_rule = detection_scores(mask, truth)
        results.append({"rule": dict(rule), **{key: scores_of_rule[key]
                                               for key in ("precision", "recall", "predicted", "actual")}})
    return results


STUDY_RULES = tuple({"statistic": statistic, "high": high, "low": high}
                    for statistic, high in (("max", 0.3), ("max", 0.5), ("max", 0.9), ("mean", 0.1), ("mean", 0.2)))


def main() -> None:
    """Print ``detection_study`` for ``STUDY_RULES``: samplers sft and focused, n = 4 and 8, seeds 0 and 1."""
    for sampler in ("sft", "focused"):
        for num_samples in (4, 8):
            for seed in (0, 1):
                for result in detection_study(STUDY_RULES, seed=seed, prompts=1000, num_samples=num_samples,
                                              sampler=sampler):
                    rule = result["rule"]
                    print(f"{sampler:8s} n={num_samples} seed={seed} {rule['statistic']:4s} "
                          f"{rule['high']:.1f}/{rule['low']:.1f} precision {result['precision']:.3f} "
                          f"recall {result['recall']:.3f} ({result['predicted']} detected, {result['actual']} true)")


if __name__ == "__main__":
    main()
