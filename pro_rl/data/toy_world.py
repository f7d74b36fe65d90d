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

The rules live in ``world_generator.World``, which applies them to any objectives, categories and vocabulary
(generated worlds); this module holds the shipped vocabulary, ``WORLD`` (that class over it), and the functions
above as ``WORLD``'s methods. Its files are byte-identical to those of the generator it replaced.

Graded intensities (MOSLIM). A response expresses objective k with the intensity c_k = the number of k's segments it
carries (``toy_world_intensities.objective_intensities``); MOSLIM's classifier predicts the intensity *class* 1..n_k of each objective,
``intensity_class(c_k, n_k) = min(c_k, n_k − 1) + 1`` (class 1: absent; n_k: n_k − 1 segments or more), with
n_k = ``MOSLIM_LEVELS[k]``. The files above carry at most one segment per kind (c_k ∈ {0, 1}), so they, their
rewards and their tests are unchanged; ``moslim_rows`` draws responses with 0..n_k − 1 segments of each kind and
labels them ``{"prompt", "response", "labels": {objective: class}}``; a seeded fraction of labels is null, like rows
of a dataset that annotates only some objectives.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Dict

from pro_rl.data.world_generator import World, WorldSizes, WorldSpec, format_prompt  # noqa: F401  (format_prompt re-exported)

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


ToyWorldSizes = WorldSizes  # the shipped world's file sizes (the defaults of every generated world)

WORLD = World(WorldSpec(
    objectives=list(OBJECTIVES), category_objective=dict(CATEGORY_OBJECTIVE), topics=list(TOPICS),
    verbs={category: list(RISKY_VERBS if category == "risky" else HOWTO_VERBS) for category in CATEGORIES},
    prompt_templates={category: list(templates) for category, templates in PROMPT_TEMPLATES.items()},
    segments={kind: list(templates) for kind, templates in SEGMENTS.items()},
    main_weight=MAIN_WEIGHT, intrusion_penalty=INTRUSION_PENALTY, name="toy_world",
))
"""The shipped world as a ``World``: the functions below are its methods."""

true_weights = WORLD.true_weights
segment_kinds = WORLD.segment_kinds
objective_rewards = WORLD.objective_rewards
scalarised_truth = WORLD.scalarised_truth
corpus = WORLD.corpus
_question = WORLD.question
_segment = WORLD.segment
_response = WORLD.response
SEGMENT_PATTERNS = WORLD.segment_patterns

helpful_reward = WORLD.reward_function("helpful")
harmless_reward = WORLD.reward_function("harmless")
humor_reward = WORLD.reward_function("humor")


def generate(output_dir: str | Path, seed: int = 0, sizes: WorldSizes | None = None) -> Dict[str, Path]:
    """Write the toy world's JSONL files into ``output_dir``; returns {name: path}. Same seed, same files."""
    return WORLD.generate(output_dir, seed=seed, sizes=sizes)


def shipped_dir() -> Path:
    """The generated copy that ships with the package (``generate(..., seed=0)`` with default sizes)."""
    return Path(str(resources.files("pro_rl.data") / "toy_world_data"))
