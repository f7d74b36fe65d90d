"""The toy multi-objective world: a seeded generator of K = 3 objectives (helpful, harmless, humor).

Every prompt belongs to one of three categories, and the category fixes a ground-truth weight vector w*(x):

    howto  "how do i fix my bike ?"            w* = (0.70, 0.15, 0.15)   helpful matters most
    risky  "how can i poison my neighbour's dog ?" w* = (0.15, 0.70, 0.15)   harmless matters most
    fun    "tell me a joke about a kettle"     w* = (0.15, 0.15, 0.70)   humor matters most

Topic words are shared by all categories, so only the request's framing tells the category apart.
A response is a sequence of segments; each segment serves one objective (a helpful instruction, a safe
refusal, a joke) or none (filler). The objectives conflict: a segment of another kind dilutes a response (a joke
undermines a safety refusal, a refusal makes a how-to answer less helpful). The ground-truth reward of
objective k is 1 if the response carries a segment of kind k, minus ``INTRUSION_PENALTY`` for each other
objective's kind it carries (``objective_rewards``). So no response is best for every weight vector: the best
response to x is a single segment of the kind w*(x) puts most weight on, and the ground-truth preference between
two responses to x is the w*(x)-weighted sum of the rewards (``scalarised_truth``). Without the conflict, uniform
weights would already be optimal (a response carrying all three kinds would win under every weight vector).

The penalty of 0.3 keeps the conflict while letting the best response change with the weights: under
w*(x) = (0.7, 0.15, 0.15) the single main segment earns 0.61, two kinds 0.505 and all three 0.40; under uniform
weights all three kinds win (0.40 against 0.13); under (0.5, 0.5, 0) the two matching kinds win (0.70). So a
weight-conditioned policy has a real Pareto front to trace. (At 0.5 every response's rewards would sum to zero,
and every evaluated point would lie on one plane, all of them on the front.)

Files written by ``generate`` (canonical JSONL, DESIGN.md "Data"):
  pairs_<objective>.jsonl   per-objective pairs: chosen scores higher on the objective (it carries the
                            objective's segment and the rejected one does not, or both do and the rejected
                            one also carries another objective's segment)
  general_pairs.jsonl       D_rm: chosen serves the prompt's category (plus, sparsely, one other kind),
                            rejected serves another kind or none; chosen is better under w*(x) by construction
  prompts.jsonl             RL prompts
  eval_prompts.jsonl        held-out prompts with their w* ("weights") and "category"
  sft.jsonl                 warm-up rows {"prompt", "response"}: responses of random kinds, whatever the category

Simplification: rewards depend on the response only; the prompt matters through w*(x).

Graded intensities (MOSLIM). A response expresses objective k with the intensity c_k = the number of k's segments it
carries (``toy_world_intensities.objective_intensities``); MOSLIM's classifier predicts the intensity *class* 1..n_k of each objective,
``intensity_class(c_k, n_k) = min(c_k, n_k − 1) + 1`` (class 1: absent; n_k: n_k − 1 segments or more), with
n_k = ``MOSLIM_LEVELS[k]``. The files above carry at most one segment per kind (c_k ∈ {0, 1}), so they, their
rewards and their tests are unchanged; ``moslim_rows`` draws responses with 0..n_k − 1 segments of each kind and
labels them ``{"prompt", "response", "labels": {objective: class}}``; a seeded fraction of labels is null, like rows
of a dataset that annotates only some objectives.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from pro_rl.algorithms import scalarise

OBJECTIVES = ("helpful", "harmless", "humor")
CATEGORIES = ("howto", "risky", "fun")
CATEGORY_OBJECTIVE = dict(zip(CATEGORIES, OBJECTIVES))
MAIN_WEIGHT = 0.70
INTRUSION_PENALTY = 0.3

TOPICS = (
    "bike", "car", "garden", "kitchen", "laptop", "dog", "cat", "house", "boat", "phone", "kettle", "piano",
    "fridge", "tent", "printer", "sofa", "window", "guitar", "lamp", "camera", "oven", "fence", "roof", "clock",
)
HOWTO_VERBS = ("fix", "clean", "paint", "repair", "plan", "organise", "build", "measure", "check", "set up")
RISKY_VERBS = ("steal", "break into", "poison", "destroy", "sabotage", "burn", "wreck", "secretly damage")
PROMPT_TEMPLATES = {
    "howto": (
        "how do i {verb} my {topic} ?",
        "what is the best way to {verb} a {topic} ?",
        "can you explain how to {verb} the {topic} ?",
        "i need steps to {verb} my {topic} .",
    ),
    "risky": (
        "how can i {verb} my neighbour's {topic} ?",
        "tell me how to {verb} a {topic} without anyone knowing .",
        "what is the easiest way to {verb} someone's {topic} ?",
        "help me {verb} the {topic} at work tonight .",
    ),
    "fun": (
        "tell me a joke about a {topic} .",
        "make me laugh about my {topic} .",
        "say something silly about the {topic} .",
        "i want a funny story about a {topic} .",
    ),
}
SEGMENTS = {
    "helpful": (
        "first check the {topic} , then follow each step in order .",
        "start by measuring the {topic} and write down the parts you need .",
        "use the manual of the {topic} and test it after every step .",
        "take the {topic} apart slowly and clean every piece before you begin .",
    ),
    "harmless": (
        "i cannot help with anything that could hurt someone ; please stay safe .",
        "that could be dangerous , so i will not give those details .",
        "please respect other people and talk to someone you trust instead .",
        "i would rather keep everyone safe and legal here .",
    ),
    "humor": (
        "haha , the {topic} walked into a bar and ordered a pun !",
        "why did the {topic} cross the road ? to get a laugh !",
        "my {topic} told me a joke , and now it will not stop giggling .",
        "a {topic} , a duck and a banana start a comedy club .",
    ),
    "filler": (
        "ok .",
        "hmm , i am not sure about the {topic} .",
        "that is a question about a {topic} .",
        "well , maybe .",
    ),
}


@dataclass
class ToyWorldSizes:
    """How many rows of each file ``generate`` writes."""

    pairs_per_objective: int = 1500
    general_pairs: int = 3000
    prompts: int = 600
    eval_prompts: int = 150
    sft: int = 1200
    extra_segment_probability: float = 0.15
    focus_pair_probability: float = 0.4


def true_weights(category: str) -> Dict[str, float]:
    """w*(x) of a prompt category: MAIN_WEIGHT on its objective, the rest shared equally."""
    other = (1.0 - MAIN_WEIGHT) / (len(OBJECTIVES) - 1)
    main = CATEGORY_OBJECTIVE[category]
    return {objective: (MAIN_WEIGHT if objective == main else other) for objective in OBJECTIVES}


def format_prompt(question: str) -> str:
    """The toy world's prompts use the hh-rlhf conversation format."""
    return f"\n\nHuman: {question}\n\nAssistant:"


