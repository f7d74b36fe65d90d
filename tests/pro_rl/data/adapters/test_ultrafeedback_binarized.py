from pathlib import Path

import datasets
import pytest

from pro_rl.data.adapters import hub_split
from pro_rl.data.adapters.ultrafeedback_binarized import shared_prompt_length
from pro_rl.data.canonical import load_pairs
from pro_rl.data.errors import DataError

FIXTURE = Path(__file__).parents[3] / "fixtures" / "data" / "ultrafeedback_binarized.jsonl"


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def test_prompt_messages_and_assistant_responses():
    pairs = load_pairs(str(FIXTURE), adapter="ultrafeedback_binarized")
    assert pairs.to_list() == [
        {
            "prompt": [user("What is 2 + 2?")],
            "chosen": [assistant("4.")],
            "rejected": [assistant("5.")],
            "scores": {"overall": 9.0},
        },
        {
            "prompt": [user("What is 2 + 2?"), assistant("4."), user("And times 3?")],
            "chosen": [assistant("12.")],
            "rejected": [assistant("7.")],
            "scores": {"overall": 8.5},
        },
    ]


def test_identical_responses_keep_the_response_out_of_the_prompt():
    conversation = [user("q"), assistant("same")]
    assert shared_prompt_length(conversation, list(conversation)) == 1


def test_conversations_without_shared_prompt_are_bad_rows(tmp_path):
    path = tmp_path / "binarized.parquet"
    datasets.Dataset.from_list([
        {"chosen": [user("a"), assistant("x")], "rejected": [user("b"), assistant("y")]},
    ]).to_parquet(str(path))
    with pytest.raises(DataError, match=r"binarized\.parquet, row 0: chosen and rejected share no prompt message"):
        load_pairs(str(path), adapter="ultrafeedback_binarized")


def test_hub_split_names():
    assert hub_split("HuggingFaceH4/ultrafeedback_binarized", "train") == "train_prefs"
    assert hub_split("HuggingFaceH4/ultrafeedback_binarized", "test") == "test_prefs"
    assert hub_split("Anthropic/hh-rlhf", "test") == "test"
