"""MORA's data stages on hand-made score tables and a scripted generator: detection, rewriting (template and a
scripted LM whose bad rewrites are counted and skipped), self-play measures before/after rewriting, max-margin pairs
with ties, in the simultaneous and sequential modes."""

import json
from contextlib import contextmanager

import pytest
import torch

from pro_rl.config import load_config
from pro_rl.data import mora_world
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.mora_rewrite import token_count
from pro_rl.models.builders import load_tokenizer
from pro_rl.rollout.base import Rollouts
from pro_rl.training.mora_mining import detect_stage, pairs_stage, rewrite_stage, selfplay_stage

SINGLE = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"  # invites helpful only
MULTI = "\n\nHuman: tell me a joke about a kettle . please also keep it safe .\n\nAssistant:"  # humor + harmless
SEGMENTS = {"helpful": "first check the bike , then follow each step in order .",
            "harmless": "that could be dangerous , so i will not give those details .",
            "humor": "why did the bike cross the road ? to get a laugh !"}


def _config(*overrides):
    return load_config("configs/tiny/mora.yaml", ["rollout.in_driver=true", "mora.samples_per_prompt=3", *overrides])


class ScriptedGenerator:
    """Answers every prompt with the same scripted responses; scores them with the capped world's rule."""

    objectives = list(mora_world.OBJECTIVES)

    def __init__(self, responses):
        self.responses, self.policies = list(responses), []

    def generate(self, prompts, num_samples, seed):
        responses = [self.responses[i % len(self.responses)] for _ in prompts for i in range(num_samples)]
        rows = len(responses)
        return Rollouts([p for p in prompts for _ in range(num_samples)], responses, [[0]] * rows, [[0]] * rows,
                        num_samples)

    def score(self, prompts, responses):
        return torch.tensor([[mora_world.objective_rewards(p, r)[k] for k in self.objectives]
                             for p, r in zip(prompts, responses)], dtype=torch.float64)

    def use_policy(self, path):
        self.policies.append(path)


def _rows(prompt, rewards, responses=None):
    return {"prompt": prompt, "original": prompt, "rewards": rewards,
            "responses": responses or [f"response {i}" for i in range(len(rewards))]}


def test_detection_on_a_hand_made_score_table(tmp_path):
    rows = [_rows("a", [[0.9, 0.1, 0.0], [0.2, 0.3, 0.1], [0.0, 0.0, 0.0]]),  # only helpful reaches 0.5: single
            _rows("b", [[0.9, 0.0, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 0.0]]),  # two reach 0.5: not single
            _rows("c", [[0.1, 0.1, 0.4], [0.0, 0.2, 0.0], [0.0, 0.0, 0.0]]),  # none reaches 0.5: not single
            _rows("d", [[0.0, 0.0, 0.2], [0.0, 0.0, 0.7], [0.1, 0.0, 0.0]])]  # only humor: single
    values = detect_stage(_config("mora.detect_high=0.5", "mora.detect_low=0.5"), rows, [True, False, True, False],
                          tmp_path)
    detected = read_jsonl(tmp_path / "detected.jsonl")
    assert [row["single_reward"] for row in detected] == [True, False, False, True]
    assert [row["dominant"] for row in detected] == ["helpful", "helpful", "humor", "humor"]
    assert (values["mined"], values["precision"], values["recall"]) == (2, 0.5, 0.5)
    # means: a (0.37, 0.13, 0.03) and d (0.03, 0, 0.3) single; b (0.3, 0.2, 0) two high; c (0.03, 0.1, 0.13) none
    mean_rule = detect_stage(_config("mora.detect_statistic=mean", "mora.detect_high=0.25", "mora.detect_low=0.14"),
                             rows, None, tmp_path)
    assert mean_rule == {"prompts": 4, "mined": 2}
    assert [row["single_reward"] for row in read_jsonl(tmp_path / "detected.jsonl")] == [True, False, False, True]


def test_template_rewrites_keep_the_question_and_the_link_and_match_the_elaboration_length(tmp_path):
    config = _config()
    tokenizer = load_tokenizer(config.policy)
    detected = [{"prompt": SINGLE, "single_reward": True, "dominant": "helpful"},
                {"prompt": MULTI, "single_reward": False, "dominant": "humor"}]
    values = rewrite_stage(config, detected, mora_world.INTENT_PHRASES, tokenizer, None, tmp_path)
    assert values["mined"] == values["kept"] == 1 and values["skipped"] == {}
    [row] = read_jsonl(tmp_path / "rewrites.jsonl")
    assert row["original"] == SINGLE and row["added"] == ["harmless", "humor"]
    assert row["rewrite"] == "\n\nHuman: how do i fix my bike ? please also keep it safe and make it funny .\n\n" \
                             "Assistant:"
    assert mora_world.invited_objectives(row["rewrite"]) == {"helpful", "harmless", "humor"}
    assert mora_world.invited_objectives(row["elaboration"]) == {"helpful"}  # longer, but no new intent
    length = token_count(tokenizer)
    assert abs(length(row["elaboration"]) - length(row["rewrite"])) <= 1 and values["length_gap/max"] <= 1
    assert row["length"] == {"original": length(SINGLE), "rewrite": length(row["rewrite"]),
                             "elaboration": length(row["elaboration"])}
    assert length(row["elaboration"]) > length(SINGLE) + 5


