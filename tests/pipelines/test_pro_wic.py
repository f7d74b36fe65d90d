"""PRO-WIC end to end on the toy world: a few SFT steps offline, one online iteration with orchestrator weights."""

import json

import pytest

from pipelines import run
from pro_rl.data.canonical import read_jsonl
from pro_rl.training.wic import CONDITIONING_FILE

WEIGHT_TAGS = ("<W1>", "<W2>", "<W3>")


def _tag_weights(prompt: str) -> list[float]:
    """The values after <W1>, <W2>, ... of a conditioned prompt."""
    return [float(part.split(">", 1)[1].split()[0]) for part in prompt.split("<W")[1:]]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pro_wic_tiny_run(tmp_path, tiny_orchestrator_dir, ray_cluster):
    """On the roles: the reward actors score the offline rows, the rollout engine samples the online stage."""
    result = run("configs/tiny/pro_wic.yaml", [
        f"run.output_dir={tmp_path}", f"orchestrator.path={tiny_orchestrator_dir}", "resources.reward.num_cpus=0.1",
        "wic.offline_steps=2", "wic.online_steps=1", "wic.online_iterations=1", "wic.online_prompts=4",
        "wic.samples_per_prompt=2", "rollout.max_new_tokens=8", "algorithm.prompt_batch_size=8",
    ])
    output = result.output_dir
    conditioning = json.loads((output / "final" / "policy" / CONDITIONING_FILE).read_text())
    assert conditioning["method"] == "wic" and conditioning["objectives"] == ["helpful", "harmless", "humor"]
    assert (output / "final" / "policy" / "model.safetensors").is_file()

    offline = read_jsonl(output / "stages" / "offline" / "train.jsonl")
    assert len(offline) == 2 * 1200  # every row of the shipped sft.jsonl, labelled with wic.tau and the matched τ
    for row in offline[:50]:
        assert all(tag in row["prompt"] for tag in WEIGHT_TAGS)
        assert sum(_tag_weights(row["prompt"])) == pytest.approx(1.0, abs=0.02)

    metrics = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 1]
    assert metrics[0]["wic/rows"] == len(offline)
    assert 0 <= metrics[0]["wic/label_entropy"] < 1.1  # ≤ log 3
    online = metrics[1]
    assert online["wic/online/generated"] == 8 and 1 <= online["wic/online/kept"] <= 8
    union = read_jsonl(output / "stages" / "online-1" / "train.jsonl")
    assert len(union) == online["wic/rows"] < len(offline) + 9


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ric_run_resumes_stage_by_stage(tmp_path):
    overrides = [f"run.output_dir={tmp_path}", "rollout.in_driver=true", "wic.offline_steps=2",
                 "wic.online_steps=1", "wic.online_iterations=2", "wic.online_prompts=4", "wic.samples_per_prompt=2",
                 "rollout.max_new_tokens=8", "algorithm.prompt_batch_size=8", "run.resume=auto"]
    first = run("configs/tiny/ric.yaml", overrides)
    stages = tmp_path / "stages"
    kept_first = read_jsonl(stages / "online-2" / "kept.jsonl")
    weights = {name: (stages / name / "final" / "policy" / "model.safetensors").stat().st_mtime
               for name in ("offline", "online-1")}
    # as if the run was killed while training online-2: its record is missing
    (stages / "online-2" / "stage.json").unlink()

    resumed = run("configs/tiny/ric.yaml", overrides)
    # offline and online-1 are reused, not retrained ...
    assert {name: (stages / name / "final" / "policy" / "model.safetensors").stat().st_mtime
            for name in weights} == weights
    # ... and online-2 samples the same prompts and random RiC targets as the uninterrupted run did
    assert read_jsonl(stages / "online-2" / "kept.jsonl") == kept_first
    assert resumed.metrics == first.metrics
    assert json.loads((stages / "online-2" / "stage.json").read_text())["values"]["wic/online/generated"] == 8


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pro_wic_recommended_labels_keep_the_orchestrators_weights(tmp_path, tiny_orchestrator_dir):
    from pro_rl.models.scoring import OrchestratorPredictor

    run("configs/tiny/pro_wic.yaml", [
        f"run.output_dir={tmp_path}", "rollout.in_driver=true", f"orchestrator.path={tiny_orchestrator_dir}", "wic.online_labels=recommended",
        "wic.random_fraction=0",  # every online prompt tagged with its f(x)
        "wic.offline_steps=1", "wic.online_steps=1", "wic.online_iterations=1", "wic.online_prompts=4",
        "wic.samples_per_prompt=2", "rollout.max_new_tokens=8", "algorithm.prompt_batch_size=8",
    ])
    kept = read_jsonl(tmp_path / "stages" / "online-1" / "kept.jsonl")
    assert kept
    raw_prompts = [row["prompt"].split(" <W1>")[0] for row in kept]
    predicted = OrchestratorPredictor(str(tiny_orchestrator_dir), "cpu").predict(raw_prompts)
    # eq. 11: each kept row carries the f(x) it was generated with (two decimals), not what it realised
    for row, weights in zip(kept, predicted.tolist()):
        assert _tag_weights(row["prompt"]) == pytest.approx(weights, abs=0.006)


def test_recommended_labels_are_for_weight_tags_only():
    from pro_rl.config import ConfigError, load_config
    from pro_rl.training.wic import check_wic_config

    with pytest.raises(ConfigError, match="wic.online_labels"):
        check_wic_config(load_config("configs/tiny/ric.yaml", ["wic.online_labels=recommended"]))
    with pytest.raises(ConfigError, match="wic.online_labels"):
        check_wic_config(load_config("configs/tiny/ric.yaml", ["wic.online_labels=given"]))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pro_wic_soft_labels_on_the_graded_world(tmp_path, tiny_orchestrator_dir):
    """wic.tau_mode=matched and wic.random_fraction=1 on toy world v2: the matched τ is logged and labels the rows,
    and the policy records the world version it was trained on (the random tags themselves: test_wic_conditioning)."""
    graded = "pro_rl.data.toy_world_graded"
    result = run("configs/tiny/pro_wic.yaml", [
        f"run.output_dir={tmp_path}", "rollout.in_driver=true", f"orchestrator.path={tiny_orchestrator_dir}",
        "wic.tau_mode=matched", "wic.random_fraction=1.0", "wic.offline_steps=1", "wic.online_steps=1",
        "wic.online_iterations=1", "wic.online_prompts=4", "wic.samples_per_prompt=2", "rollout.max_new_tokens=8",
        "algorithm.prompt_batch_size=8", *(f"reward_models.{i}.model={graded}:{name}_reward"
                                          for i, name in enumerate(("helpful", "harmless", "humor")))])
    conditioning = json.loads((result.output_dir / "final" / "policy" / CONDITIONING_FILE).read_text())
    assert conditioning["world"] == "toy_world v2 (graded)"
    offline = json.loads((result.output_dir / "stages" / "offline" / "stage.json").read_text())["values"]
    assert offline["wic/tau"] != 0.1 and offline["wic/label_entropy"] > 0.05
    kept = read_jsonl(result.output_dir / "stages" / "online-1" / "kept.jsonl")
    assert kept and all(sum(_tag_weights(row["prompt"])) == pytest.approx(1.0, abs=0.02) for row in kept)
