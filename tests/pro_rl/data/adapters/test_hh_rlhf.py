from pathlib import Path

import pytest

from pro_rl.data.adapters.hh_rlhf import split_conversations
from pro_rl.data.canonical import load_pairs
from pro_rl.data.errors import DataError

FIXTURE = Path(__file__).parents[3] / "fixtures" / "data" / "hh_rlhf.jsonl"


def test_split_single_turn():
    prompt, chosen, rejected = split_conversations(
        "\n\nHuman: Hi\n\nAssistant: Hello!", "\n\nHuman: Hi\n\nAssistant: Go away."
    )
    assert prompt == "\n\nHuman: Hi\n\nAssistant:"
    assert (chosen, rejected) == ("Hello!", "Go away.")


def test_split_uses_last_shared_marker_even_when_responses_share_a_prefix():
    prompt, chosen, rejected = split_conversations(
        "\n\nHuman: Q\n\nAssistant: Sure, here it is.", "\n\nHuman: Q\n\nAssistant: Sure thing."
    )
    assert prompt == "\n\nHuman: Q\n\nAssistant:"
    assert (chosen, rejected) == ("Sure, here it is.", "Sure thing.")


def test_split_fails_when_conversations_part_before_any_assistant_turn():
    assert split_conversations("\n\nHuman: A\n\nAssistant: x", "\n\nHuman: B\n\nAssistant: x") is None


def test_error_names_file_and_row_of_unsplittable_pair():
    with pytest.raises(DataError) as caught:
        load_pairs(str(FIXTURE), adapter="hh_rlhf")
    assert "hh_rlhf.jsonl" in str(caught.value)
    assert "row 2" in str(caught.value)
    assert caught.value.row == 2


def test_skip_counts_unsplittable_pair_and_empty_response():
    pairs, report = load_pairs(str(FIXTURE), adapter="hh_rlhf", on_bad_row="skip", return_report=True)
    assert pairs.column_names == ["prompt", "chosen", "rejected"]
    assert pairs.to_list() == [
        {
            "prompt": "\n\nHuman: How do I boil an egg?\n\nAssistant:",
            "chosen": "Put it in boiling water for about nine minutes.",
            "rejected": "I don't know.",
        },
        {
            "prompt": "\n\nHuman: Name a colour.\n\nAssistant: Blue.\n\nHuman: Another one?\n\nAssistant:",
            "chosen": "Green.",
            "rejected": "No.",
        },
    ]
    assert report.rows_read == 4
    assert report.rows_kept == 2
    assert report.skipped == {'no shared "Assistant:" turn': 1, "empty chosen": 1}
