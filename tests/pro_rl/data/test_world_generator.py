"""Generated toy worlds: the shipped world's rules for any K, categories and vocabulary; world.json; determinism."""

import json
import math
import sys
from pathlib import Path

import pytest

from pro_rl.data import toy_world
from pro_rl.data.world_generator import REWARDS_MODULE, WORLD_FILE, World, WorldSizes, WorldSpec, load_world, main, write_world
from pro_rl.data.world_vocabulary import made_up_spec

SMALL = WorldSizes(pairs_per_objective=80, general_pairs=200, prompts=20, eval_prompts=60, sft=30)


def read_rows(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module", params=[(["brief", "warm"], 1, 0), (["accurate", "concise", "polite", "creative"], 2, 3)],
                ids=["K2", "K4-two-categories-long"])
def generated(request, tmp_path_factory):
    """A written world (K = 2; K = 4 with two categories per objective and three filler segments) and its rows."""
    objectives, per_objective, fillers = request.param
    spec = made_up_spec(objectives, seed=5, categories_per_objective=per_objective, filler_segments=fillers)
    directory = tmp_path_factory.mktemp("world")
    paths = write_world(World(spec), directory, seed=5, sizes=SMALL)
    return load_world(directory), directory, {name: read_rows(path) for name, path in paths.items() if path.suffix == ".jsonl"}


def test_write_world_writes_every_file_with_the_sizes(generated):
    world, directory, rows = generated
    expected = {**{f"pairs_{o}": SMALL.pairs_per_objective for o in world.objectives}, "general_pairs": SMALL.general_pairs,
                "prompts": SMALL.prompts, "eval_prompts": SMALL.eval_prompts, "sft": SMALL.sft}
    assert {name: len(table) for name, table in rows.items()} == expected
    described = json.loads((directory / WORLD_FILE).read_text())
    assert described["objectives"] == list(world.objectives) and described["version"] == 1
    assert list(described["category_objective"]) == list(world.categories)
    assert described["sizes"]["general_pairs"] == SMALL.general_pairs and described["data_seed"] == 5


def test_w_star_is_on_the_simplex_and_favours_the_category_objective(generated):
    world, _, rows = generated
    assert {row["category"] for row in rows["eval_prompts"]} == set(world.categories)
    for row in rows["eval_prompts"]:
        weights = row["weights"]
        assert list(weights) == list(world.objectives) and all(value > 0 for value in weights.values())
        assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9)
        assert max(weights, key=weights.get) == world.spec.category_objective[row["category"]]
        assert weights[max(weights, key=weights.get)] == pytest.approx(0.7)


def test_objective_pairs_prefer_their_objective(generated):
    world, _, rows = generated
    for objective in world.objectives:
        for row in rows[f"pairs_{objective}"]:
            chosen, rejected = world.objective_rewards(row["chosen"]), world.objective_rewards(row["rejected"])
            assert world.segment_kinds(row["chosen"]) == [objective] and chosen[objective] == 1.0
            assert rejected[objective] < chosen[objective]


def test_general_pairs_labels_agree_with_w_star(generated):
    world, _, rows = generated
    for row in rows["general_pairs"]:
        weights = world.true_weights(row["category"])
        assert world.scalarised_truth(row["chosen"], weights) > world.scalarised_truth(row["rejected"], weights)
        assert world.spec.category_objective[row["category"]] in world.segment_kinds(row["chosen"])


def test_filler_segments_lengthen_every_response(generated):
    world, _, rows = generated
    fillers = world.spec.filler_segments
    for row in rows["general_pairs"][:50]:
        segments = row["chosen"].count(" .")  # every made-up template ends with " ."
        assert segments == len(world.segment_kinds(row["chosen"])) + fillers


def test_same_seed_same_files_other_seed_different(tmp_path):
    spec = made_up_spec(["a", "b", "c"], seed=1)
    assert made_up_spec(["a", "b", "c"], seed=1) == spec and made_up_spec(["a", "b", "c"], seed=2) != spec
    first = write_world(World(spec), tmp_path / "x", seed=1, sizes=SMALL)
    again = write_world(World(made_up_spec(["a", "b", "c"], seed=1)), tmp_path / "y", seed=1, sizes=SMALL)
    other = write_world(World(spec), tmp_path / "z", seed=2, sizes=SMALL)
    for name in ["pairs_a", "general_pairs", "eval_prompts", "sft", "world"]:
        assert first[name].read_bytes() == again[name].read_bytes()
    assert first["general_pairs"].read_bytes() != other["general_pairs"].read_bytes()


def test_segments_of_one_kind_never_match_another_kind():
    world = World(made_up_spec(["a", "b", "c", "d"], seed=3, filler_segments=2))
    for kind in list(world.objectives) + ["filler"]:
        for template in world.spec.segments[kind]:
            found = world.segment_kinds(" " + template.format(topic=world.spec.topics[0]))
            assert found == ([kind] if kind != "filler" else []), template


def test_reward_module_of_a_written_world_scores_the_ground_truth(tmp_path, monkeypatch):
    from pro_rl.models.builders import load_function

    world = World(made_up_spec(["x", "y"], seed=4))
    write_world(world, tmp_path, seed=0, sizes=SMALL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, REWARDS_MODULE[:-3], raising=False)
    response = " " + world.spec.segments["x"][0].format(topic="zz") + " " + world.spec.segments["y"][3]
    reward = load_function("world_rewards:x_reward")
    # its own kind (1) minus one intruding kind (0.3); a filler alone scores 0
    assert reward(["p", "p"], [response, " " + world.spec.segments["filler"][3]]) == pytest.approx([0.7, 0.0])
    assert load_function("world_rewards:y_reward")(["p"], [response]) == pytest.approx([0.7])
    sys.modules.pop(REWARDS_MODULE[:-3], None)


def test_the_shipped_world_is_a_world_and_regenerates_byte_identical(tmp_path):
    assert toy_world.WORLD.objectives == toy_world.OBJECTIVES and toy_world.WORLD.spec.filler_segments == 0
    paths = toy_world.generate(tmp_path, seed=0)
    for name, path in paths.items():
        assert (toy_world.shipped_dir() / path.name).read_bytes() == path.read_bytes(), name


def test_spec_errors_are_one_line():
    spec = made_up_spec(["a", "b"], seed=0)
    bad = [dict(objectives=["a"]), dict(objectives=["a", "filler"]), dict(main_weight=0.4), dict(filler_segments=-1),
           dict(category_objective={"a_ask": "a"})]
    for change in bad:
        fields = {**spec.__dict__, **change}
        with pytest.raises(ValueError) as error:
            World(WorldSpec(**fields))
        assert "\n" not in str(error.value)


def test_cli_writes_a_world(tmp_path, capsys):
    main([str(tmp_path / "w"), "--objectives", "p,q,r", "--seed", "2", "--filler-segments", "1", "--scale", "0.02"])
    assert f"world: {tmp_path / 'w' / WORLD_FILE}" in capsys.readouterr().out.splitlines()
    world = load_world(tmp_path / "w")
    assert world.objectives == ("p", "q", "r") and world.spec.filler_segments == 1
    assert len(read_rows(tmp_path / "w" / "general_pairs.jsonl")) == 60  # 3000 × 0.02
