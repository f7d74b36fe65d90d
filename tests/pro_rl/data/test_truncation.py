"""Truncation counts, the warning line, the identical-after-truncation error, the tokenise-once encoder and the
rate-limited monitor, on hand-made lengths, ids and texts with the tiny tokenizer."""

import itertools
import logging

import pytest
from datasets import Dataset
from tokenizers import processors
from transformers import PreTrainedTokenizerFast, XLMRobertaTokenizer

from pro_rl.config import ConfigError, load_config
from pro_rl.data.truncation import (TruncationCount, TruncationMonitor, check_identical_pairs, check_text_pairs,
                                    count_truncated, cut, cut_encoded, encode_counted, identical_after_truncation,
                                    measure_texts, token_lengths, truncation_message)
from pro_rl.models.tokenizer import train_tiny_tokenizer

SHARED = " and then the answer goes on about the weather, the sea, and the mountains for a long while"


@pytest.fixture(scope="module")
def tokenizer():
    return train_tiny_tokenizer(kind="causal")


def test_count_truncated_on_hand_made_lengths():
    assert count_truncated([3, 5, 8, 10], 5) == TruncationCount(truncated=2, total=4, longest=10, max_length=5)
    assert count_truncated([], 5) == TruncationCount(0, 0, 0, 5)
    assert count_truncated([2, 3], 4) + count_truncated([9], 4) == TruncationCount(1, 3, 9, 4)


def test_truncation_message_names_counts_limit_side_and_key():
    message = truncation_message("reward model 'helpful' training", TruncationCount(812, 1000, 224, 96), "right",
                                 "reward_models.0.training.max_length")
    assert message == ("reward model 'helpful' training: 812 of 1000 texts (81.2 %) longer than max_length 96 "
                       "(longest 224) were truncated on the right; raise reward_models.0.training.max_length to keep "
                       "them whole")


def test_cut_follows_the_side():
    assert cut([1, 2, 3, 4], 2, "right") == [1, 2]
    assert cut([1, 2, 3, 4], 2, "left") == [3, 4]
    assert cut([1, 2], 5, "left") == [1, 2]
    with pytest.raises(ValueError, match="'middle'"):
        cut([1], 1, "middle")


def test_identical_after_truncation_counts_only_pairs_the_cut_made_identical():
    chosen = [[1, 2, 3], [1, 2], [5, 6, 7], [1, 2, 3]]
    rejected = [[1, 2, 4], [1, 2], [5, 6, 7, 8], [9, 8, 7]]
    cut_chosen = [cut(ids, 2, "right") for ids in chosen]
    cut_rejected = [cut(ids, 2, "right") for ids in rejected]
    # pair 0: differs at token 3, cut to [1, 2]; pair 1: identical in the data (not counted); pair 2: the extra
    # token 8 is cut; pair 3: still differs
    assert identical_after_truncation(chosen, rejected, cut_chosen, cut_rejected) == 2
    with pytest.raises(ValueError, match="differ in length"):
        identical_after_truncation(chosen, rejected[:2], cut_chosen, cut_rejected)


def test_identical_share_above_the_limit_is_a_one_line_config_error():
    check_identical_pairs("rm", identical=1, pairs=10, max_share=0.1, key="k.max_length", max_length=8)  # = limit
    with pytest.raises(ConfigError) as raised:
        check_identical_pairs("reward model 'helpful' training", identical=2, pairs=10, max_share=0.1,
                              key="reward_models.0.training.max_length", max_length=8)
    error = raised.value
    assert error.key == "reward_models.0.training.max_length" and "\n" not in str(error)
    assert error.reason == ("reward model 'helpful' training: 2 of 10 pairs (20.0 %) have chosen and rejected "
                            "identical after truncation to 8 tokens, more than data.max_identical_pair_share 0.1; "
                            "raise reward_models.0.training.max_length (or data.max_identical_pair_share)")


def test_token_lengths_are_untruncated(tokenizer):
    texts = ["hello", "hello there" + SHARED]
    expected = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    assert token_lengths(tokenizer, texts, add_special_tokens=False) == expected
    assert expected[1] > 20 and token_lengths(tokenizer, []) == []


def test_measure_texts_warns_once_with_the_counts(tokenizer, caplog):
    texts = ["hi", "yes" + SHARED, "no" + SHARED]
    longest = max(token_lengths(tokenizer, texts))
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        count = measure_texts(tokenizer, texts, 10, "orchestrator training", "orchestrator.max_prompt_length")
    assert count == TruncationCount(2, 3, longest, 10)
    assert [record.getMessage() for record in caplog.records] == [
        f"orchestrator training: 2 of 3 texts (66.7 %) longer than max_length 10 (longest {longest}) were truncated "
        f"on the left; raise orchestrator.max_prompt_length to keep them whole"]
    caplog.clear()
    measure_texts(tokenizer, texts, longest, "orchestrator training", "orchestrator.max_prompt_length")
    assert not caplog.records


