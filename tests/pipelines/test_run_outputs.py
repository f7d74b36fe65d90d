"""``pipelines.run`` leaves ``summary.json`` and a model card in each ``final/<name>/`` — a tiny reward-model run."""

import json
from pathlib import Path

import pytest
import yaml

import pipelines

REPO_ROOT = Path(__file__).resolve().parents[2]
OBJECTIVES = ("helpful", "harmless", "humor")


@pytest.fixture(scope="module")
def reward_models_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("rm") / "run"
    steps = [f"reward_models.{i}.training.max_steps=2" for i in range(len(OBJECTIVES))]
    return pipelines.run(str(REPO_ROOT / "configs" / "tiny" / "reward_models.yaml"),
                         [f"run.output_dir={output}", "run.progress=false", "data.max_rows=64", *steps])


def test_summary_json(reward_models_run):
    output = reward_models_run.output_dir
    summary = json.loads((output / "summary.json").read_text())
    assert summary["pipeline"] == "reward_models" and summary["run_name"] == "tiny-reward-models"
    assert summary["metrics"] == pytest.approx(reward_models_run.metrics)
    assert {f"eval/{name}/accuracy" for name in OBJECTIVES} <= set(summary["metrics"])
    assert 0 < summary["wall_time_s"] < 600 and summary["driver_peak_rss_mib"] > 50
    outputs = summary["outputs"]
    assert outputs["final"] == {name: f"final/{name}" for name in sorted(OBJECTIVES)}
    assert outputs["model_cards"] == [f"final/{name}/README.md" for name in sorted(OBJECTIVES)]
    assert outputs["metrics"] == "metrics.jsonl" and outputs["config"] == "config.yaml"
    assert all((output / path).exists() for path in [*outputs["final"].values(), *outputs["model_cards"]])


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_model_card_of_each_final_model(reward_models_run, objective):
    path = reward_models_run.output_dir / "final" / objective / "README.md"
    text = path.read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "transformers" and meta["tags"] == ["pro-rl", "reward-model"]
    assert f"eval/{objective}/accuracy" in text
    huggingface_hub = pytest.importorskip("huggingface_hub")
    assert huggingface_hub.ModelCard.load(path).data.tags == ["pro-rl", "reward-model"]
