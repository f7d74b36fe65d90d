"""MORA's rewriting: the question split, the template rewriter, the LM template and parser, the validity check and
the equal-length elaboration of the ablation."""

from pathlib import Path

import pytest

from pro_rl.data.mora_rewrite import (
    ELABORATION_WORDS,
    append_intents,
    elaborate,
    load_template,
    parse_rewrite,
    rebuild_prompt,
    rewrite_problem,
    rewrite_request,
    split_prompt,
    template_rewrite,
    token_count,
    word_count,
)
from pro_rl.data.mora_world import INTENT_CUES, INTENT_PHRASES, format_prompt, invited_objectives

TEMPLATE = Path(__file__).resolve().parents[3] / "configs" / "prompts" / "mora_rewrite.txt"
PROMPT = format_prompt("how do i fix my bike ?")


def test_split_prompt_takes_the_last_human_turn():
    assert split_prompt(PROMPT) == ("\n\nHuman: ", "how do i fix my bike ?", "\n\nAssistant:")
    turns = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman:  tell me a joke  \n\nAssistant:"
    head, question, tail = split_prompt(turns)
    assert question == "tell me a joke" and head + question + tail == turns
    assert split_prompt("just a question") == ("", "just a question", "")
    assert rebuild_prompt(PROMPT, "how do i paint my bike ?") == format_prompt("how do i paint my bike ?")


def test_append_intents_lists_one_two_and_three_phrases():
    assert append_intents("q ?", []) == "q ?"
    assert append_intents("q ?", ["keep it safe"]) == "q ? please also keep it safe ."
    assert append_intents("q ?", ["a", "b"]) == "q ? please also a and b ."
    assert append_intents("q ?", ["a", "b", "c"]) == "q ? please also a , b and c ."


def test_template_rewrite_keeps_the_question_and_adds_the_missing_intents():
    rewritten = template_rewrite(PROMPT, ["harmless", "humor"], INTENT_PHRASES)
    assert rewritten == format_prompt("how do i fix my bike ? please also keep it safe and make it funny .")
    assert invited_objectives(PROMPT) == {"helpful"}
    assert invited_objectives(rewritten) == {"helpful", "harmless", "humor"}
    assert rewrite_problem(PROMPT, rewritten) is None
    with pytest.raises(KeyError, match="truthful"):
        template_rewrite(PROMPT, ["truthful"], INTENT_PHRASES)


def test_the_shipped_lm_template_fills_question_and_intents(tmp_path):
    template = load_template(TEMPLATE)
    request = rewrite_request(template, PROMPT, ["keep the answer safe", "make it funny"])
    assert "Original question: how do i fix my bike ?" in request
    assert "- keep the answer safe\n- make it funny" in request
    assert "{question}" not in request and "{intents}" not in request
    assert request.rstrip().endswith("<rewrite>")
    (tmp_path / "bad.txt").write_text("rewrite {question}")
    with pytest.raises(ValueError, match=r"lacks \{intents\}"):
        load_template(tmp_path / "bad.txt")


@pytest.mark.parametrize("answer, expected", [
    ("<rewrite>how do i fix my bike safely ?</rewrite> extra", "how do i fix my bike safely ?"),
    ("Sure!\n<rewrite>\n  how do i fix\n my bike ?\n", "how do i fix my bike ?"),  # unclosed, newlines collapsed
    ("\n\n  how do i fix my bike , and make it funny ?\nsecond line", "how do i fix my bike , and make it funny ?"),
    ("<rewrite></rewrite>", ""),
    ("   \n", ""),
])
def test_parse_rewrite(answer, expected):
    assert parse_rewrite(answer) == expected


def test_rewrite_problem_reasons():
    assert rewrite_problem(PROMPT, format_prompt("")) == "empty"
    assert rewrite_problem(PROMPT, format_prompt(" ?! ")) == "empty"
    assert rewrite_problem(PROMPT, format_prompt("how do i fix my bike ? " + "and more " * 20), max_words=40) \
        == "too_long"
    assert rewrite_problem(PROMPT, format_prompt("tell me a joke please , keep it safe")) == "question_dropped"
    assert rewrite_problem(PROMPT, format_prompt("How do I fix my bike?")) == "unchanged"
    # an LM paraphrase that loses one of the six words keeps 5/6 ≥ 0.8 of the question
    assert rewrite_problem(PROMPT, format_prompt("how can i fix my bike safely ?")) is None
    assert rewrite_problem(PROMPT, format_prompt("how can i fix my bike safely ?"), keep_fraction=0.9) \
        == "question_dropped"


def test_elaborate_matches_the_word_length_of_the_multi_intent_rewrite():
    rewritten = template_rewrite(PROMPT, ["harmless", "humor"], INTENT_PHRASES)
    target = word_count(rewritten)
    elaborated = elaborate(PROMPT, target)
    assert word_count(elaborated) == target == 19  # "Human:" and "Assistant:" count too
    assert split_prompt(elaborated)[1] == "how do i fix my bike ? " + " ".join(ELABORATION_WORDS[:10])
    assert invited_objectives(elaborated) == {"helpful"}  # detail, no new intent
    assert rewrite_problem(PROMPT, elaborated) is None
    focused = elaborate(PROMPT, target, focus_phrase=INTENT_PHRASES["helpful"])
    assert split_prompt(focused)[1].startswith("how do i fix my bike ? please explain each step . i have")
    assert word_count(focused) == target and invited_objectives(focused) == {"helpful"}


def test_elaborate_in_tokens_picks_the_closest_length():
    class CharacterPairs:  # a stand-in tokenizer: one token per two characters
        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": list(range((len(text) + 1) // 2))}

    length = token_count(CharacterPairs())
    assert length("abcde") == 3
    target = length(template_rewrite(PROMPT, ["harmless"], INTENT_PHRASES))
    elaborated = elaborate(PROMPT, target, length=length)
    gaps = [abs(length(PROMPT.replace("?", "? " + " ".join(ELABORATION_WORDS[:m]) if m else "?")) - target)
            for m in range(12)]
    assert abs(length(elaborated) - target) == min(gaps) <= 2
    assert elaborate(PROMPT, 3) == PROMPT  # already longer than the target: unchanged


def test_elaboration_words_name_no_intent():
    text = " ".join(ELABORATION_WORDS).lower()
    for objective, cues in INTENT_CUES.items():
        assert not any(f" {cue} " in f" {text} " for cue in cues), objective