def pair_texts(differing_at_end: int):
    """Four pairs: ``differing_at_end`` of them differ only after a long shared start, the rest differ at once."""
    chosen = ["Question: weather?" + SHARED + f" yes {i}" for i in range(4)]
    rejected = ["Question: weather?" + SHARED + f" no {i}" if i < differing_at_end else f"Other {i}" + SHARED
                for i in range(4)]
    return chosen, rejected


def test_check_text_pairs_raises_above_the_share_and_passes_below(caplog):
    tokenizer = train_tiny_tokenizer(kind="causal")  # not the shared fixture: the side is set below
    tokenizer.truncation_side = "right"
    chosen, rejected = pair_texts(differing_at_end=1)  # 1 of 4 pairs identical once cut on the right
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        count = check_text_pairs(tokenizer, chosen, rejected, 12, "rm", "rm.max_length", 0.25,
                                 add_special_tokens=False)
    assert count.truncated == 8 and count.total == 8 and "8 of 8 texts (100.0 %)" in caplog.text
    with pytest.raises(ConfigError, match=r"1 of 4 pairs \(25.0 %\)"):
        check_text_pairs(tokenizer, chosen, rejected, 12, "rm", "rm.max_length", 0.2, add_special_tokens=False)
    tokenizer.truncation_side = "left"  # the ends differ: nothing identical
    check_text_pairs(tokenizer, chosen, rejected, 12, "rm", "rm.max_length", 0.0, add_special_tokens=False)
    long_enough = max(token_lengths(tokenizer, chosen + rejected, add_special_tokens=False))
    tokenizer.truncation_side = "right"
    assert check_text_pairs(tokenizer, chosen, rejected, long_enough, "rm", "k", 0.0,
                            add_special_tokens=False).truncated == 0


@pytest.mark.parametrize("kind", ["causal", "encoder"])
def test_encode_counted_matches_the_tokenizers_own_truncation(kind):
    tokenizer = train_tiny_tokenizer(kind=kind)
    tokenizer.truncation_side = "right"
    texts = ["short", "a much longer text" + SHARED]
    for max_length in (6, 200):
        batch, count = encode_counted(tokenizer, texts, max_length)
        expected = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        assert batch["input_ids"].tolist() == expected["input_ids"].tolist()
        assert batch["attention_mask"].tolist() == expected["attention_mask"].tolist()
        assert count.truncated == (1 if max_length == 6 else 0) and count.total == 2
    assert count.longest == len(tokenizer(texts[1])["input_ids"])


def template_tokenizer(single: str, type_ids: bool = False) -> PreTrainedTokenizerFast:
    """The tiny vocabulary with a template post-processor: '<s> $A' (Llama-like BOS), or BERT-like with type ids."""
    backend = train_tiny_tokenizer(kind="causal").backend_tokenizer
    backend.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[(token, backend.token_to_id(token)) for token in ("<s>", "</s>")])
    names = ["input_ids", "token_type_ids", "attention_mask"] if type_ids else ["input_ids", "attention_mask"]
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", model_input_names=names)


