"""Bringing a generated world through reward models and the orchestrator with configs that name only its files.

No lengths are restated by hand (the reward models train and score at the default 512): the tiny tokenizers are
trained on the world's own text (``tiny_tokenizer_corpus: run_data``), each reward model records the length it was
trained at and is scored with it, the orchestrator's config names each reward model by its directory only (merged
by name onto the reward-model config through ``base:``), and a second orchestrator run reuses the cached scores.
"""

import json
from pathlib import Path

import pytest

import pipelines
from pro_rl.data.world_generator import World, WorldSizes, write_world
from pro_rl.data.world_vocabulary import made_up_spec
from pro_rl.models.reward_model_record import RECORD_FILE
from pro_rl.models.tokenizer import CORPUS_RECORD

pytestmark = pytest.mark.slow

TINY_BASE = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "base.yaml"
OBJECTIVES = ["alpha", "beta"]
SIZES = WorldSizes(pairs_per_objective=200, general_pairs=300, prompts=40, eval_prompts=60, sft=40)


@pytest.fixture(scope="module")
def brought(tmp_path_factory):
    root = tmp_path_factory.mktemp("bring")
    world = root / "world"
    write_world(World(made_up_spec(OBJECTIVES, seed=5, filler_segments=2)), world, seed=5, sizes=SIZES)
    entries = "\n".join(f"  - {{name: {name}, model: tiny:gpt2, data: {world}/pairs_{name}.jsonl, "
                        f"tiny_tokenizer_corpus: run_data, training: {{learning_rate: 1.0e-3}}}}"
                        for name in OBJECTIVES)
    (root / "reward_models.yaml").write_text(f"""base: {TINY_BASE}
pipeline: reward_models
run: {{output_dir: {root}/rm, progress: false, score_cache_dir: {root}/cache}}
data: {{general_pairs: {world}/general_pairs.jsonl, prompts: {world}/prompts.jsonl,
        eval_prompts: {world}/eval_prompts.jsonl, sft: {world}/sft.jsonl}}
replace_lists: [reward_models]   # the world's objectives, not the toy world's
reward_models:
{entries}
orchestrator: {{tiny_tokenizer_corpus: run_data}}
""")
    directories = "\n".join(f"  - {{name: {name}, model: {root}/rm/final/{name}}}" for name in OBJECTIVES)
    (root / "orchestrator.yaml").write_text(f"""base: reward_models.yaml
pipeline: orchestrator
run: {{output_dir: {root}/orch}}
reward_models:
{directories}
""")
    reward_models = pipelines.run(str(root / "reward_models.yaml"))
    orchestrator = pipelines.run(str(root / "orchestrator.yaml"))
    again = pipelines.run(str(root / "orchestrator.yaml"), [f"run.output_dir={root}/orch_again"])
    return {"root": root, "reward_models": reward_models, "orchestrator": orchestrator, "again": again}


def test_reward_models_learn_the_world_at_a_length_nobody_restated(brought):
    for name in OBJECTIVES:
        final = brought["root"] / "rm" / "final" / name
        assert json.loads((final / RECORD_FILE).read_text())["max_length"] == 512  # the default, trained and scored
        assert json.loads((final / "tokenizer_config.json").read_text())[CORPUS_RECORD]["corpus"] == "run_data"
        assert brought["reward_models"].metrics[f"eval/{name}/accuracy"] >= 0.8


def test_orchestrator_trains_from_directories_named_by_objective(brought):
    metrics = brought["orchestrator"].metrics
    assert metrics["eval/w_star/argmax_agreement"] >= metrics["eval/bow/argmax_agreement"] - 0.02
    saved = json.loads((brought["root"] / "orch" / "final" / "orchestrator" / "tokenizer_config.json").read_text())
    assert saved[CORPUS_RECORD]["corpus"] == "run_data"


def test_second_orchestrator_run_reuses_the_scores_and_logs_metrics(brought):
    first = (brought["root"] / "orch" / "run.log").read_text()
    second = (brought["root"] / "orch_again" / "run.log").read_text()
    assert first.count("score cache miss") == 2 and second.count("score cache hit") == 2
    assert "INFO pro_rl.metrics: step " in second
    assert brought["again"].metrics["eval/kl"] == pytest.approx(brought["orchestrator"].metrics["eval/kl"])
