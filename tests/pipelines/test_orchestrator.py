"""The orchestrator pipeline with each router objective (``orchestrator.objective``), end to end in seconds.

The toy world's ground-truth reward functions stand in for trained reward models (same scorer interface, no model
to train), and 300 pairs with 40 steps keep each run short on CPU (this file: 7.5 s on 2 cores at load 4, about a
minute at load 20). What is checked: the run trains, the saved directory is served unchanged by
``OrchestratorPredictor`` (what the orchestrator actor and ``pro-rl weights`` load), and the bag-of-words baseline of a
``pro_kl`` run is saved beside it and served with ``router="bag_of_words"``.
"""

import json
from pathlib import Path

import pytest
import torch

import pipelines
from pro_rl.cli import main
from pro_rl.models.scoring import OrchestratorPredictor

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "orchestrator.yaml"
OBJECTIVES = ["helpful", "harmless", "humor"]
pytestmark = pytest.mark.slow
PROMPTS = ["\n\nHuman: how do i fix my bike ?\n\nAssistant:", "\n\nHuman: tell me a joke about a dog .\n\nAssistant:"]


def run_router(output_dir: Path, objective: str):
    return pipelines.run(str(CONFIG), [
        f"run.output_dir={output_dir}", "run.progress=false", f"orchestrator.objective={objective}",
        *[f"reward_models.{i}.model=pro_rl.data.toy_world:{name}_reward" for i, name in enumerate(OBJECTIVES)],
        "data.max_rows=300", "orchestrator.training.max_steps=40", "orchestrator.training.batch_size=16",
        "orchestrator.training.learning_rate=3.0e-3",
    ])


@pytest.fixture(scope="module")
def router_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("routers")
    return {objective: run_router(root / objective, objective) for objective in ("pro_kl", "bradley_terry")}


def test_pro_kl_run_reports_kl_and_saves_the_bag_of_words_baseline(router_runs):
    result = router_runs["pro_kl"]
    final = result.output_dir / "final" / "orchestrator"
    assert result.metrics["eval/kl"] >= 0 and 0 <= result.metrics["eval/w_star/argmax_agreement"] <= 1
    assert (final / "bag_of_words.safetensors").is_file()
    baseline = OrchestratorPredictor(str(final), device="cpu", router="bag_of_words")
    weights = baseline.predict(PROMPTS)
    assert weights.shape == (2, 3) and weights.dtype == torch.float64
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert baseline.model is None and baseline.objectives == OBJECTIVES


def test_bradley_terry_gate_learns_from_both_responses_and_is_saved_like_the_orchestrator(router_runs):
    result = router_runs["bradley_terry"]
    final = result.output_dir / "final" / "orchestrator"
    # uniform weights give these 30 held-out pairs a loss of 0.640 and order 0.80 of them right; w* gives 0.292
    # and 1.0 (measured on the same z-scored ground-truth rewards): the gate must beat uniform
    assert result.metrics["eval/gate/pair_accuracy"] >= 0.85
    assert 0.29 < result.metrics["eval/gate/loss"] < 0.55
    assert "eval/kl" not in result.metrics and 0 <= result.metrics["eval/w_star/argmax_agreement"] <= 1
    saved = json.loads((final / "reward_normalisation.json").read_text())
    assert saved["objective"] == "bradley_terry" and saved["bt_beta"] == 1.0 and len(saved["mean"]) == 3
    weights = OrchestratorPredictor(str(final), device="cpu").predict(PROMPTS)
    assert weights.shape == (2, 3)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-6)


def test_pro_rl_weights_serves_the_gate(router_runs, capsys):
    final = router_runs["bradley_terry"].output_dir / "final" / "orchestrator"
    assert main(["weights", "--orchestrator", str(final), "--device", "cpu", "how do i fix my bike ?"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(row["weights"]) == OBJECTIVES and sum(row["weights"].values()) == pytest.approx(1.0, abs=1e-6)