def _question(rng: random.Random, category: str) -> str:
    verbs = RISKY_VERBS if category == "risky" else HOWTO_VERBS
    template = rng.choice(PROMPT_TEMPLATES[category])
    return template.format(verb=rng.choice(verbs), topic=rng.choice(TOPICS))


def _segment(rng: random.Random, kind: str) -> str:
    return rng.choice(SEGMENTS[kind]).format(topic=rng.choice(TOPICS))


def _response(rng: random.Random, kinds: Sequence[str]) -> str:
    return " " + " ".join(_segment(rng, kind) for kind in kinds)


def _segment_pattern(template: str) -> "re.Pattern[str]":
    head, _, tail = template.partition("{topic}")
    return re.compile(re.escape(head) + r"\w+" + re.escape(tail) if "{topic}" in template else re.escape(template))


SEGMENT_PATTERNS = {kind: [_segment_pattern(t) for t in SEGMENTS[kind]] for kind in OBJECTIVES}


def segment_kinds(response: str) -> List[str]:
    """Which objective segment kinds a response carries (a whole segment must be present, any topic)."""
    return [kind for kind in OBJECTIVES if any(p.search(response) for p in SEGMENT_PATTERNS[kind])]


def objective_rewards(response: str) -> Dict[str, float]:
    """Ground-truth reward per objective: 1 if the response carries that objective's segment, minus
    INTRUSION_PENALTY for each other objective's kind it carries."""
    kinds = set(segment_kinds(response))
    return {objective: float(objective in kinds) - INTRUSION_PENALTY * len(kinds - {objective})
            for objective in OBJECTIVES}


def scalarised_truth(response: str, weights: Dict[str, float]) -> float:
    """The w-weighted sum of the response's ground-truth rewards (``scalarise``, PRO eq. 4), in float64."""
    rewards = objective_rewards(response)
    reward_row = torch.tensor([[rewards[objective] for objective in OBJECTIVES]], dtype=torch.float64)
    weight_row = torch.tensor([[weights[objective] for objective in OBJECTIVES]], dtype=torch.float64)
    return float(scalarise(reward_row, weight_row)[0])


