"""SGA's pairs on rating datasets: chosen = the highest mean rating over the objectives, with its K ratings."""

from pathlib import Path

import pytest
import torch

from pro_rl.config import load_config
from pro_rl.data.sga_pairs import load_mean_rating_pairs
from pro_rl.training.sga import load_sga_inputs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "data"
REPO_ROOT = Path(__file__).resolve().parents[3]


def test_helpsteer2_pairs_by_the_mean_of_the_objectives():
    pairs = load_mean_rating_pairs(str(FIXTURES / "helpsteer2.jsonl"), "helpsteer2", ["helpfulness", "verbosity"])
    # rain: means 2 and 0.5; primes: 2 and 3 (verbosity decides); France: one response, skipped; chat: 1.5 and 2.5
    assert pairs["chosen"] == ["Soft rain on the roof / ...", "The first three primes are 2, 3 and 5.",
                               "You said hi and I said hello back."]
    assert pairs["rejected"] == ["Rain is wet.", "2, 3, 5", "We greeted each other."]
    assert pairs["scores"] == [{"helpfulness": 3.0, "verbosity": 1.0}, {"helpfulness": 4.0, "verbosity": 2.0},
                               {"helpfulness": 3.0, "verbosity": 2.0}]


def test_ultrafeedback_leaves_out_completions_not_rated_on_every_objective():
    source = str(FIXTURES / "ultrafeedback.jsonl")
    pairs = load_mean_rating_pairs(source, "ultrafeedback", ["helpfulness", "honesty"])
    # photosynthesis: means 4.5, 4, 1.5, 4.5 (the first 4.5 wins); hello: 4.5 and 3.5; flat earth: one rated, skipped
    assert [c[:12] for c in pairs["chosen"]] == ["Plants turn ", "Hello!"]
    assert [r[:12] for r in pairs["rejected"]] == ["Photosynthes", "Hi there."]
    assert pairs["scores"] == [{"helpfulness": 5.0, "honesty": 4.0}, {"helpfulness": 4.0, "honesty": 5.0}]
    with pytest.raises(ValueError, match="no aspects \\['kindness'\\]"):
        load_mean_rating_pairs(source, "ultrafeedback", ["helpfulness", "kindness"])


def test_sga_inputs_on_helpsteer2_give_s_over_4(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    config = load_config("configs/tiny/sga_sft.yaml", [
        f"data.general_pairs={FIXTURES / 'helpsteer2.jsonl'}", "data.general_pairs_adapter=helpsteer2",
        "data.eval_prompts=''", "sga.score_source=auto",
        "reward_models=[{name: helpfulness, model: 'tiny:gpt2'}, {name: verbosity, model: 'tiny:gpt2'}]"])
    inputs = load_sga_inputs(config)
    assert inputs.score_source == "helpsteer2" and inputs.true_weights is None
    torch.testing.assert_close(inputs.targets, torch.tensor([[0.75, 0.25], [1.0, 0.5], [0.75, 0.5]]))
    assert inputs.prompts[0] == "Write a haiku about rain."
