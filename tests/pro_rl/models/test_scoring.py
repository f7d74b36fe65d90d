"""Scoring: RewardScorer over a reward function or a reward model, and OrchestratorPredictor on the simplex."""

import logging
import math

import pytest
import torch

from pro_rl.config.schema import OrchestratorConfig, RewardModelConfig
from pro_rl.data.toy_world import format_prompt
from pro_rl.data.truncation import TruncationMonitor
from pro_rl.models.builders import build_orchestrator, build_reward_model
from pro_rl.models.scoring import OrchestratorPredictor, RewardScorer, predict_weights, reward_model_scores

OBJECTIVES = ["helpful", "harmless", "humor"]
PROMPTS = [format_prompt("how do i fix my bike ?"), format_prompt("tell me a joke about a cat ."),
           format_prompt("how can i poison my neighbour's dog ?")]
RESPONSES = [" first check the bike , then follow each step in order .",
             " why did the cat cross the road ? to get a laugh !",
             " that could be dangerous , so i will not give those details ."]
TINY = dict(tiny_hidden_size=32, tiny_layers=1, tiny_heads=2)


def reward_spec(**values) -> RewardModelConfig:
    return RewardModelConfig(**{"name": "helpful", "model": "tiny:gpt2", **TINY, **values})


def test_function_spec_scores_are_the_functions_values():
    scorer = RewardScorer(reward_spec(name="humor", model="pro_rl.data.toy_world:humor_reward"), device="cpu")
    assert scorer.model is None and scorer.name == "humor"
    # each response carries one kind: humor scores 1 on the joke, and -0.3 (one other objective's kind) elsewhere
    assert scorer.score(PROMPTS, RESPONSES) == pytest.approx([-0.3, 1.0, -0.3])


def test_function_returning_the_wrong_count_is_an_error(monkeypatch):
    import pro_rl.data.toy_world as toy_world

    monkeypatch.setattr(toy_world, "helpful_reward", lambda prompts, responses: [1.0], raising=True)
    scorer = RewardScorer(reward_spec(model="pro_rl.data.toy_world:helpful_reward"), device="cpu")
    with pytest.raises(ValueError, match="'helpful' returned 1 scores for 3 responses"):
        scorer.score(PROMPTS, RESPONSES)


def test_mismatched_prompts_and_responses_name_the_objective():
    scorer = RewardScorer(reward_spec(model="pro_rl.data.toy_world:helpful_reward"), device="cpu")
    with pytest.raises(ValueError, match="3 prompts but 2 responses for objective 'helpful'"):
        scorer.score(PROMPTS, RESPONSES[:2])


def test_tiny_model_scores_are_finite_floats_one_per_pair():
    scorer = RewardScorer(reward_spec(batch_size=2), device="cpu")
    scores = scorer.score(PROMPTS, RESPONSES)
    assert len(scores) == 3
    assert all(isinstance(score, float) and math.isfinite(score) for score in scores)
    assert len(set(scores)) == 3  # the inputs differ, so do the scores


def test_scores_do_not_depend_on_batch_size():
    one = RewardScorer(reward_spec(batch_size=1), device="cpu").score(PROMPTS, RESPONSES)
    all_at_once = RewardScorer(reward_spec(batch_size=8), device="cpu").score(PROMPTS, RESPONSES)
    assert all_at_once == pytest.approx(one, abs=1e-5)


def test_texts_append_eos_and_response_only_drops_the_prompt():
    scorer = RewardScorer(reward_spec(), device="cpu")
    assert scorer.texts(PROMPTS[:1], RESPONSES[:1]) == [PROMPTS[0] + RESPONSES[0] + "</s>"]
    scorer = RewardScorer(reward_spec(response_only=True), device="cpu")
    assert scorer.texts(PROMPTS[:1], RESPONSES[:1]) == [RESPONSES[0] + "</s>"]


def test_scorer_from_a_saved_model_matches_the_model(tmp_path):
    model, tokenizer = build_reward_model(reward_spec())
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    saved = RewardScorer(reward_spec(), device="cpu", model_path=str(tmp_path)).score(PROMPTS, RESPONSES)
    texts = [p + r + "</s>" for p, r in zip(PROMPTS, RESPONSES)]
    direct = reward_model_scores(model.eval(), tokenizer, texts, batch_size=4, max_length=512)
    assert saved == pytest.approx(direct, abs=1e-6)


