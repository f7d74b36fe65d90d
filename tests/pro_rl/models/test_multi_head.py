"""MOSLIM's multi-head classifier: Σ n_k logits, the head layout in config.json, a plain HF directory."""

import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from pro_rl.config.schema import ModelConfig
from pro_rl.data.toy_world import corpus
from pro_rl.models.multi_head import (build_multi_head_classifier, head_probabilities, load_multi_head_classifier,
                                      read_heads)

HEADS = {"helpful": 3, "harmless": 2, "humor": 3}  # not alphabetical: the order must survive a save


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model, tokenizer = build_multi_head_classifier(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32),
                                                   HEADS, corpus(size=100))
    directory = tmp_path_factory.mktemp("multi_head")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer, directory


def test_build_has_one_logit_per_intensity_class(saved):
    model, tokenizer, _ = saved
    assert model.config.num_labels == 8
    assert model.config.id2label[0] == "helpful 1" and model.config.id2label[7] == "humor 3"
    assert tokenizer.padding_side == "right"
    batch = tokenizer(["a b", "c"], return_tensors="pt", padding=True, add_special_tokens=False)
    assert model(**batch).logits.shape == (2, 8)


def test_head_probabilities_shapes_and_sums(saved):
    model, tokenizer, _ = saved
    model.eval()
    probabilities = head_probabilities(model, tokenizer, HEADS, ["\n\nHuman: hi\n\nAssistant:"] * 3,
                                       [" ok .", " haha !", " first check it ."], batch_size=2, max_length=64)
    assert list(probabilities) == list(HEADS)
    assert {k: tuple(v.shape) for k, v in probabilities.items()} == {"helpful": (3, 3), "harmless": (3, 2),
                                                                     "humor": (3, 3)}
    for values in probabilities.values():
        assert torch.allclose(values.sum(dim=1), torch.ones(3))
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        head_probabilities(model, tokenizer, HEADS, ["a", "b"], ["c"])


def test_save_load_round_trip_is_a_plain_hf_directory(saved):
    model, tokenizer, directory = saved
    layout = json.loads((directory / "config.json").read_text())["moslim_heads"]
    assert layout == [["helpful", 3], ["harmless", 2], ["humor", 3]]
    plain = AutoModelForSequenceClassification.from_pretrained(directory)
    assert plain.config.num_labels == 8
    loaded, loaded_tokenizer, heads = load_multi_head_classifier(str(directory))
    assert list(heads.items()) == list(HEADS.items())
    assert not loaded.training
    model.eval()
    prompts, responses = ["\n\nHuman: joke ?\n\nAssistant:"], [" why did the cat cross the road ? to get a laugh !"]
    before = head_probabilities(model, tokenizer, HEADS, prompts, responses)
    after = head_probabilities(loaded, loaded_tokenizer, heads, prompts, responses)
    for objective in HEADS:
        assert torch.allclose(before[objective], after[objective], atol=1e-6)


def test_a_model_without_a_head_layout_is_refused(saved):
    model, _, _ = saved
    config = type(model.config).from_dict({**model.config.to_dict(), "moslim_heads": None})
    with pytest.raises(ValueError, match="not a MOSLIM multi-head classifier"):
        read_heads(config)
    config = type(model.config).from_dict({**model.config.to_dict(), "moslim_heads": [["helpful", 3]]})
    with pytest.raises(ValueError, match="does not match the model's 8 labels"):
        read_heads(config)
