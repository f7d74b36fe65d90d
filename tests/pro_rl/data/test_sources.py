import pytest

from pro_rl.data.canonical import write_jsonl
from pro_rl.data.errors import DataError
from pro_rl.data.sources import is_local, local_files, read_source


def test_is_local_tells_paths_from_hub_ids(tmp_path):
    assert is_local("data/pairs.jsonl")
    assert is_local("runs/*.parquet")
    assert is_local("./pairs")
    assert is_local(str(tmp_path))
    assert not is_local("Anthropic/hh-rlhf")
    assert not is_local("imdb")


def test_directory_lists_data_files_in_name_order(tmp_path):
    write_jsonl([{"prompt": "b"}], tmp_path / "b.jsonl")
    write_jsonl([{"prompt": "a"}], tmp_path / "a.jsonl")
    (tmp_path / "README.md").write_text("not data")
    assert local_files(str(tmp_path)) == [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]


def test_missing_file_and_mixed_formats_are_errors(tmp_path):
    with pytest.raises(DataError, match="nothing.jsonl: file not found"):
        local_files(str(tmp_path / "nothing.jsonl"))
    write_jsonl([{"prompt": "a"}], tmp_path / "a.jsonl")
    (tmp_path / "b.parquet").write_bytes(b"")
    with pytest.raises(DataError, match="mixes JSON and parquet"):
        local_files(str(tmp_path))


def test_locate_names_the_file_and_row_inside_it(tmp_path):
    write_jsonl([{"prompt": "a0"}, {"prompt": "a1"}], tmp_path / "part-0.jsonl")
    write_jsonl([{"prompt": "b0"}, {"prompt": "b1"}, {"prompt": "b2"}], tmp_path / "part-1.jsonl")
    raw = read_source(str(tmp_path / "part-*.jsonl"))
    assert raw.dataset["prompt"] == ["a0", "a1", "b0", "b1", "b2"]
    assert raw.locate(1) == (str(tmp_path / "part-0.jsonl"), 1)
    assert raw.locate(3) == (str(tmp_path / "part-1.jsonl"), 1)
    assert raw.head(3).dataset["prompt"] == ["a0", "a1", "b0"]


def test_unreadable_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as parquet"):
        read_source(str(tmp_path / "broken.parquet"))
