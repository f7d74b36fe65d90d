import json
import logging
from pathlib import Path

import datasets
import pytest

from pro_rl.data.canonical import LoadReport, load_pairs, load_prompts, read_jsonl, resolve_adapter, write_jsonl
from pro_rl.data.errors import DataError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "data"


def test_load_canonical_jsonl_pairs_with_scores():
    pairs = load_pairs(str(FIXTURES / "pairs.jsonl"))
    assert pairs.column_names == ["prompt", "chosen", "rejected", "scores"]
    assert pairs[0] == {
        "prompt": "Tell me a joke.",
        "chosen": "Why did the chicken cross the road?",
        "rejected": "No.",
        "scores": {"humor": 0.9},
    }
    assert len(pairs) == 3


def test_load_parquet_with_chat_messages(tmp_path):
    rows = [{
        "prompt": [{"role": "user", "content": "Hi"}],
        "chosen": [{"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "assistant", "content": "What?"}],
    }]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "pairs.parquet"))
    pairs = load_pairs(str(tmp_path / "pairs.parquet"))
    assert pairs.to_list() == rows


def test_missing_column_fails_at_once_naming_file_and_column():
    with pytest.raises(DataError) as caught:
        load_pairs(str(FIXTURES / "pairs_missing_rejected.jsonl"), on_bad_row="skip")
    assert "pairs_missing_rejected.jsonl" in str(caught.value)
    assert "missing column 'rejected'" in str(caught.value)


def test_bad_row_error_names_file_and_row():
    with pytest.raises(DataError, match=r"pairs_with_bad_rows\.jsonl, row 1: empty prompt"):
        load_pairs(str(FIXTURES / "pairs_with_bad_rows.jsonl"))


def test_over_max_chars_error_names_row_and_length():
    # row 0: prompt and chosen have 12 characters (allowed), rejected has 13
    with pytest.raises(DataError, match=r"row 0: rejected has 13 characters, over max_chars=12"):
        load_pairs(str(FIXTURES / "pairs_with_bad_rows.jsonl"), max_chars=12)


def test_skip_drops_counts_and_logs_bad_rows(caplog):
    caplog.set_level(logging.WARNING, logger="pro_rl.data")
    source = str(FIXTURES / "pairs_with_bad_rows.jsonl")
    pairs, report = load_pairs(source, max_chars=40, on_bad_row="skip", return_report=True)
    assert pairs["prompt"] == ["Fine prompt."]
    assert report == LoadReport(
        source=source, rows_read=5, rows_kept=1, skipped={"empty prompt": 2, "empty chosen": 1, "over max_chars": 1}
    )
    assert report.rows_skipped == 4
    assert f"skipped 4 of 5 rows of {source}: 2 empty prompt, 1 empty chosen, 1 over max_chars" in caplog.text


def test_max_rows_reads_only_the_first_rows():
    pairs, report = load_pairs(str(FIXTURES / "pairs_with_bad_rows.jsonl"), max_rows=1, return_report=True)
    assert pairs["chosen"] == ["Fine answer."]
    assert report.rows_read == 1


def test_error_in_second_file_of_a_directory_names_that_file(tmp_path):
    write_jsonl([{"prompt": "p", "chosen": "c", "rejected": "r"}] * 2, tmp_path / "a.jsonl")
    write_jsonl([{"prompt": "p", "chosen": "c", "rejected": "r"}, {"prompt": "p", "chosen": "c", "rejected": " "}],
                tmp_path / "b.jsonl")
    with pytest.raises(DataError) as caught:
        load_pairs(str(tmp_path))
    assert (caught.value.source, caught.value.row) == (str(tmp_path / "b.jsonl"), 1)
    assert caught.value.problem == "empty rejected"


def test_malformed_messages_are_bad_rows(tmp_path):
    write_jsonl([{"prompt": [{"role": "user", "text": "no content key"}], "chosen": "c", "rejected": "r"}],
                tmp_path / "x.jsonl")
    with pytest.raises(DataError, match="row 0: prompt is neither text nor a list of role/content messages"):
        load_pairs(str(tmp_path / "x.jsonl"))


def test_load_prompts_with_weights():
    prompts = load_prompts(str(FIXTURES / "prompts.jsonl"))
    assert prompts.to_list() == [
        {"prompt": "Write a limerick about cats.", "weights": {"helpful": 0.2, "humor": 0.8}},
        {"prompt": "How do I reset my password?", "weights": {"helpful": 0.9, "humor": 0.1}},
    ]


def test_load_prompts_from_pairs_deduplicates_keeping_order():
    prompts, report = load_prompts(str(FIXTURES / "pairs.jsonl"), return_report=True)
    assert prompts.column_names == ["prompt"]
    assert prompts["prompt"] == ["Tell me a joke.", "How do I sort a list in Python?"]
    assert (report.rows_read, report.rows_kept, report.duplicates) == (3, 2, 1)


