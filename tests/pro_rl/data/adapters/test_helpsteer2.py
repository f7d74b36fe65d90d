from pathlib import Path

import pytest

from pro_rl.data.adapters.helpsteer2 import group_rows_by_prompt
from pro_rl.data.canonical import load_pairs, load_prompts

FIXTURE = Path(__file__).parents[3] / "fixtures" / "data" / "helpsteer2.jsonl"
SUMMARY_PROMPT = "<extra_id_1>User\nHi\n<extra_id_1>Assistant\nHello\n<extra_id_1>User\nSummarise our chat."


def test_group_rows_by_prompt_keeps_first_appearance_order():
    assert group_rows_by_prompt(["a", "a", "b", "c", "b"]) == [[0, 1], [2, 4], [3]]


def test_helpfulness_pairs_best_and_worst_and_counts_skipped_groups():
    pairs, report = load_pairs(str(FIXTURE), adapter="helpsteer2", objective="helpfulness", return_report=True)
    assert pairs.to_list() == [
        {
            "prompt": "Write a haiku about rain.",
            "chosen": "Soft rain on the roof / ...",
            "rejected": "Rain is wet.",
            "scores": {"helpfulness": 3.0},
        },
        {
            "prompt": SUMMARY_PROMPT,
            "chosen": "You said hi and I said hello back.",
            "rejected": "We greeted each other.",
            "scores": {"helpfulness": 3.0},
        },
    ]
    assert report.skipped == {
        "all responses to the prompt rated equal": 1,
        "fewer than two rated responses to the prompt": 1,
    }
    assert (report.rows_read, report.rows_kept) == (7, 2)


def test_verbosity_pairs_differ_from_helpfulness():
    pairs = load_pairs(str(FIXTURE), adapter="helpsteer2", objective="verbosity")
    assert [(row["chosen"], row["rejected"]) for row in pairs] == [
        ("Soft rain on the roof / ...", "Rain is wet."),
        ("The first three primes are 2, 3 and 5.", "2, 3, 5"),
        ("You said hi and I said hello back.", "We greeted each other."),
    ]
    assert [row["scores"] for row in pairs] == [{"verbosity": 1.0}, {"verbosity": 2.0}, {"verbosity": 2.0}]


def test_prompts_include_groups_without_a_pair():
    prompts = load_prompts(str(FIXTURE), adapter="helpsteer2", objective="helpfulness")
    assert prompts["prompt"] == [
        "Write a haiku about rain.",
        "List three primes.",
        "What is the capital of France?",
        SUMMARY_PROMPT,
    ]


def test_unknown_attribute_is_rejected():
    with pytest.raises(ValueError, match="helpsteer2.*helpfulness, correctness"):
        load_pairs(str(FIXTURE), adapter="helpsteer2", objective="humor")