def xlm_roberta_tokenizer() -> XLMRobertaTokenizer:
    """The real xlm-roberta tokenizer class (<s> text </s>, right padding) on a unigram vocabulary of letters."""
    letters = [(letter, -1.0) for letter in "abcdefghijklmnopqrstuvwxyz▁,."]
    return XLMRobertaTokenizer(vocab=[("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + letters +
                               [("<mask>", 0.0)])


TOKENIZER_KINDS = {"causal": lambda: train_tiny_tokenizer(kind="causal"),
                   "encoder": lambda: train_tiny_tokenizer(kind="encoder"),
                   "xlm_roberta": xlm_roberta_tokenizer, "bos": lambda: template_tokenizer("<s> $A"),
                   "bert_type_ids": lambda: template_tokenizer("<s>:0 $A:0 </s>:1", type_ids=True)}


@pytest.mark.parametrize("kind", sorted(TOKENIZER_KINDS))
@pytest.mark.parametrize("truncation_side", ["left", "right"])
def test_encode_counted_cuts_by_hand_as_the_tokenizer_cuts(kind, truncation_side):
    tokenizer = TOKENIZER_KINDS[kind]()
    tokenizer.truncation_side = truncation_side
    texts = ["short", "a much longer text" + SHARED, "mid length text </s> with an eos inside", "x" + SHARED * 2]
    lengths = {add: token_lengths(tokenizer, texts, add_special_tokens=add) for add in (True, False)}
    for padding_side, add_special_tokens, max_length in itertools.product(("left", "right"), (True, False), (3, 9)):
        tokenizer.padding_side = padding_side
        whole = tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=add_special_tokens)
        by_hand = cut_encoded(tokenizer, whole, max_length, add_special_tokens=add_special_tokens)
        batch, count = encode_counted(tokenizer, texts, max_length, add_special_tokens=add_special_tokens)
        expected = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
                             add_special_tokens=add_special_tokens)
        assert by_hand is not None and sorted(batch.keys()) == sorted(expected.keys())
        for key in expected:
            assert by_hand[key].tolist() == batch[key].tolist() == expected[key].tolist(), key
        assert count == count_truncated(lengths[add_special_tokens], max_length) and count.truncated >= 3
        if add_special_tokens and padding_side == "right" and kind != "causal":  # the special tokens stay at the ends
            assert batch["input_ids"][:, 0].tolist() == [tokenizer.bos_token_id] * 4
            assert (batch["input_ids"][3, -1] == tokenizer.eos_token_id) == (kind != "bos")


def test_cut_encoded_leaves_what_it_cannot_match_to_the_tokenizer():
    tokenizer = train_tiny_tokenizer(kind="encoder")
    texts = ["a much longer text" + SHARED]
    whole = tokenizer(texts, padding=True, return_tensors="pt")
    assert cut_encoded(tokenizer, whole, 4) is not None
    assert cut_encoded(tokenizer, whole, 2) is None  # no room for text between <s> and </s>: the tokenizer's call
    assert cut_encoded(tokenizer, whole, 4, return_token_type_ids=True) is None
    with_mask = tokenizer(texts, padding=True, return_tensors="pt", return_offsets_mapping=True)
    assert cut_encoded(tokenizer, with_mask, 4) is None
    batch, count = encode_counted(tokenizer, texts, 2)  # the tokenizer's own second call
    assert batch["input_ids"].tolist() == [[tokenizer.bos_token_id, tokenizer.eos_token_id]] and count.truncated == 1


def test_monitor_warns_first_then_at_most_once_per_every_calls(caplog):
    monitor = TruncationMonitor("RL prompts", "policy.max_prompt_length", "left", every=3)
    cuts = [0, 1, 1, 1, 2, 1]  # calls 2 (first cut) and 5 (3 calls later) warn
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        for truncated in cuts:
            monitor.record(TruncationCount(truncated, 4, 10 if truncated else 3, 5))
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "RL prompts (calls so far: 2): 1 of 8 texts (12.5 %) longer than max_length 5 (longest 10) were truncated "
        "on the left; raise policy.max_prompt_length to keep them whole",
        "RL prompts (calls so far: 5): 5 of 20 texts (25.0 %) longer than max_length 5 (longest 10) were truncated "
        "on the left; raise policy.max_prompt_length to keep them whole"]
    assert monitor.total == TruncationCount(6, 24, 10, 5) and monitor.calls == 6
    with pytest.raises(ValueError, match="every"):
        TruncationMonitor("x", "k", "left", every=0)


def test_share_key_is_validated():
    assert load_config("configs/tiny/reward_models.yaml").data.max_identical_pair_share == 0.1
    with pytest.raises(ConfigError, match="data.max_identical_pair_share"):
        load_config("configs/tiny/reward_models.yaml", ["data.max_identical_pair_share=1.5"])


def test_reward_model_training_stops_on_pairs_made_identical(tmp_path):
    from pro_rl.training.metrics import MetricsLogger
    from pro_rl.training.reward_model import train_reward_model

    config = load_config("configs/tiny/reward_models.yaml", [f"run.output_dir={tmp_path}"])
    spec = config.reward_models[0]
    spec.training.max_length = 8  # training cuts on the left: pairs that differ only at the start become identical
    pairs = Dataset.from_dict({"prompt": ["Question: weather?"] * 4, "chosen": [f" yes {i}" + SHARED for i in range(4)],
                               "rejected": [f" no {i}" + SHARED for i in range(4)]})
    metrics = MetricsLogger(tmp_path, tensorboard=False)
    with pytest.raises(ConfigError, match=r"4 of 4 pairs .* raise reward_models.0.training.max_length"):
        train_reward_model(config, spec, tmp_path, metrics, pairs=pairs)
    metrics.close()
