"""Parametric toy worlds: the toy world's rules (``toy_world``) for any objectives, categories and vocabulary.

A ``WorldSpec`` names K objectives, the prompt categories (each category's w*(x) puts ``main_weight`` on its
objective and shares the rest equally), the vocabulary (topics, verbs and prompt templates per category, segment
templates per objective and for filler) and the response length (``filler_segments`` extra filler segments in every
response). ``World`` applies the shipped world's rules to a spec: a response carries whole segments; the reward of
objective k is 1 if it carries a segment of kind k, minus ``intrusion_penalty`` for each other objective's kind
(``objective_rewards``); preferences under w*(x) are the w*-weighted sums (``scalarised_truth``). ``World.generate``
writes the same files as ``toy_world.generate`` (pairs_<objective>.jsonl, general_pairs.jsonl, prompts.jsonl,
eval_prompts.jsonl, sft.jsonl) and ``write_world`` adds ``world.json`` (the spec, from which ``load_world`` rebuilds
the ground truth) and ``world_rewards.py`` (``<objective>_reward`` functions for ``module:function`` reward specs:
put the world's directory on PYTHONPATH and name ``world_rewards:<objective>_reward``).

The shipped world is ``toy_world.WORLD``, this class with the shipped vocabulary; with ``filler_segments: 0`` the
random draws are those of the original generator, so its files are byte-identical. Made-up vocabularies come from
``pro_rl.data.world_vocabulary``; ``python -m pro_rl.data.world_generator OUT --objectives a,b,c,d --seed 1``
writes one.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch

from pro_rl.algorithms import scalarise

WORLD_FILE = "world.json"
REWARDS_MODULE = "world_rewards.py"
VERSION = 1


@dataclass
class WorldSizes:
    """How many rows of each file ``World.generate`` writes."""

    pairs_per_objective: int = 1500
    general_pairs: int = 3000
    prompts: int = 600
    eval_prompts: int = 150
    sft: int = 1200
    extra_segment_probability: float = 0.15
    focus_pair_probability: float = 0.4


@dataclass
class WorldSpec:
    """Everything that defines a world. ``segments`` has one entry per objective plus ``"filler"``; templates may
    hold ``{topic}`` (segments, prompts) and ``{verb}`` (prompts)."""

    objectives: List[str]
    category_objective: Dict[str, str]  # category → the objective its w*(x) favours (insertion order = categories)
    topics: List[str]
    verbs: Dict[str, List[str]]  # category → verbs of its prompts
    prompt_templates: Dict[str, List[str]]  # category → prompt templates
    segments: Dict[str, List[str]]  # objective or "filler" → segment templates
    main_weight: float = 0.70
    intrusion_penalty: float = 0.3
    filler_segments: int = 0
    name: str = "world"
    seed: int = 0
    version: int = VERSION
    sizes: Dict[str, float] = field(default_factory=dict)

    def check(self) -> None:
        """One-line ValueErrors for a spec that breaks the world's rules."""
        if len(self.objectives) < 2 or len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"a world needs at least two distinct objectives, got {self.objectives}")
        if not all(name.isidentifier() for name in self.objectives) or "filler" in self.objectives:
            raise ValueError(f"objective names must be identifiers other than 'filler', got {self.objectives}")
        missing = set(self.objectives) - set(self.category_objective.values())
        if missing or not set(self.category_objective.values()) <= set(self.objectives):
            raise ValueError(f"every objective needs a category and every category an objective: {self.category_objective}")
        if set(self.segments) != set(self.objectives) | {"filler"}:
            raise ValueError(f"segments must have one entry per objective and 'filler', got {sorted(self.segments)}")
        if set(self.verbs) != set(self.category_objective) or set(self.prompt_templates) != set(self.category_objective):
            raise ValueError("verbs and prompt_templates need one entry per category")
        if not 1.0 / len(self.objectives) < self.main_weight < 1.0 or self.filler_segments < 0:
            raise ValueError(f"main_weight must lie in (1/K, 1) and filler_segments be ≥ 0, got {self.main_weight}, {self.filler_segments}")


def format_prompt(question: str) -> str:
    """The toy worlds' prompts use the hh-rlhf conversation format."""
    return f"\n\nHuman: {question}\n\nAssistant:"


def _segment_pattern(template: str) -> "re.Pattern[str]":
    head, _, tail = template.partition("{topic}")
    return re.compile(re.escape(head) + r"\w+" + re.escape(tail) if "{topic}" in template else re.escape(template))


