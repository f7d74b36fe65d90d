import pickle

from pro_rl.data.errors import DataError, missing_column_error


def test_message_names_source_row_and_problem():
    error = DataError("data/pairs.jsonl", "empty prompt", 17)
    assert str(error) == "data/pairs.jsonl, row 17: empty prompt"
    assert (error.source, error.row, error.problem) == ("data/pairs.jsonl", 17, "empty prompt")
    assert isinstance(error, ValueError)


def test_missing_column_message():
    error = missing_column_error("x.parquet", "chosen", ["prompt", "response"])
    assert str(error) == "x.parquet: missing column 'chosen' (columns: prompt, response)"
    assert error.row is None


def test_survives_pickling():
    copy = pickle.loads(pickle.dumps(DataError("f.jsonl", "empty chosen", 3)))
    assert str(copy) == "f.jsonl, row 3: empty chosen"
    assert copy.row == 3
