"""Model builders: tiny models from configs with the configured sizes, heads and labels; model-spec parsing."""

import pytest
import torch

from pro_rl.config.schema import ModelConfig, OrchestratorConfig
from pro_rl.models.builders import (
    build_critic,
    build_orchestrator,
    build_policy,
    build_reward_model,
    is_function_spec,
    is_tiny,
    load_function,
    load_tokenizer,
)

SIZES = dict(tiny_hidden_size=32, tiny_layers=3, tiny_heads=4)
OBJECTIVES = ["helpful", "harmless", "humor"]


def test_tiny_gpt2_policy_has_config_sizes():
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", **SIZES))
    assert model.config.model_type == "gpt2"
    assert (model.config.n_embd, model.config.n_layer, model.config.n_head) == (32, 3, 4)
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert tokenizer.padding_side == "left"
    assert model.get_output_embeddings().weight.shape == (len(tokenizer), 32)


def test_tiny_llama_policy_has_config_sizes():
    model, tokenizer = build_policy(ModelConfig(model="tiny:llama", **SIZES))
    config = model.config
    assert config.model_type == "llama"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (32, 3, 4)
    assert config.intermediate_size == 128
    assert len(model.model.layers) == 3
    assert config.vocab_size == len(tokenizer)


def test_tiny_builds_are_seeded():
    first, _ = build_policy(ModelConfig(model="tiny:gpt2", **SIZES))
    second, _ = build_policy(ModelConfig(model="tiny:gpt2", **SIZES))
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_tiny_reward_model_has_one_label():
    model, tokenizer = build_reward_model(ModelConfig(model="tiny:gpt2", **SIZES))
    assert type(model).__name__ == "GPT2ForSequenceClassification"
    assert model.config.num_labels == 1
    assert model.config.pad_token_id == tokenizer.pad_token_id
    batch = tokenizer(["a b c", "d"], return_tensors="pt", padding=True)
    assert model(**batch).logits.shape == (2, 1)


def test_tiny_orchestrator_has_k_labels_named_by_objective():
    model, tokenizer = build_orchestrator(OrchestratorConfig(model="tiny:xlm-roberta", **SIZES), OBJECTIVES)
    config = model.config
    assert config.model_type == "xlm-roberta"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (32, 3, 4)
    assert config.num_labels == 3
    assert config.id2label == {0: "helpful", 1: "harmless", 2: "humor"}
    assert config.label2id == {"helpful": 0, "harmless": 1, "humor": 2}
    batch = tokenizer(["how do i fix my bike ?"], return_tensors="pt")
    assert batch["input_ids"][0, 0].item() == tokenizer.convert_tokens_to_ids("<s>")
    assert model(**batch).logits.shape == (1, 3)


def test_tiny_critic_has_one_value_per_token():
    model, tokenizer = build_critic(ModelConfig(model="tiny:gpt2", **SIZES))
    batch = tokenizer(["a b c d"], return_tensors="pt")
    assert model(**batch).logits.shape == (1, batch["input_ids"].shape[1], 1)
    assert tokenizer.padding_side == "left"


def test_unknown_tiny_arch_is_named():
    with pytest.raises(ValueError, match="'mamba'"):
        build_policy(ModelConfig(model="tiny:mamba"))


def test_tiny_tokenizer_is_trained_on_given_texts():
    trained = load_tokenizer(ModelConfig(model="tiny:gpt2", tiny_vocab_size=300), texts=["zebra crossing"] * 50)
    default = load_tokenizer(ModelConfig(model="tiny:gpt2", tiny_vocab_size=300))  # the toy world's corpus
    assert trained.tokenize("zebra crossing") == ["zebra", "Ġcrossing"]
    assert len(default.tokenize("zebra crossing")) > 2
    assert len(trained) <= 300


def test_model_loaded_from_a_saved_directory(tmp_path):
    model, tokenizer = build_reward_model(ModelConfig(model="tiny:gpt2", **SIZES))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = build_reward_model(ModelConfig(model=str(tmp_path)))
    assert loaded.config.num_labels == 1
    assert loaded_tokenizer.pad_token == "<pad>"
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_is_tiny():
    assert is_tiny("tiny:gpt2")
    assert not is_tiny("gpt2") and not is_tiny("org/tiny:x")


@pytest.mark.parametrize("spec, expected", [
    ("pro_rl.data.toy_world:helpful_reward", True),
    ("my_rewards:score", True),
    ("a.b.c:f_2", True),
    ("tiny:gpt2", False),          # a tiny model, not a function
    ("gpt2", False),               # a hub id
    ("Ray2333/gpt2-large-harmless-reward_model", False),
    ("/abs/dir:thing", False),     # a path with a colon
    ("C:\\models\\rm", False),
    ("module:", False),
    (":function", False),
    ("module:not.an.identifier", False),
    ("my-module:score", False),
    ("module:2fast", False),
    ("", False),
])
def test_is_function_spec_truth_table(spec, expected):
    assert is_function_spec(spec) is expected


def test_an_existing_path_with_a_colon_is_not_a_function(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rewards:score").mkdir()
    assert is_function_spec("rewards:score") is False


def test_load_function_and_its_errors():
    from pro_rl.data.toy_world import helpful_reward

    assert load_function("pro_rl.data.toy_world:helpful_reward") is helpful_reward
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        load_function("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="has no function 'missing'"):
        load_function("pro_rl.data.toy_world:missing")
    with pytest.raises(ValueError, match="has no function 'OBJECTIVES'"):
        load_function("pro_rl.data.toy_world:OBJECTIVES")  # exists but is not callable
