"""The tiny tokenizer trained on the run's own data (``tiny_tokenizer_corpus: run_data``), recorded when saved."""

import json

import pytest

from pro_rl.config.schema import ModelConfig, ProRLConfig
from pro_rl.models.builders import build_reward_model, load_tokenizer
from pro_rl.models.tiny_corpus import pair_texts, policy_corpus, run_corpus
from pro_rl.models.tokenizer import CORPUS_RECORD, corpus_fingerprint

NEW_WORLD = ["the quorvane telemetry of zindrel pylons"] * 40 + ["zindrel quorvane pylons report"] * 40


def test_run_data_tokenizer_learns_the_new_worlds_words():
    spec = ModelConfig(model="tiny:gpt2", tiny_vocab_size=300, tiny_tokenizer_corpus="run_data")
    own = load_tokenizer(spec, texts=NEW_WORLD)
    toy = load_tokenizer(ModelConfig(model="tiny:gpt2", tiny_vocab_size=300))
    word = " quorvane"
    assert len(own(word, add_special_tokens=False)["input_ids"]) == 1
    assert len(toy(word, add_special_tokens=False)["input_ids"]) > 2
    assert own.init_kwargs[CORPUS_RECORD] == {"corpus": "run_data", "fingerprint": corpus_fingerprint(NEW_WORLD),
                                              "texts": len(NEW_WORLD)}
    assert toy.init_kwargs[CORPUS_RECORD]["corpus"] == "toy_world"


def test_run_data_without_texts_is_an_error():
    with pytest.raises(ValueError, match="tiny_tokenizer_corpus 'run_data'"):
        load_tokenizer(ModelConfig(model="tiny:gpt2", tiny_tokenizer_corpus="run_data"))


def test_run_corpus_only_reads_texts_for_tiny_run_data_specs():
    def never():
        raise AssertionError("texts read for a spec that does not want them")

    assert run_corpus(ModelConfig(model="tiny:gpt2"), never) is None
    assert run_corpus(ModelConfig(model="some/hub-model", tiny_tokenizer_corpus="run_data"), never) is None
    run_data = ModelConfig(model="tiny:gpt2", tiny_tokenizer_corpus="run_data")
    assert run_corpus(run_data, lambda: ("a", "b")) == ["a", "b"]


def test_pair_texts_are_prompt_plus_each_side():
    rows = [{"prompt": "Q?", "chosen": " yes", "rejected": " no"},
            {"prompt": [{"role": "user", "content": "Hi"}], "chosen": " hello", "rejected": " go"}]
    assert pair_texts(rows) == ["Q? yes", "Q? no",
                                "\n\nHuman: Hi\n\nAssistant: hello", "\n\nHuman: Hi\n\nAssistant: go"]


def test_the_corpus_choice_is_saved_with_the_model(tmp_path):
    spec = ModelConfig(model="tiny:gpt2", tiny_hidden_size=32, tiny_layers=1, tiny_vocab_size=300,
                       tiny_tokenizer_corpus="run_data")
    model, tokenizer = build_reward_model(spec, NEW_WORLD)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "tokenizer_config.json").read_text())[CORPUS_RECORD]
    assert saved == {"corpus": "run_data", "fingerprint": corpus_fingerprint(NEW_WORLD), "texts": 80}


def test_policy_corpus_is_the_prompts_and_sft_rows(tmp_path):
    (tmp_path / "prompts.jsonl").write_text(json.dumps({"prompt": "zindrel?"}) + "\n")
    (tmp_path / "sft.jsonl").write_text(json.dumps({"prompt": "Q:", "response": " quorvane"}) + "\n")
    config = ProRLConfig()
    config.data.prompts, config.data.sft = str(tmp_path / "prompts.jsonl"), str(tmp_path / "sft.jsonl")
    config.policy.model = "tiny:gpt2"
    assert policy_corpus(config) is None  # toy_world by default
    config.policy.tiny_tokenizer_corpus = "run_data"
    assert policy_corpus(config) == ["zindrel?", "Q: quorvane"]
    assert policy_corpus(config, source=str(tmp_path)) is None  # a trained policy keeps its own tokenizer