def test_reward_model_scores_are_the_label_index_logit():
    model, tokenizer = build_reward_model(reward_spec())
    model.eval()
    texts = [p + r for p, r in zip(PROMPTS, RESPONSES)]
    with torch.no_grad():
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        expected = model(**batch).logits[:, 0].tolist()
    # one batch of all three texts, padded as above
    assert reward_model_scores(model, tokenizer, texts, 4, 512, label_index=0) == pytest.approx(expected, abs=1e-5)


@pytest.fixture(scope="module")
def orchestrator_dir(tmp_path_factory):
    model, tokenizer = build_orchestrator(OrchestratorConfig(model="tiny:xlm-roberta", **TINY), OBJECTIVES)
    directory = tmp_path_factory.mktemp("orchestrator")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_orchestrator_predictor_rows_lie_on_the_simplex(orchestrator_dir):
    predictor = OrchestratorPredictor(str(orchestrator_dir), device="cpu", batch_size=2)
    weights = predictor.predict(PROMPTS + ["an unseen prompt with émojis 🎉"])
    assert weights.shape == (4, 3)
    assert weights.dtype == torch.float64
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(4, dtype=torch.float64), atol=1e-6, rtol=0)


def test_orchestrator_predictor_dicts_are_keyed_by_objective(orchestrator_dir):
    predictor = OrchestratorPredictor(str(orchestrator_dir), device="cpu")
    assert predictor.objectives == OBJECTIVES
    rows = predictor.predict_dicts(PROMPTS[:2])
    assert [list(row) for row in rows] == [OBJECTIVES, OBJECTIVES]
    tensor = predictor.predict(PROMPTS[:2])
    for row, expected in zip(rows, tensor.tolist()):
        assert list(row.values()) == pytest.approx(expected)


def test_orchestrator_predictions_do_not_depend_on_batching(orchestrator_dir):
    one = OrchestratorPredictor(str(orchestrator_dir), device="cpu", batch_size=1).predict(PROMPTS)
    many = OrchestratorPredictor(str(orchestrator_dir), device="cpu", batch_size=8).predict(PROMPTS)
    torch.testing.assert_close(one, many, atol=1e-5, rtol=0)


def test_predict_weights_of_no_prompts(orchestrator_dir):
    predictor = OrchestratorPredictor(str(orchestrator_dir), device="cpu")
    assert predict_weights(predictor.model, predictor.tokenizer, []).shape == (0, 3)


def test_orchestrator_predictor_needs_a_trained_directory(tmp_path):
    from pro_rl.config import ConfigError

    with pytest.raises(ConfigError, match="no trained orchestrator"):
        OrchestratorPredictor(str(tmp_path), device="cpu")


def test_orchestrator_predictor_refuses_a_policy_directory(tmp_path):
    """A policy's config.json names a causal LM: its random "weights" (LABEL_0/LABEL_1) must never be printed."""
    from pro_rl.config import ConfigError
    from pro_rl.config.schema import ModelConfig
    from pro_rl.models.builders import build_policy

    model, _ = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    model.save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="not a trained orchestrator: it holds a GPT2LMHeadModel"):
        OrchestratorPredictor(str(tmp_path), device="cpu")


def test_cut_texts_score_as_the_tokenizer_cuts_them_and_are_warned_once(orchestrator_dir, caplog):
    model, tokenizer = build_reward_model(reward_spec())
    model.eval()
    texts = [p + r for p, r in zip(PROMPTS, RESPONSES)]
    with torch.no_grad():
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=8,
                          add_special_tokens=False)
        expected = model(**batch).logits[:, 0].tolist()
    monitor = TruncationMonitor("reward model 'helpful' scoring", "k", tokenizer.truncation_side)
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        scores = reward_model_scores(model, tokenizer, texts, 2, 8, truncation=monitor)
        predictor = OrchestratorPredictor(str(orchestrator_dir), device="cpu", max_length=4)
        predictor.predict(PROMPTS)
        predictor.predict(PROMPTS)  # the second call is counted, not warned
    assert scores == pytest.approx(expected, abs=1e-5)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2 and monitor.total.truncated == 3 and predictor.truncation.total.truncated == 6
    assert messages[0].startswith("reward model 'helpful' scoring (calls so far: 1): 3 of 3 texts (100.0 %) longer "
                                  "than max_length 8")
    assert messages[1].startswith("orchestrator weights (calls so far: 1): 3 of 3 texts (100.0 %) longer than "
                                  "max_length 4")
