"""The ``moslim`` reward source (pro_rl/rl/moslim.py): tags stripped before scoring, R and the weights of eq. 11,
the running statistics as checkpointable state, and bad tags at load time. An untrained tiny multi-head classifier
stands in for a trained one (no training needed for the plumbing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pro_rl.algorithms.moslim import moslim_reward
from pro_rl.algorithms.scalarisation import scalarise
from pro_rl.config import load_config
from pro_rl.data.conditioning import moslim_prompt, parse_moslim_tags
from pro_rl.models.multi_head import head_probabilities, load_multi_head_classifier
from pro_rl.rl import build_reward_source
from pro_rl.rl.moslim import MoslimScorer

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG = REPO_ROOT / "configs" / "tiny" / "moslim.yaml"
HEADS = {"helpful": 3, "harmless": 2, "humor": 3}
PROMPT = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"


@pytest.fixture(scope="module")
def classifier_dir(tiny_moslim_classifier_dir) -> Path:
    return tiny_moslim_classifier_dir


def source_for(classifier_dir, *overrides):
    config = load_config(CONFIG, [f"moslim.reward_model={classifier_dir}", "policy.model=tiny:gpt2", *overrides])
    return build_reward_source("moslim", config)


def test_the_scorer_strips_the_tags_and_returns_probabilities_then_targets(classifier_dir):
    tagged = moslim_prompt(PROMPT, {"helpful": 3, "humor": 1})
    scorer = MoslimScorer(str(classifier_dir), batch_size=4, max_length=96, device="cpu")
    rows = scorer.score([tagged, PROMPT], [" a tip", " a joke"])

    model, tokenizer, heads = load_multi_head_classifier(str(classifier_dir))
    expected = head_probabilities(model, tokenizer, heads, [PROMPT, PROMPT], [" a tip", " a joke"], 4, 96)
    table = torch.tensor(rows)
    assert table.shape == (2, 3 + 2 + 3 + 3)
    torch.testing.assert_close(table[:, :8], torch.cat([expected[k] for k in HEADS], dim=1))  # scored untagged
    torch.testing.assert_close(table[:, 8:], torch.tensor([[3.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))


def test_reward_matrix_weights_and_mask_give_eq_11(classifier_dir):
    source = source_for(classifier_dir)
    assert source.objectives == list(HEADS)
    prompts = [moslim_prompt(PROMPT, {"helpful": 2}), moslim_prompt(PROMPT, {"harmless": 1, "humor": 3})]
    probabilities = {"helpful": torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]),
                     "harmless": torch.tensor([[0.9, 0.1], [0.3, 0.7]]),
                     "humor": torch.tensor([[0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])}
    targets = torch.tensor([[2, 0, 0], [0, 1, 3]])
    rows = torch.cat([*probabilities.values(), targets.float()], dim=1).tolist()

    rewards = source.reward_matrix({"moslim": rows})
    # Stats after this batch (count 2): helpful class 2 mean 0.4, std 0.1 (+1e-6); harmless class 1 mean 0.6,
    # std 0.3; humor class 3 mean 0.7, std 0.1.
    expected = torch.tensor([[(0.5 - 0.4) / (0.1 + 1e-6), 0.0, 0.0],
                             [0.0, (0.3 - 0.6) / (0.3 + 1e-6), (0.6 - 0.7) / (0.1 + 1e-6)]])
    torch.testing.assert_close(rewards, expected, rtol=1e-5, atol=1e-5)
    weights = source.prompt_weights(prompts)
    torch.testing.assert_close(weights, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]))
    assert source.objective_mask(prompts).tolist() == [[True, False, False], [False, True, True]]
    stats = source.stats
    torch.testing.assert_close(scalarise(rewards, weights),
                               moslim_reward(probabilities, targets, stats.means(), stats.stds()))
    metrics = source.step_metrics()
    assert metrics["moslim/helpful/target_prob"] == pytest.approx(0.5)
    assert metrics["moslim/humor/target_prob"] == pytest.approx(0.6)
    assert metrics["data/skipped_bad_tags"] == 0.0


def test_the_statistics_are_state_that_a_fresh_source_restores(classifier_dir):
    source = source_for(classifier_dir)
    rows = [[0.2, 0.5, 0.3, 0.9, 0.1, 0.1, 0.1, 0.8, 2, 0, 3], [0.6, 0.3, 0.1, 0.3, 0.7, 0.2, 0.2, 0.6, 1, 2, 0]]
    source.reward_matrix({"moslim": rows})
    restored = source_for(classifier_dir)
    restored.load_state_dict(json.loads(json.dumps(source.state_dict())))
    batch = [[0.1, 0.1, 0.8, 0.5, 0.5, 0.3, 0.3, 0.4, 3, 1, 0]]
    torch.testing.assert_close(restored.reward_matrix({"moslim": batch}), source.reward_matrix({"moslim": batch}))
    assert restored.state_dict() == source.state_dict()
    fresh = source_for(classifier_dir)
    fresh.load_state_dict({})  # a checkpoint written before the source had state: nothing to restore
    assert fresh.state_dict() == source_for(classifier_dir).state_dict()


def test_untagged_prompts_get_seeded_random_tags_and_tagged_prompts_keep_theirs(classifier_dir):
    source = source_for(classifier_dir, "moslim.max_tags=2")
    tagged = moslim_prompt(PROMPT, {"humor": 2})
    batch = [PROMPT, tagged, PROMPT]
    first, again = source.condition_prompts(batch, seed=7), source.condition_prompts(batch, seed=7)
    assert first == again
    assert first[1] == tagged
    for prompt in (first[0], first[2]):
        stripped, targets = parse_moslim_tags(prompt, HEADS)
        assert stripped == PROMPT and 1 <= len(targets) <= 2
    seen = {tuple(sorted(parse_moslim_tags(source.condition_prompts([PROMPT], seed)[0], HEADS)[1].items()))
            for seed in range(40)}
    assert len(seen) > 5  # the draw depends on the step's seed


def test_bad_tags_are_an_error_naming_the_row_or_a_counted_skip(classifier_dir):
    prompts = [PROMPT, "\n\nHuman: <helpful 9> hi\n\nAssistant:", "\n\nHuman: <kindness 1> hi\n\nAssistant:",
               moslim_prompt(PROMPT, {"harmless": 2})]
    with pytest.raises(ValueError, match=r"prompts.jsonl: row 2: bad MOSLIM tag: intensity 9 .* out of 1..3"):
        source_for(classifier_dir).check_prompts(prompts, "prompts.jsonl")
    skipping = source_for(classifier_dir, "moslim.on_bad_tag=skip")
    assert skipping.check_prompts(prompts, "prompts.jsonl") == [prompts[0], prompts[3]]
    assert skipping.step_metrics()["data/skipped_bad_tags"] == 2.0


def test_validation_of_a_moslim_run(classifier_dir, tmp_path):
    base = [f"moslim.reward_model={classifier_dir}", "policy.model=tiny:gpt2"]
    assert load_config(CONFIG, base).weights.mode == "reward_source"
    cases = {
        "algorithm.normalise_rewards=true": "key 'algorithm.normalise_rewards': must be false with MOSLIM",
        "weights.mode=uniform": "key 'weights.mode': 'uniform', but MOSLIM's weights come from each prompt's tags",
        "algorithm.reward_source=reward_models": "key 'algorithm.reward_source': the moslim pipeline scores with",
        "moslim.levels.humor=4": "key 'moslim.levels':",
        "moslim.min_tags=4": "key 'moslim.min_tags': 4 must lie in 1..min",
        "moslim.on_bad_tag=ignore": "key 'moslim.on_bad_tag': 'ignore' is not one of error, skip",
        f"moslim.reward_model={tmp_path}": "key 'moslim.reward_model':",
    }
    from pro_rl.config import ConfigError

    for override, message in cases.items():
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
            load_config(CONFIG, [*base, override])
    with pytest.raises(ConfigError, match="key 'weights.mode': 'reward_source' but algorithm.reward_source "
                                          "'reward_models' gives no per-prompt weights"):
        load_config(REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml",
                    ["weights.mode=reward_source", "policy.model=tiny:gpt2", "orchestrator.path=''",
                     *[f"reward_models.{i}.model=tiny:gpt2" for i in range(3)]])


def counting_parser(monkeypatch):
    """Patch the module's ``parse_moslim_tags`` to count its calls per prompt; the counts."""
    import pro_rl.rl.moslim as moslim

    calls = {}

    def counted(prompt, levels):
        calls[prompt] = calls.get(prompt, 0) + 1
        return parse_moslim_tags(prompt, levels)

    monkeypatch.setattr(moslim, "parse_moslim_tags", counted)
    return calls


