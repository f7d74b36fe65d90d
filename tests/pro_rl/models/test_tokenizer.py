"""The tiny byte-level tokenizer trained in code: no <unk> for unseen text, and the two flavours' special tokens."""

import pytest
from transformers import AutoTokenizer

from pro_rl.models.tokenizer import SPECIAL_TOKENS, corpus_fingerprint, train_tiny_tokenizer

UNSEEN = [
    "Grüße aus Zürich — naïve café, 日本語のテキスト",
    "emoji 🎉🐱👍🏽 and a zero-width\u200bjoiner",
    "tabs\tand\nnewlines, CAPITALS and numbers 12345.678",
    "xylophone quixotic zephyr",  # words the toy corpus never had
]


@pytest.fixture(scope="module")
def causal():
    return train_tiny_tokenizer(kind="causal")


@pytest.fixture(scope="module")
def encoder():
    return train_tiny_tokenizer(kind="encoder")


@pytest.mark.parametrize("text", UNSEEN)
def test_unseen_text_round_trips_without_unk(causal, text):
    ids = causal(text, add_special_tokens=False)["input_ids"]
    assert causal.unk_token_id not in ids
    assert causal.decode(ids) == text


@pytest.mark.parametrize("text", UNSEEN)
def test_encoder_flavour_round_trips_without_unk(encoder, text):
    ids = encoder(text)["input_ids"]
    assert encoder.unk_token_id not in ids
    assert encoder.decode(ids, skip_special_tokens=True) == text


def test_special_tokens_have_fixed_ids(causal, encoder):
    for tokenizer in (causal, encoder):
        assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == [0, 1, 2, 3, 4]
        assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
        assert tokenizer.pad_token_id == 1 and tokenizer.unk_token_id == 3


def test_encoder_flavour_wraps_input_in_s_tags(encoder, causal):
    ids = encoder("how do i fix my bike ?")["input_ids"]
    assert ids[0] == encoder.convert_tokens_to_ids("<s>")
    assert ids[-1] == encoder.convert_tokens_to_ids("</s>")
    assert ids[1:-1] == causal("how do i fix my bike ?")["input_ids"]  # same vocabulary in between


def test_encoder_flavour_keeps_s_after_truncation(encoder):
    ids = encoder("a long prompt " * 50, truncation=True, max_length=8)["input_ids"]
    assert len(ids) == 8
    assert ids[0] == encoder.bos_token_id and ids[-1] == encoder.eos_token_id


def test_causal_flavour_adds_no_special_tokens(causal):
    ids = causal("how do i fix my bike ?")["input_ids"]
    assert causal.bos_token_id not in ids and causal.eos_token_id not in ids


def test_padding_sides(causal, encoder):
    assert causal.padding_side == "left"
    assert encoder.padding_side == "right"
    batch = causal(["a", "a longer text"], padding=True)["input_ids"]
    assert batch[0][0] == causal.pad_token_id and batch[0][-1] != causal.pad_token_id


def test_encoder_flavour_survives_save_and_reload(encoder, tmp_path):
    encoder.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded("tell me a joke")["input_ids"] == encoder("tell me a joke")["input_ids"]
    assert reloaded("tell me a joke")["input_ids"][0] == reloaded.convert_tokens_to_ids("<s>")


def test_training_is_deterministic_and_respects_vocab_size():
    texts = ["the cat sat on the mat", "the dog ate the bone"] * 20
    first = train_tiny_tokenizer(texts, vocab_size=300)
    second = train_tiny_tokenizer(list(texts), vocab_size=300)
    assert first.get_vocab() == second.get_vocab()
    assert 256 + len(SPECIAL_TOKENS) <= len(first) <= 300


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="'decoder'"):
        train_tiny_tokenizer(kind="decoder")


def test_corpus_fingerprint():
    assert corpus_fingerprint(["a", "b"]) == corpus_fingerprint(["a", "b"])
    assert corpus_fingerprint(["a", "b"]) != corpus_fingerprint(["b", "a"])
    assert len(corpus_fingerprint(["a"])) == 12