class World:
    """The toy world's rules over a ``WorldSpec``: w*(x), ground-truth rewards and the seeded file generator."""

    def __init__(self, spec: WorldSpec):
        spec.check()
        self.spec = spec
        self.objectives = tuple(spec.objectives)
        self.categories = tuple(spec.category_objective)
        self.segment_patterns = {kind: [_segment_pattern(t) for t in spec.segments[kind]] for kind in self.objectives}

    # ------------------------------------------------------------------ ground truth
    def true_weights(self, category: str) -> Dict[str, float]:
        """w*(x) of a prompt category: ``main_weight`` on its objective, the rest shared equally."""
        other = (1.0 - self.spec.main_weight) / (len(self.objectives) - 1)
        main = self.spec.category_objective[category]
        return {objective: (self.spec.main_weight if objective == main else other) for objective in self.objectives}

    def segment_kinds(self, response: str) -> List[str]:
        """Which objective segment kinds a response carries (a whole segment must be present, any topic)."""
        return [kind for kind in self.objectives if any(p.search(response) for p in self.segment_patterns[kind])]

    def objective_rewards(self, response: str) -> Dict[str, float]:
        """1 for each objective whose segment the response carries, minus ``intrusion_penalty`` per other kind."""
        kinds = set(self.segment_kinds(response))
        return {objective: float(objective in kinds) - self.spec.intrusion_penalty * len(kinds - {objective})
                for objective in self.objectives}

    def scalarised_truth(self, response: str, weights: Dict[str, float]) -> float:
        """The w-weighted sum of the response's ground-truth rewards (``scalarise``, PRO eq. 4), in float64."""
        rewards = self.objective_rewards(response)
        reward_row = torch.tensor([[rewards[objective] for objective in self.objectives]], dtype=torch.float64)
        weight_row = torch.tensor([[weights[objective] for objective in self.objectives]], dtype=torch.float64)
        return float(scalarise(reward_row, weight_row)[0])

    def reward_function(self, objective: str) -> Callable[[Sequence[str], Sequence[str]], List[float]]:
        """``reward(prompts, responses) -> [r_objective(response)]``, the signature of ``module:function`` rewards."""
        if objective not in self.objectives:
            raise ValueError(f"the world has no objective '{objective}'; it has {list(self.objectives)}")

        def reward(prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
            return [self.objective_rewards(response)[objective] for response in responses]

        reward.__name__ = f"{objective}_reward"
        reward.__doc__ = f"Ground-truth reward of '{objective}' in the world '{self.spec.name}'."
        return reward

    # ------------------------------------------------------------------ texts
    def question(self, rng: random.Random, category: str) -> str:
        template = rng.choice(self.spec.prompt_templates[category])
        return template.format(verb=rng.choice(self.spec.verbs[category]), topic=rng.choice(self.spec.topics))

    def segment(self, rng: random.Random, kind: str) -> str:
        return rng.choice(self.spec.segments[kind]).format(topic=rng.choice(self.spec.topics))

    def response(self, rng: random.Random, kinds: Sequence[str]) -> str:
        """Segments of ``kinds`` in order, with ``filler_segments`` fillers inserted at random places."""
        kinds = list(kinds)
        for _ in range(self.spec.filler_segments):
            kinds.insert(rng.randint(0, len(kinds)), "filler")
        return " " + " ".join(self.segment(rng, kind) for kind in kinds)

    def corpus(self, seed: int = 0, size: int = 4000) -> List[str]:
        """Sample texts of the world (a prompt and a two-kind response each), for training a tiny tokenizer."""
        rng = random.Random(seed)
        texts = []
        for _ in range(size):
            texts.append(format_prompt(self.question(rng, rng.choice(self.categories))))
            texts.append(self.response(rng, rng.sample(list(self.spec.segments), 2)))
        return texts

    # ------------------------------------------------------------------ rows
    def objective_pair(self, rng: random.Random, objective: str, focus_probability: float) -> dict:
        """Chosen beats rejected on ``objective``: it has the segment the rejected lacks, or (a focus pair) both
        have it and the rejected one is diluted by another objective's segment."""
        others = [kind for kind in self.objectives if kind != objective]
        if rng.random() < focus_probability:
            chosen_kinds = rng.sample([objective, "filler"], 2) if rng.random() < 0.5 else [objective]
            rejected_kinds = rng.sample([objective, rng.choice(others)], 2)
        else:
            context = rng.sample(["filler"], rng.randint(0, 1))
            chosen_kinds = rng.sample([objective] + context, len(context) + 1)
            rejected_kinds = rng.sample(others + ["filler"], rng.randint(1, 2))
        row = {"prompt": format_prompt(self.question(rng, rng.choice(self.categories))),
               "chosen": self.response(rng, chosen_kinds), "rejected": self.response(rng, rejected_kinds)}
        assert self.objective_rewards(row["chosen"])[objective] > self.objective_rewards(row["rejected"])[objective]
        return row

    def general_pair(self, rng: random.Random, extra_probability: float) -> dict:
        """D_rm: chosen serves the category's objective (plus, sparsely, one other kind); rejected another or none."""
        category = rng.choice(self.categories)
        main = self.spec.category_objective[category]
        others = [kind for kind in self.objectives if kind != main]
        chosen_kinds = [main]
        if rng.random() < extra_probability:
            chosen_kinds.insert(rng.randint(0, 1), rng.choice(others))
        rejected_kinds = [rng.choice(others + ["filler"])]
        row = {"prompt": format_prompt(self.question(rng, category)), "chosen": self.response(rng, chosen_kinds),
               "rejected": self.response(rng, rejected_kinds), "category": category}
        weights = self.true_weights(category)
        assert self.scalarised_truth(row["chosen"], weights) > self.scalarised_truth(row["rejected"], weights)
        return row

    def prompt_row(self, rng: random.Random, with_truth: bool) -> dict:
        category = rng.choice(self.categories)
        row = {"prompt": format_prompt(self.question(rng, category)), "category": category}
        if with_truth:
            row["weights"] = self.true_weights(category)
        return row

    def sft_row(self, rng: random.Random) -> dict:
        kinds = rng.sample(list(self.objectives) + ["filler"], rng.randint(1, 2))
        return {"prompt": format_prompt(self.question(rng, rng.choice(self.categories))),
                "response": self.response(rng, kinds)}

    def generate(self, output_dir: str | Path, seed: int = 0, sizes: Optional[WorldSizes] = None) -> Dict[str, Path]:
        """Write the world's JSONL files into ``output_dir``; returns {name: path}. Same seed, same files."""
        sizes = sizes or WorldSizes()
        rng = random.Random(seed)
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        tables = {f"pairs_{objective}": [self.objective_pair(rng, objective, sizes.focus_pair_probability)
                                         for _ in range(sizes.pairs_per_objective)] for objective in self.objectives}
        tables["general_pairs"] = [self.general_pair(rng, sizes.extra_segment_probability)
                                   for _ in range(sizes.general_pairs)]
        tables["prompts"] = [self.prompt_row(rng, with_truth=False) for _ in range(sizes.prompts)]
        tables["eval_prompts"] = [self.prompt_row(rng, with_truth=True) for _ in range(sizes.eval_prompts)]
        tables["sft"] = [self.sft_row(rng) for _ in range(sizes.sft)]
        paths = {}
        for name, rows in tables.items():
            paths[name] = output_dir / f"{name}.jsonl"
            paths[name].write_text("".join(json.dumps(row) + "\n" for row in rows))
        return paths


REWARDS_SOURCE = '''"""Ground-truth rewards of the generated world in this directory (``pro_rl.data.world_generator``)."""
from pathlib import Path

from pro_rl.data.world_generator import load_world

_WORLD = load_world(Path(__file__).parent)
{functions}
'''


def write_world(world: World, output_dir: str | Path, seed: int = 0, sizes: Optional[WorldSizes] = None) -> Dict[str, Path]:
    """``World.generate``'s files plus ``world.json`` (the spec and sizes) and ``world_rewards.py``."""
    sizes = sizes or WorldSizes()
    paths = world.generate(output_dir, seed=seed, sizes=sizes)
    spec = asdict(world.spec)
    spec.update(sizes=asdict(sizes), data_seed=seed)
    paths["world"] = Path(output_dir) / WORLD_FILE
    paths["world"].write_text(json.dumps(spec, indent=2) + "\n")
    functions = "".join(f"{objective}_reward = _WORLD.reward_function({objective!r})\n" for objective in world.objectives)
    paths["rewards"] = Path(output_dir) / REWARDS_MODULE
    paths["rewards"].write_text(REWARDS_SOURCE.format(functions=functions))
    return paths


def load_world(directory: str | Path) -> World:
    """The world described by ``directory/world.json`` (as ``write_world`` writes it)."""
    data = json.loads((Path(directory) / WORLD_FILE).read_text())
    if data.get("version") != VERSION:
        raise ValueError(f"{Path(directory) / WORLD_FILE}: world version {data.get('version')}, this code reads {VERSION}")
    data.pop("data_seed", None)
    return World(WorldSpec(**data))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``python -m pro_rl.data.world_generator OUT --objectives a,b,c,d --seed 1 --filler-segments 3``."""
    from pro_rl.data.world_vocabulary import made_up_spec

    parser = argparse.ArgumentParser(description="Write a generated toy world (made-up vocabulary) into OUT.")
    parser.add_argument("output")
    parser.add_argument("--objectives", required=True, help="comma-separated objective names (K ≥ 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the vocabulary and of the data")
    parser.add_argument("--categories-per-objective", type=int, default=1)
    parser.add_argument("--filler-segments", type=int, default=0, help="extra filler segments in every response")
    parser.add_argument("--segment-words", type=int, default=8, help="words of a made-up segment template")
    parser.add_argument("--context-words", type=int, default=0, help="shared words after a prompt's category cue")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every file's row count")
    args = parser.parse_args(argv)
    spec = made_up_spec(args.objectives.split(","), seed=args.seed, categories_per_objective=args.categories_per_objective,
                        filler_segments=args.filler_segments, segment_words=args.segment_words,
                        context_words=args.context_words, name=Path(args.output).name)
    defaults = WorldSizes()
    sizes = WorldSizes(**{key: max(1, round(getattr(defaults, key) * args.scale))
                          for key in ("pairs_per_objective", "general_pairs", "prompts", "eval_prompts", "sft")})
    for name, path in write_world(World(spec), args.output, seed=args.seed, sizes=sizes).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
