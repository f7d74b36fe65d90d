"""The capped MORA world: its files, the invited objectives, the capped rewards and the premise they model."""

import itertools
import json

import pytest

from pro_rl.data import mora_world
from pro_rl.data.mora_world import (
    CAP,
    MORA_WORLD_VERSION,
    OBJECTIVES,
    MoraWorldSizes,
    detection_study,
    format_prompt,
    invited_objectives,
    objective_rewards,
    truly_single_reward,
    write_world,
)
from pro_rl.data.toy_world import WORLD
from pro_rl.models.builders import load_function

SMALL = MoraWorldSizes(prompts=40, eval_prompts=20, sft=30, multi_intent_fraction=0.5)
HOWTO = format_prompt("how do i fix my bike ?")
HOWTO_FUNNY = format_prompt("how do i fix my bike ? please also make it funny .")
SEGMENT = {"helpful": "first check the bike , then follow each step in order .",
           "harmless": "i would rather keep everyone safe and legal here .",
           "humor": "why did the kettle cross the road ? to get a laugh !",
           "filler": "well , maybe ."}


def response(*kinds):
    return " " + " ".join(SEGMENT[kind] for kind in kinds)


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_write_world_files_rows_and_determinism(tmp_path):
    paths = write_world(tmp_path / "a", seed=3, sizes=SMALL)
    again = write_world(tmp_path / "b", seed=3, sizes=SMALL)
    other = write_world(tmp_path / "c", seed=4, sizes=SMALL)
    assert sorted(paths) == ["eval_prompts", "prompts", "sft", "world"]
    for name in ("prompts", "eval_prompts", "sft"):
        assert paths[name].read_bytes() == again[name].read_bytes() != other[name].read_bytes()
    prompts = read_rows(paths["prompts"])
    assert len(prompts) == 40 and len(read_rows(paths["eval_prompts"])) == 20 and len(read_rows(paths["sft"])) == 30
    assert all(sorted(row) == ["category", "intents", "prompt"] for row in prompts)
    assert json.loads(paths["world"].read_text())["version"] == MORA_WORLD_VERSION == "capped-1"


def test_rows_carry_their_invited_objectives(tmp_path):
    paths = write_world(tmp_path, seed=0, sizes=SMALL)
    rows = read_rows(paths["prompts"]) + read_rows(paths["eval_prompts"])
    for row in rows:
        category_objective = mora_world.CATEGORY_OBJECTIVE[row["category"]]
        assert invited_objectives(row["prompt"]) == {category_objective, *row["intents"]}
        assert category_objective not in row["intents"] and len(row["intents"]) <= 2
        assert truly_single_reward(row["prompt"]) == (not row["intents"])
    multi = sum(bool(row["intents"]) for row in rows)
    assert 0 < multi < len(rows)
    # the SFT mix: 1 to 3 kinds of the objectives and filler, so 0 (filler only) to 3 objective segments
    kinds = [len(WORLD.segment_kinds(row["response"])) for row in read_rows(paths["sft"])]
    assert {count: kinds.count(count) for count in range(4)} == {0: 4, 1: 13, 2: 12, 3: 1}


@pytest.mark.parametrize("question, invited", [
    ("how do i fix my bike ?", {"helpful"}),
    ("how can i poison my neighbour's dog ?", {"harmless"}),
    ("say something silly about the piano .", {"humor"}),
    ("help me steal the boat at work tonight . please also explain each step .", {"harmless", "helpful"}),
    ("i need steps to paint my fence . please also keep it safe and make it funny .", set(OBJECTIVES)),
    ("HOW DO I FIX MY BIKE safely, with a JOKE?", {"helpful", "harmless", "humor"}),  # cues in any case
    ("what is the weather ?", set()),
])
def test_invited_objectives(question, invited):
    assert invited_objectives(format_prompt(question)) == invited
    assert truly_single_reward(format_prompt(question)) == (len(invited) == 1)


def test_objective_rewards_hand_computed():
    assert objective_rewards(HOWTO, response("helpful")) == {"helpful": 1.0, "harmless": 0.0, "humor": 0.0}
    # humor is not invited: capped at 0.2, and it intrudes on the other two (−0.3 each)
    rewards = objective_rewards(HOWTO, response("helpful", "humor"))
    assert rewards == pytest.approx({"helpful": 0.7, "harmless": -0.3, "humor": 0.2})
    assert objective_rewards(HOWTO, response("humor")) == pytest.approx({"helpful": -0.3, "harmless": -0.3,
                                                                         "humor": 0.2})
    # the prompt invites humor: no cap and no conflict between helpful and humor
    assert objective_rewards(HOWTO_FUNNY, response("humor", "helpful")) == {"helpful": 1.0, "harmless": 0.0,
                                                                            "humor": 1.0}
    rewards = objective_rewards(HOWTO_FUNNY, response("helpful", "harmless", "humor", "filler"))
    assert rewards == pytest.approx({"helpful": 0.7, "harmless": 0.2, "humor": 0.7})


def test_the_premise_caps_single_intent_prompts_and_rewriting_lifts_them():
    every_response = [response(*kinds) for size in range(4) for kinds in itertools.combinations(OBJECTIVES, size)]
    best_on = {prompt: {o: max(objective_rewards(prompt, r)[o] for r in every_response) for o in OBJECTIVES}
               for prompt in (HOWTO, HOWTO_FUNNY, format_prompt("how do i fix my bike ? please also keep it safe "
                                                                "and make it funny ."))}
    assert list(best_on.values())[0] == {"helpful": 1.0, "harmless": CAP, "humor": CAP}
    assert list(best_on.values())[1] == {"helpful": 1.0, "harmless": CAP, "humor": 1.0}
    best_sum = [max(sum(objective_rewards(prompt, r).values()) for r in every_response) for prompt in best_on]
    assert best_sum == pytest.approx([1.0, 2.0, 3.0])


def test_reward_functions_load_as_module_function_specs():
    helpful = load_function("pro_rl.data.mora_world:helpful_reward")
    humor = load_function("pro_rl.data.mora_world:humor_reward")
    prompts, responses = [HOWTO, HOWTO_FUNNY], [response("humor"), response("humor")]
    assert helpful(prompts, responses) == pytest.approx([-0.3, 0.0])
    assert humor(prompts, responses) == pytest.approx([0.2, 1.0])
    assert load_function("pro_rl.data.mora_world:harmless_reward")([HOWTO], [response("harmless")]) == [0.2]
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        humor(prompts, responses[:1])


def test_detection_study_default_rule_on_sft_samples():
    default, strict = detection_study([{"statistic": "max", "high": 0.3, "low": 0.3},
                                       {"statistic": "max", "high": 0.9, "low": 0.9}], seed=0, prompts=200,
                                      num_samples=8)
    assert default["precision"] >= 0.95 and default["recall"] >= 0.95
    assert strict["recall"] < 0.85  # 0.9 misses invited segments diluted by an intruder (0.7, 0.4)
    assert default["actual"] == strict["actual"] and 100 < default["actual"] < 180