def test_lm_rewrites_that_fail_the_check_are_counted_by_reason_and_skipped(tmp_path):
    config = _config("mora.rewriter=lm", "mora.rewriter_model=tiny:gpt2", "mora.max_rewrite_words=30")
    answers = [" <rewrite> </rewrite>", " <rewrite>" + " very" * 40 + "</rewrite>", " <rewrite>tell me about cats",
               " <rewrite>how do i fix my bike ? and keep it safe and funny please</rewrite> and more"]
    opened, requests = [], []

    class Rewriter(ScriptedGenerator):  # answers request i with answers[i]
        def generate(self, prompts, num_samples, seed):
            requests.extend(prompts)
            rollouts = super().generate(prompts, num_samples, seed)
            rollouts.responses = answers[:len(prompts)]
            return rollouts

    @contextmanager
    def open_generator(path):
        opened.append(path)
        yield Rewriter(answers)

    detected = [{"prompt": SINGLE, "single_reward": True, "dominant": "helpful"}] * 4
    values = rewrite_stage(config, detected, mora_world.INTENT_PHRASES, load_tokenizer(config.policy),
                           open_generator, tmp_path)
    assert opened == ["tiny:gpt2"]
    assert len(requests) == 4 and "Original question: how do i fix my bike ?" in requests[0]  # Fig. 9-style
    assert "- keep it safe\n- make it funny" in requests[0]
    assert values["kept"] == 1
    assert values["skipped"] == {"mora/empty": 1, "mora/too_long": 1, "mora/question_dropped": 1}
    [row] = read_jsonl(tmp_path / "rewrites.jsonl")
    assert row["rewrite"] == "\n\nHuman: how do i fix my bike ? and keep it safe and funny please\n\nAssistant:"


def test_selfplay_measures_before_and_after_rewriting(tmp_path):
    config = _config("mora.samples_per_prompt=4")
    everything = " ".join(SEGMENTS.values())
    generator = ScriptedGenerator([SEGMENTS["helpful"], SEGMENTS["harmless"], SEGMENTS["humor"], everything])
    rewrite = SINGLE.replace("?", "? please also keep it safe and make it funny .")
    rewrites = [{"original": SINGLE, "rewrite": rewrite, "elaboration": SINGLE.replace("?", "? in full detail ."),
                 "dominant": "helpful", "added": ["harmless", "humor"]}]
    box = [[-0.6] * 3, [1.0] * 3]
    values = selfplay_stage(config, generator, rewrites, box, seed=5, stage_dir=tmp_path)
    after = read_jsonl(tmp_path / "rollouts_mora.jsonl")
    assert after[0]["prompt"] == rewrite and after[0]["original"] == SINGLE  # P' linked to P
    assert after[0]["rewards"][3] == [1.0, 1.0, 1.0]  # the caps are lifted
    before = read_jsonl(tmp_path / "rollouts_original.jsonl")[0]["rewards"]
    assert before[3] == pytest.approx([0.4, -0.1, -0.1])  # helpful 1 - 2 intrusions; the others capped at 0.2
    assert values["mora/coverage"] == pytest.approx(1.0)
    assert values["original/coverage"] < 0.5 and values["elaboration/coverage"] == values["original/coverage"]
    assert values["mora/variance/humor"] > values["original/variance/humor"]


def test_max_margin_pairs_with_ties_in_both_modes(tmp_path):
    rollouts = {"mora": [_rows("p", [[1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]]),
                         _rows("tied", [[0.5, 0.5, 0]] * 4),
                         _rows("q", [[0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 1, 1]])],
                "original": []}
    values = pairs_stage(_config("mora.samples_per_prompt=4"), rollouts, tmp_path)
    pairs = read_jsonl(tmp_path / "pairs_mora.jsonl")
    # p: chosen the first maximum (0), rejected the last minimum (3); the tied prompt gives no pair
    assert [(pair["prompt"], pair["chosen"], pair["rejected"], pair["margin"]) for pair in pairs] == [
        ("p", "response 0", "response 3", 1.0), ("q", "response 3", "response 2", 2.0)]
    assert values["mora/pairs/total"] == 2 and values["mora/margin/total"] == 1.5
    assert (tmp_path / "pairs_original.jsonl").read_text() == ""

    weighted = pairs_stage(_config("mora.samples_per_prompt=4", "mora.pair_weights=[0,0,1]"), rollouts, tmp_path)
    assert weighted["mora/pairs/total"] == 1  # only q varies in humor

    sequential = pairs_stage(_config("mora.samples_per_prompt=4", "mora.mode=sequential",
                                     "mora.objective_order=[humor,helpful,harmless]"), rollouts, tmp_path)
    assert list(sequential) == ["mora/pairs/humor", "mora/margin/humor", "mora/pairs/helpful", "mora/margin/helpful",
                                "mora/pairs/harmless", "mora/margin/harmless"]
    assert [sequential[f"mora/pairs/{k}"] for k in ("humor", "helpful", "harmless")] == [1, 1, 1]
    objectives = [json.loads(line)["objective"] for line in (tmp_path / "pairs_mora.jsonl").read_text().splitlines()]
    assert objectives == ["humor", "helpful", "harmless"]
