"""Every trainer and scorer joins a prompt and a response the same way (``join_prompt_response``) and renders
prompts in ``data.prompt_format``; the toy world's texts, which already have a space at the junction, are unchanged."""

from datasets import Dataset

from pro_rl.config.schema import RewardModelConfig
from pro_rl.models.multi_head import classifier_texts
from pro_rl.models.scoring import RewardScorer
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.training.reward_model import pair_texts
from pro_rl.training.sft import sft_examples

PAIRS = Dataset.from_list([{"prompt": "wedding?", "chosen": "Here is", "rejected": "No"},
                           {"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " sure", "rejected": " no"}])


def test_reward_model_pair_texts_join_with_one_space_and_render_the_format():
    tokenizer = train_tiny_tokenizer()
    chosen, rejected = pair_texts(PAIRS, tokenizer)
    assert chosen == ["wedding? Here is</s>", "\n\nHuman: hi\n\nAssistant: sure</s>"]
    assert rejected == ["wedding? No</s>", "\n\nHuman: hi\n\nAssistant: no</s>"]
    chosen, _ = pair_texts(PAIRS, tokenizer, "hh")
    assert chosen == ["\n\nHuman: wedding?\n\nAssistant: Here is</s>", "\n\nHuman: hi\n\nAssistant: sure</s>"]


def test_scorer_and_multi_head_texts_use_the_same_join():
    scorer = RewardScorer(RewardModelConfig(name="helpful", model="tiny:gpt2", tiny_hidden_size=32, tiny_layers=1),
                          device="cpu")
    assert scorer.texts(["wedding?", "Q: "], ["Here", "A"]) == ["wedding? Here</s>", "Q: A</s>"]
    assert classifier_texts(scorer.tokenizer, ["wedding?"], ["Here"]) == ["wedding? Here</s>"]


def test_sft_responses_get_the_separator_at_a_bare_junction():
    tokenizer = train_tiny_tokenizer()
    rows = [("wedding?", "Here is"), ("\n\nHuman: hi\n\nAssistant:", " sure")]
    _, responses = sft_examples(rows, tokenizer, max_prompt_tokens=64, max_response_tokens=16)
    assert tokenizer.decode(responses[0]) == " Here is</s>"
    assert tokenizer.decode(responses[1]) == " sure</s>"
    prompts, _ = sft_examples(rows[:1], tokenizer, 64, 16, prompt_format="hh")
    assert tokenizer.decode(prompts[0]) == "\n\nHuman: wedding?\n\nAssistant:"


def test_moslim_label_rows_render_prompts_in_the_format():
    from pro_rl.data.moslim_labels import check_label_row, label_rows_from_pairs

    pairs = [{"prompt": "q1", "chosen": "a1", "rejected": "b1", "scores": {"helpfulness": 4}}]
    rows = label_rows_from_pairs(pairs, {"helpfulness": 5}, 4, "pairs.jsonl", prompt_format="hh")
    assert rows[0]["prompt"] == "\n\nHuman: q1\n\nAssistant:"
    row = check_label_row({"prompt": "q", "response": "a", "labels": {"helpfulness": 2}}, {"helpfulness": 5},
                          "rows.jsonl", 0, "hh")
    assert row["prompt"] == "\n\nHuman: q\n\nAssistant:"