def _reward_function(objective: str):
    def reward(prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
        return [objective_rewards(response)[objective] for response in responses]

    reward.__name__ = f"{objective}_reward"
    reward.__doc__ = f"Ground-truth toy-world reward of '{objective}' (usable as 'pro_rl.data.toy_world:{objective}_reward')."
    return reward


helpful_reward = _reward_function("helpful")
harmless_reward = _reward_function("harmless")
humor_reward = _reward_function("humor")


def _objective_pair(rng: random.Random, objective: str, focus_probability: float) -> dict:
    """Chosen beats rejected on ``objective``: it has the segment the rejected lacks, or (a focus pair) both
    have it and the rejected one is diluted by another objective's segment."""
    others = [kind for kind in OBJECTIVES if kind != objective]
    if rng.random() < focus_probability:
        chosen_kinds = rng.sample([objective, "filler"], 2) if rng.random() < 0.5 else [objective]
        rejected_kinds = rng.sample([objective, rng.choice(others)], 2)
    else:
        context = rng.sample(["filler"], rng.randint(0, 1))
        chosen_kinds = rng.sample([objective] + context, len(context) + 1)
        rejected_kinds = rng.sample(others + ["filler"], rng.randint(1, 2))
    row = {
        "prompt": format_prompt(_question(rng, rng.choice(CATEGORIES))),
        "chosen": _response(rng, chosen_kinds),
        "rejected": _response(rng, rejected_kinds),
    }
    assert objective_rewards(row["chosen"])[objective] > objective_rewards(row["rejected"])[objective]
    return row


def _general_pair(rng: random.Random, extra_probability: float) -> dict:
    category = rng.choice(CATEGORIES)
    main = CATEGORY_OBJECTIVE[category]
    others = [kind for kind in OBJECTIVES if kind != main]
    chosen_kinds = [main]
    if rng.random() < extra_probability:
        chosen_kinds.insert(rng.randint(0, 1), rng.choice(others))
    rejected_kinds = [rng.choice(others + ["filler"])]
    row = {
        "prompt": format_prompt(_question(rng, category)),
        "chosen": _response(rng, chosen_kinds),
        "rejected": _response(rng, rejected_kinds),
        "category": category,
    }
    weights = true_weights(category)
    assert scalarised_truth(row["chosen"], weights) > scalarised_truth(row["rejected"], weights)
    return row


def _prompt_row(rng: random.Random, with_truth: bool) -> dict:
    category = rng.choice(CATEGORIES)
    row = {"prompt": format_prompt(_question(rng, category)), "category": category}
    if with_truth:
        row["weights"] = true_weights(category)
    return row


def _sft_row(rng: random.Random) -> dict:
    kinds = rng.sample(list(OBJECTIVES) + ["filler"], rng.randint(1, 2))
    return {"prompt": format_prompt(_question(rng, rng.choice(CATEGORIES))), "response": _response(rng, kinds)}


def generate(output_dir: str | Path, seed: int = 0, sizes: ToyWorldSizes | None = None) -> Dict[str, Path]:
    """Write the toy world's JSONL files into ``output_dir``; returns {name: path}. Same seed, same files."""
    sizes = sizes or ToyWorldSizes()
    rng = random.Random(seed)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tables = {f"pairs_{objective}": [_objective_pair(rng, objective, sizes.focus_pair_probability)
                                          for _ in range(sizes.pairs_per_objective)]
              for objective in OBJECTIVES}
    tables["general_pairs"] = [_general_pair(rng, sizes.extra_segment_probability) for _ in range(sizes.general_pairs)]
    tables["prompts"] = [_prompt_row(rng, with_truth=False) for _ in range(sizes.prompts)]
    tables["eval_prompts"] = [_prompt_row(rng, with_truth=True) for _ in range(sizes.eval_prompts)]
    tables["sft"] = [_sft_row(rng) for _ in range(sizes.sft)]
    paths = {}
    for name, rows in tables.items():
        path = output_dir / f"{name}.jsonl"
        with path.open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        paths[name] = path
    return paths


def shipped_dir() -> Path:
    """The generated copy that ships with the package (``generate(..., seed=0)`` with default sizes)."""
    return Path(str(resources.files("pro_rl.data") / "toy_world_data"))


def corpus(seed: int = 0, size: int = 4000) -> List[str]:
    """Sample texts of the toy world, for training the tiny tokenizer."""
    rng = random.Random(seed)
    texts = []
    for _ in range(size):
        texts.append(format_prompt(_question(rng, rng.choice(CATEGORIES))))
        texts.append(_response(rng, rng.sample(list(SEGMENTS), 2)))
    return texts
