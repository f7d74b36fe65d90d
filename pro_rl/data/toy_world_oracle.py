"""A world's true weights w*(x) read back from a prompt's text, for ``weights.mode: oracle``.

Every prompt of a toy world (``world_generator.World``) is one of its category's prompt templates filled with one of
that category's verbs and one of the world's topics; the template tells the category, and the category gives w*
(``World.true_weights``). ``true_prompt_weights`` does this for the shipped toy world: usable as
``weights.function: pro_rl.data.toy_world_oracle:true_prompt_weights``.
"""

from __future__ import annotations

import re
from typing import Dict, List, Sequence

from pro_rl.data.toy_world import WORLD
from pro_rl.data.world_generator import World


def _template_pattern(template: str, verbs: Sequence[str], topics: Sequence[str]) -> "re.Pattern[str]":
    """A template with its ``{verb}`` and ``{topic}`` slots opened to the words that can fill them."""
    pattern = re.escape(template)
    for slot, words in (("verb", verbs), ("topic", topics)):
        pattern = pattern.replace(re.escape("{" + slot + "}"), "(?:" + "|".join(map(re.escape, words)) + ")")
    return re.compile(pattern)


def category_patterns(world: World) -> Dict[str, List["re.Pattern[str]"]]:
    """Each category's prompt templates as patterns."""
    spec = world.spec
    return {category: [_template_pattern(template, spec.verbs[category], spec.topics)
                       for template in spec.prompt_templates[category]] for category in world.categories}


TOY_WORLD_PATTERNS = category_patterns(WORLD)


def prompt_category(prompt: str, patterns: Dict[str, List["re.Pattern[str]"]] = TOY_WORLD_PATTERNS) -> str:
    """The category of a world's prompt (plain question or rendered turn); a one-line ValueError otherwise."""
    found = [category for category, options in patterns.items() if any(p.search(prompt) for p in options)]
    if len(found) != 1:
        raise ValueError(f"not a prompt of this world (matches categories {found}): {prompt.strip()[:80]!r}")
    return found[0]


def world_prompt_weights(world: World, prompts: Sequence[str]) -> List[Dict[str, float]]:
    """w*(x) of each of ``world``'s prompts, as {objective: weight}."""
    patterns = TOY_WORLD_PATTERNS if world is WORLD else category_patterns(world)
    return [world.true_weights(prompt_category(prompt, patterns)) for prompt in prompts]


def true_prompt_weights(prompts: Sequence[str]) -> List[Dict[str, float]]:
    """w*(x) of each prompt of the shipped toy world, as {objective: weight}."""
    return world_prompt_weights(WORLD, prompts)