def test_load_prompts_screens_only_the_prompt():
    prompts, report = load_prompts(
        str(FIXTURES / "pairs_with_bad_rows.jsonl"), on_bad_row="skip", return_report=True
    )
    assert prompts["prompt"] == ["Fine prompt.", "Question?", "Long one?"]
    assert report.skipped == {"empty prompt": 2}


def test_load_prompts_missing_prompt_column(tmp_path):
    write_jsonl([{"text": "hello"}], tmp_path / "p.jsonl")
    with pytest.raises(DataError, match=r"p\.jsonl: missing column 'prompt'"):
        load_prompts(str(tmp_path / "p.jsonl"))


def test_resolve_adapter():
    assert resolve_adapter("Anthropic/hh-rlhf", "auto") == "hh_rlhf"
    assert resolve_adapter("nvidia/HelpSteer2", "auto") == "helpsteer2"
    assert resolve_adapter("data/pairs.jsonl", "auto") == "canonical"
    assert resolve_adapter("data/raw.jsonl", "ultrafeedback") == "ultrafeedback"
    with pytest.raises(ValueError, match="unknown adapter 'tldr'"):
        resolve_adapter("data/pairs.jsonl", "tldr")


def test_on_bad_row_is_checked():
    with pytest.raises(ValueError, match="on_bad_row must be one of error, skip"):
        load_pairs(str(FIXTURES / "pairs.jsonl"), on_bad_row="drop")


def test_jsonl_round_trip(tmp_path):
    rows = [{"prompt": "héllo", "weights": {"a": 0.5}}, {"prompt": [{"role": "user", "content": "x"}]}]
    path = tmp_path / "nested" / "rows.jsonl"
    assert write_jsonl(iter(rows), path) == 2
    assert read_jsonl(path) == rows
    assert path.read_text(encoding="utf-8").splitlines()[0] == json.dumps(rows[0], ensure_ascii=False)
    assert [p.name for p in path.parent.iterdir()] == ["rows.jsonl"]  # no temp file left behind


def test_read_jsonl_bad_line_names_file_and_row(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a"}\n\n{"prompt": \n')
    with pytest.raises(DataError, match=r"bad\.jsonl, row 1: invalid JSON on line 3"):
        read_jsonl(path)


def test_hub_id_picks_adapter_and_split_without_touching_the_network(monkeypatch):
    requests = []

    def fake_load_dataset(hub_id, split):
        requests.append((hub_id, split))
        return datasets.Dataset.from_list(read_jsonl(FIXTURES / "ultrafeedback_binarized.jsonl"))

    monkeypatch.setattr("pro_rl.data.sources.datasets.load_dataset", fake_load_dataset)
    pairs = load_pairs("HuggingFaceH4/ultrafeedback_binarized", split="test")
    assert requests == [("HuggingFaceH4/ultrafeedback_binarized", "test_prefs")]
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "4."}]
    # row 1's prompt is three messages: "What is 2 + 2?" + "4." + "And times 3?" = 28 characters
    with pytest.raises(DataError, match=r"ultrafeedback_binarized \(test_prefs\), row 1: prompt has 28 characters"):
        load_pairs("HuggingFaceH4/ultrafeedback_binarized", split="test", max_chars=20)


def test_pairs_with_chosen_equal_to_rejected_are_dropped_counted_and_logged(tmp_path, caplog):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"prompt": "p", "chosen": "same", "rejected": "same"}\n'
                    '{"prompt": "q", "chosen": "a", "rejected": "b"}\n')
    with caplog.at_level("WARNING", logger="pro_rl.data"):
        pairs, report = load_pairs(str(path), return_report=True)  # also with on_bad_row="error"
    assert pairs["prompt"] == ["q"] and report.skipped == {"chosen equals rejected": 1}
    assert "1 chosen equals rejected" in caplog.text


def test_unknown_chat_role_names_file_row_and_line(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "fine"}\n\n{"prompt": [{"role": "wizard", "content": "hi"}]}\n'.replace(
        '{"prompt": "fine"}', '{"prompt": [{"role": "user", "content": "fine"}]}'))
    with pytest.raises(DataError) as error:
        load_prompts(str(path))
    assert (error.value.row, error.value.line) == (1, 3) and "'wizard'" in error.value.problem
    assert error.value.one_line().endswith(f"({path}:3)")


def test_empty_malformed_and_non_utf8_files_name_their_line(tmp_path):
    empty, malformed, latin1 = tmp_path / "empty.jsonl", tmp_path / "bad.jsonl", tmp_path / "latin1.jsonl"
    empty.write_text("")
    malformed.write_text('{"prompt": "a"}\n{"prompt": \n')
    latin1.write_bytes(b'{"prompt": "a"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(DataError, match="empty"):
        load_prompts(str(empty))
    with pytest.raises(DataError) as error:
        load_prompts(str(malformed))
    assert error.value.line == 2 and "invalid JSON" in error.value.problem
    with pytest.raises(DataError) as error:
        load_prompts(str(latin1))
    assert error.value.line == 2 and "UTF-8" in error.value.problem


def test_an_empty_source_is_an_error_not_the_working_directory():
    with pytest.raises(DataError, match="no data source given"):
        load_prompts("")
