import json
import random

import pytest

from pro_rl.data.toy_world import shipped_dir, true_weights
from pro_rl.data.toy_world_oracle import prompt_category, true_prompt_weights, world_prompt_weights
from pro_rl.data.world_generator import World
from pro_rl.data.world_vocabulary import made_up_spec


@pytest.mark.parametrize("name", ["prompts", "eval_prompts"])
def test_every_shipped_prompt_gets_its_recorded_category(name):
    rows = [json.loads(line) for line in (shipped_dir() / f"{name}.jsonl").read_text().splitlines()]
    assert [prompt_category(row["prompt"]) for row in rows] == [row["category"] for row in rows]


def test_true_prompt_weights_match_the_held_out_truth():
    rows = [json.loads(line) for line in (shipped_dir() / "eval_prompts.jsonl").read_text().splitlines()[:20]]
    assert true_prompt_weights([row["prompt"] for row in rows]) == [row["weights"] for row in rows]
    assert true_prompt_weights(["how do i fix my bike ?"]) == [true_weights("howto")]


def test_a_prompt_from_elsewhere_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"not a prompt of this world \(matches categories \[\]\)"):
        prompt_category("\n\nHuman: what is the capital of france ?\n\nAssistant:")


def test_a_generated_world_reads_its_own_prompts_back():
    world = World(made_up_spec(["a", "b", "c", "d"], seed=3, categories_per_objective=2))
    rng = random.Random(0)
    rows = [world.prompt_row(rng, with_truth=True) for _ in range(40)]
    assert world_prompt_weights(world, [row["prompt"] for row in rows]) == [row["weights"] for row in rows]
    assert len({row["category"] for row in rows}) > 4  # several categories per objective were drawn
