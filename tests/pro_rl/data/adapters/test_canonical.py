import datasets
import pytest

from pro_rl.data.adapters import ADAPTERS, adapter_for_hub_id
from pro_rl.data.adapters.canonical import to_pairs, to_prompts
from pro_rl.data.errors import DataError


def test_to_pairs_keeps_canonical_columns_and_scores_only():
    raw = datasets.Dataset.from_list([
        {"prompt": "p", "chosen": "c", "rejected": "r", "scores": {"helpful": 1.0}, "note": "dropped"},
    ])
    assert to_pairs(raw, objective=None, source="x.jsonl").to_list() == [
        {"prompt": "p", "chosen": "c", "rejected": "r", "scores": {"helpful": 1.0}}
    ]


def test_to_pairs_names_missing_column():
    raw = datasets.Dataset.from_list([{"prompt": "p", "chosen": "c"}])
    with pytest.raises(DataError, match=r"x\.jsonl: missing column 'rejected' \(columns: prompt, chosen\)"):
        to_pairs(raw, objective=None, source="x.jsonl")


def test_to_prompts_keeps_weights():
    raw = datasets.Dataset.from_list([{"prompt": "p", "weights": {"a": 0.25, "b": 0.75}, "id": 3}])
    assert to_prompts(raw, source="x").to_list() == [{"prompt": "p", "weights": {"a": 0.25, "b": 0.75}}]


def test_registry_and_hub_ids():
    assert set(ADAPTERS) == {"canonical", "hh_rlhf", "ultrafeedback", "ultrafeedback_binarized", "helpsteer2"}
    assert adapter_for_hub_id("Anthropic/hh-rlhf") == "hh_rlhf"
    assert adapter_for_hub_id("openbmb/ultrafeedback") == "ultrafeedback"
    assert adapter_for_hub_id("HuggingFaceH4/ultrafeedback_binarized") == "ultrafeedback_binarized"
    assert adapter_for_hub_id("nvidia/HelpSteer2") == "helpsteer2"
    assert adapter_for_hub_id("someone/my-pairs") == "canonical"
