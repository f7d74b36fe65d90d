"""Made-up vocabularies for generated toy worlds (``world_generator``), drawn from a seed.

Words are 2–3 consonant-vowel syllables ("zorami", "kepu"), all distinct. A category's prompt templates share a
category's own frame words, so only the framing tells the category apart (as in the shipped world, where topics and
verbs are shared); a segment template of an objective is ``segment_words`` words drawn from that objective's own
word pool, three of its four templates holding ``{topic}``; fillers draw from a filler pool. Templates are built so
that no template of one kind can match inside a text of another kind (each kind has its own words).
"""

from __future__ import annotations

import random
from typing import List, Sequence

from pro_rl.data.world_generator import WorldSpec

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
TEMPLATES_PER_KIND = 4


def made_up_words(rng: random.Random, count: int, taken: set) -> List[str]:
    """``count`` new distinct words (2–3 syllables), none of them in ``taken`` (which is updated)."""
    words: List[str] = []
    while len(words) < count:
        word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 3)))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def _prompt_templates(rng: random.Random, frame: Sequence[str], shared: Sequence[str], context_words: int) -> List[str]:
    """Four prompt templates of one category: its frame words around ``{verb}`` and ``{topic}``; with
    ``context_words`` > 0, both frame words open the prompt and that many shared words follow them."""
    templates = []
    for index in range(TEMPLATES_PER_KIND):
        words = [frame[index % len(frame)], rng.choice(shared), "{verb}", rng.choice(shared), "{topic}",
                 frame[(index + 1) % len(frame)]]
        if context_words:
            words = words[:1] + words[-1:] + [rng.choice(shared) for _ in range(context_words)] + words[1:-1]
        templates.append(" ".join(words) + rng.choice([" ?", " ."]))
    return templates


def _segment_templates(rng: random.Random, pool: Sequence[str], words: int, with_topic: int) -> List[str]:
    templates = []
    for index in range(TEMPLATES_PER_KIND):
        body = [rng.choice(pool) for _ in range(words)]
        if index < with_topic:
            body.insert(rng.randint(1, words - 1), "{topic}")
        templates.append(" ".join(body) + " .")
    return templates


def made_up_spec(objectives: Sequence[str], seed: int = 0, categories_per_objective: int = 1, filler_segments: int = 0,
                 segment_words: int = 8, topics: int = 24, context_words: int = 0, name: str = "world") -> WorldSpec:
    """A ``WorldSpec`` over ``objectives`` with a vocabulary made up from ``seed``; categories are named
    ``<objective>_ask`` (``<objective>_ask<i>`` with several per objective). ``context_words`` shared words after
    the category's frame words make longer prompts whose cue comes first."""
    if categories_per_objective < 1 or segment_words < 2 or context_words < 0:
        raise ValueError(f"categories_per_objective must be ≥ 1, segment_words ≥ 2 and context_words ≥ 0, got "
                         f"{categories_per_objective}, {segment_words}, {context_words}")
    rng = random.Random(seed)
    taken: set = set()
    topic_words = made_up_words(rng, topics, taken)
    shared = made_up_words(rng, 6, taken)
    verbs = made_up_words(rng, 8, taken)
    category_objective, prompt_templates = {}, {}
    for objective in objectives:
        for index in range(categories_per_objective):
            category = f"{objective}_ask" + (str(index) if categories_per_objective > 1 else "")
            category_objective[category] = objective
            prompt_templates[category] = _prompt_templates(rng, made_up_words(rng, 3, taken), shared, context_words)
    segments = {kind: _segment_templates(rng, made_up_words(rng, 10, taken), segment_words,
                                         with_topic=3 if kind != "filler" else 2)
                for kind in list(objectives) + ["filler"]}
    return WorldSpec(objectives=list(objectives), category_objective=category_objective, topics=topic_words,
                     verbs={category: list(verbs) for category in category_objective}, prompt_templates=prompt_templates,
                     segments=segments, filler_segments=filler_segments, name=name, seed=seed)
