from pathlib import Path

import pytest

from pro_rl.data.adapters.ultrafeedback import parse_rating, pick_pair
from pro_rl.data.canonical import load_pairs

FIXTURE = Path(__file__).parents[3] / "fixtures" / "data" / "ultrafeedback.jsonl"


def test_parse_rating_reads_strings_and_treats_na_as_missing():
    completion = {"annotations": {"honesty": {"Rating": "4"}, "truthfulness": {"Rating": "N/A"}}}
    assert parse_rating(completion, "honesty") == 4.0
    assert parse_rating(completion, "truthfulness") is None
    assert parse_rating(completion, "helpfulness") is None


def test_pick_pair_takes_first_of_equal_best_and_reports_ties():
    def rated(name, rating):
        return {"model": name, "annotations": {"honesty": {"Rating": rating}}}

    chosen, rejected, score = pick_pair([rated("a", "3"), rated("b", "5"), rated("c", "5"), rated("d", "1")], "honesty")
    assert (chosen["model"], rejected["model"], score) == ("b", "d", 5.0)
    assert pick_pair([rated("a", "4"), rated("b", "4")], "honesty") == "all honesty ratings equal"
    assert pick_pair([rated("a", "4"), rated("b", "N/A")], "honesty") == "fewer than two completions rated on honesty"


def test_helpfulness_pairs_and_counted_skips():
    pairs, report = load_pairs(str(FIXTURE), adapter="ultrafeedback", objective="helpfulness", return_report=True)
    assert pairs.to_list() == [
        {
            "prompt": "Explain photosynthesis in one sentence.",
            "chosen": "Plants turn light, water and CO2 into sugar and oxygen.",
            "rejected": "Photosynthesis is a dance.",
            "scores": {"helpfulness": 5.0},
        }
    ]
    # ties and unrated rows are normal skips: counted even with on_bad_row="error"
    assert report.skipped == {
        "all helpfulness ratings equal": 1,
        "fewer than two completions rated on helpfulness": 1,
    }
    assert (report.rows_read, report.rows_kept) == (3, 1)


def test_honesty_pairs_pick_by_that_aspect():
    pairs = load_pairs(str(FIXTURE), adapter="ultrafeedback", objective="honesty")
    assert [(row["chosen"], row["rejected"], row["scores"]) for row in pairs] == [
        ("It is how plants eat sunlight.", "Photosynthesis is a dance.", {"honesty": 5.0}),
        ("Hello!", "Hi there.", {"honesty": 5.0}),
        ("No, it is an oblate spheroid.", "Some say yes.", {"honesty": 5.0}),
    ]


def test_skipped_rows_are_logged(caplog):
    caplog.set_level("WARNING", logger="pro_rl.data")
    load_pairs(str(FIXTURE), adapter="ultrafeedback", objective="truthfulness")
    assert "skipped 1 of 3 rows" in caplog.text
    assert "1 fewer than two completions rated on truthfulness" in caplog.text


def test_objective_is_required():
    with pytest.raises(ValueError, match="needs objective"):
        load_pairs(str(FIXTURE), adapter="ultrafeedback")