def test_the_tag_parser_parses_each_prompt_once_and_forgets_the_oldest(monkeypatch):
    from pro_rl.data.conditioning import MoslimTagError
    from pro_rl.rl.moslim import TagParser

    calls = counting_parser(monkeypatch)
    parser = TagParser(HEADS, size=2)
    prompts = [moslim_prompt(PROMPT, {"helpful": 3, "humor": 1}), PROMPT, moslim_prompt(PROMPT, {"harmless": 2})]
    assert parser(prompts[0]) == parse_moslim_tags(prompts[0], HEADS) == (PROMPT, {"helpful": 3, "humor": 1})
    parser(prompts[0])[1]["helpful"] = 1  # a caller changing its copy leaves the remembered targets alone
    assert parser(prompts[0]) == (PROMPT, {"helpful": 3, "humor": 1}) and calls == {prompts[0]: 1}
    parser(prompts[1]), parser(prompts[0]), parser(prompts[2])  # size 2: prompts[1] is the least recent, forgotten
    parser(prompts[0]), parser(prompts[1])
    assert calls == {prompts[0]: 1, prompts[1]: 2, prompts[2]: 1}
    bad = "\n\nHuman: <helpful 9> hi\n\nAssistant:"
    for _ in range(2):
        with pytest.raises(MoslimTagError, match="intensity 9"):
            parser(bad)
    assert calls[bad] == 2
    with pytest.raises(ValueError, match="size"):
        TagParser(HEADS, size=0)


def test_a_step_parses_each_prompt_once_with_the_same_weights_and_mask(classifier_dir, monkeypatch):
    source = source_for(classifier_dir)
    batch = source.condition_prompts([PROMPT, moslim_prompt(PROMPT, {"humor": 2})], seed=3)
    weights, mask = source.prompt_weights(batch), source.objective_mask(batch)
    calls = counting_parser(monkeypatch)
    fresh = source_for(classifier_dir)
    assert fresh.condition_prompts([PROMPT, batch[1]], seed=3) == batch
    torch.testing.assert_close(fresh.prompt_weights(batch), weights)
    assert fresh.objective_mask(batch).tolist() == mask.tolist() and mask[1].tolist() == [False, False, True]
    assert calls == {PROMPT: 1, batch[0]: 1, batch[1]: 1}
