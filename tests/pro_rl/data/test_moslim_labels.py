"""Appendix B's DataType 1–4 score mappings, label rows from scored pairs and label files, and bad labels."""

import json

import pytest

from pro_rl.data.errors import DataError
from pro_rl.data.moslim_labels import (binned_class, check_label_row, data_type1_class, data_type2_class,
                                       data_type3_class, data_type4_class, data_type_levels, label_rows_from_pairs,
                                       load_label_rows, score_scale, score_to_class)

FIVE = (1.0, 5.0)
ZERO_ONE = (0.0, 1.0)


def test_data_type1_is_preference_only():
    assert [data_type1_class(s, FIVE) for s in (1, 2, 3, 3.9, 4, 5)] == [1, 1, 1, 1, 2, 2]
    assert [data_type1_class(s, ZERO_ONE) for s in (0, 0.49, 0.5, 1)] == [1, 1, 2, 2]


def test_data_type2_splits_the_scale_in_halves():
    assert [data_type2_class(s, FIVE) for s in (1, 2, 2.9, 3, 4, 5)] == [1, 1, 1, 2, 2, 2]
    assert [data_type2_class(s, ZERO_ONE) for s in (0, 0.3, 0.5, 1)] == [1, 1, 2, 2]


def test_data_type3_has_three_classes_for_five_point_scores():
    assert [data_type3_class(s, FIVE) for s in (1, 2, 3, 4, 5)] == [1, 1, 2, 3, 3]
    assert [data_type3_class(s, FIVE) for s in (2.3, 2.4, 3.6, 3.7)] == [1, 2, 2, 3]  # edges at 7/3 and 11/3
    assert [data_type3_class(s, ZERO_ONE) for s in (0.2, 0.8)] == [1, 2]


def test_data_type4_keeps_every_integer_score():
    assert [data_type4_class(s, FIVE) for s in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5]
    assert [data_type4_class(s, FIVE) for s in (1.7, 1.8, 4.1, 4.2)] == [1, 2, 4, 5]  # bins of width 0.8
    assert [data_type4_class(s, ZERO_ONE) for s in (0.0, 1.0)] == [1, 2]


def test_scores_off_their_scale_are_errors():
    with pytest.raises(ValueError, match="outside"):
        data_type4_class(0.0, FIVE)
    with pytest.raises(ValueError, match="outside"):
        binned_class(float("nan"), ZERO_ONE, 2)


def test_scales_and_levels_per_data_type():
    assert score_scale("helpfulness") == FIVE and score_scale("harmless") == ZERO_ONE
    assert score_scale("helpfulness", {"helpfulness": [0, 10]}) == (0.0, 10.0)
    objectives = ["helpfulness", "honesty", "harmless"]
    assert [data_type_levels(t, objectives) for t in (1, 2, 3, 4)] == [
        {"helpfulness": 2, "honesty": 2, "harmless": 2}, {"helpfulness": 2, "honesty": 2, "harmless": 2},
        {"helpfulness": 3, "honesty": 3, "harmless": 2}, {"helpfulness": 5, "honesty": 5, "harmless": 2}]
    assert score_to_class("honesty", 4, 3) == 3 and score_to_class("harmless", 0.7, 4) == 2


def test_label_rows_from_scored_pairs():
    pairs = [{"prompt": "q1", "chosen": "a1", "rejected": "b1", "scores": {"helpfulness": 4, "harmless": None}},
             {"prompt": "q2", "chosen": "a2", "rejected": "b2", "scores": {"harmless": 0.2}}]
    levels = {"helpfulness": 5, "harmless": 2}
    assert label_rows_from_pairs(pairs, levels, 4, "pairs.jsonl") == [
        {"prompt": "q1", "response": "a1", "labels": {"helpfulness": 4, "harmless": None}},
        {"prompt": "q2", "response": "a2", "labels": {"helpfulness": None, "harmless": 1}}]
    with pytest.raises(ValueError, match="do not match DataType 2"):
        label_rows_from_pairs(pairs, levels, 2, "pairs.jsonl")
    with pytest.raises(DataError, match="pairs.jsonl, row 0: no score"):
        label_rows_from_pairs([{"prompt": "q", "chosen": "a", "scores": {}}], levels, 4, "pairs.jsonl")
    with pytest.raises(DataError, match="row 0: score of 'helpfulness'"):
        label_rows_from_pairs([{"prompt": "q", "chosen": "a", "scores": {"helpfulness": 7}}], levels, 4, "p")


@pytest.mark.parametrize("labels, problem", [
    ({"funny": 1}, "unknown objective 'funny'"),
    ({"helpful": 4}, "label 4 of 'helpful' is out of 1..3"),
    ({"helpful": 0}, "out of 1..3"),
    ({"helpful": 1.5}, "must be an integer class"),
    ({"helpful": "2"}, "must be an integer class"),
    ({"helpful": None}, "no label for any objective"),
    ([1, 2], "'labels' must be an object"),
])
def test_bad_label_rows_name_file_and_row(labels, problem):
    row = {"prompt": "q", "response": "a", "labels": labels}
    with pytest.raises(DataError, match="labels.jsonl, row 3") as error:
        check_label_row(row, {"helpful": 3, "harmless": 2}, "labels.jsonl", 3)
    assert problem in str(error.value)


def test_label_file_is_loaded_checked_and_named(tmp_path):
    path = tmp_path / "labels.jsonl"
    rows = [{"prompt": "q1", "response": "a1", "labels": {"helpful": 2, "harmless": None}},
            {"prompt": "q2", "response": "a2", "labels": {"helpful": 3.0, "harmless": 1}}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    loaded = load_label_rows(str(path), {"helpful": 3, "harmless": 2}, 1)
    assert [row["labels"] for row in loaded] == [{"helpful": 2, "harmless": None}, {"helpful": 3, "harmless": 1}]
    rows.append({"prompt": "q3", "response": "a3", "labels": {"helpful": 9, "harmless": 1}})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(DataError, match=r"labels.jsonl, row 2: label 9 of 'helpful' is out of 1..3"):
        load_label_rows(str(path), {"helpful": 3, "harmless": 2}, 1)


def test_scored_canonical_pairs_go_through_the_adapters(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": "q1", "chosen": "good", "rejected": "bad", "scores": {"helpfulness": 5.0, "honesty": 2.0}},
            {"prompt": "q2", "chosen": "fine", "rejected": "poor", "scores": {"helpfulness": 3.0, "honesty": 3.0}}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    loaded = load_label_rows(str(path), {"helpfulness": 3, "honesty": 3}, 3)
    assert loaded == [{"prompt": "q1", "response": "good", "labels": {"helpfulness": 3, "honesty": 1}},
                      {"prompt": "q2", "response": "fine", "labels": {"helpfulness": 2, "honesty": 2}}]
