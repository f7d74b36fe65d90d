import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import PreTrainedTokenizerFast

from pro_rl.data.formats import render_prompt, render_response

CONVERSATION = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Tell me a joke"},
]


def tiny_tokenizer(chat_template=None):
    model = WordLevel({"[UNK]": 0, "hi": 1, "hello": 2}, unk_token="[UNK]")
    backend = Tokenizer(model)
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    tokenizer.chat_template = chat_template
    return tokenizer


def test_string_prompt_passes_through():
    text = "\n\nHuman: Hi\n\nAssistant:"
    assert render_prompt(text, tiny_tokenizer("{{ 'unused' }}")) == text


def test_messages_use_the_chat_template_with_generation_prompt():
    template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    rendered = render_prompt(CONVERSATION, tiny_tokenizer(template))
    assert rendered == "<user>Hi</user><assistant>Hello</assistant><user>Tell me a joke</user><assistant>"


def test_messages_without_template_use_plain_format():
    expected = "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Tell me a joke\n\nAssistant:"
    assert render_prompt(CONVERSATION, tiny_tokenizer()) == expected
    assert render_prompt(CONVERSATION) == expected
    system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert render_prompt(system) == "\n\nSystem: Be brief.\n\nHuman: Hi\n\nAssistant:"


def test_unknown_role_in_plain_format_is_an_error():
    with pytest.raises(ValueError, match="cannot render role 'tool'"):
        render_prompt([{"role": "tool", "content": "{}"}])


def test_render_response():
    assert render_response("Just text.") == "Just text."
    assert render_response([{"role": "assistant", "content": "Four."}]) == "Four."
    two_turns = [
        {"role": "assistant", "content": "First."},
        {"role": "user", "content": "More?"},
        {"role": "assistant", "content": "Second."},
    ]
    assert render_response(two_turns) == "First.\n\nSecond."


TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}")


def test_prompt_formats_of_a_string_prompt():
    from pro_rl.data.formats import hh_prompt

    with_template = tiny_tokenizer(TEMPLATE)
    assert render_prompt("Hi", with_template, "plain") == "Hi"
    assert render_prompt("Hi", with_template, "auto") == "Hi"
    assert render_prompt("Hi", with_template, "hh") == "\n\nHuman: Hi\n\nAssistant:"
    assert hh_prompt("\n\nHuman: Hi\n\nAssistant:") == "\n\nHuman: Hi\n\nAssistant:"  # already in the format
    assert render_prompt("Hi", with_template, "chat") == "<user>Hi</user><assistant>"


def test_prompt_formats_of_messages():
    with_template = tiny_tokenizer(TEMPLATE)
    plain = "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Tell me a joke\n\nAssistant:"
    assert render_prompt(CONVERSATION, with_template, "plain") == plain  # never the template
    assert render_prompt(CONVERSATION, with_template, "hh") == plain
    assert render_prompt(CONVERSATION, with_template, "chat").startswith("<user>Hi</user><assistant>Hello")


def test_chat_without_a_template_and_an_unknown_format_are_errors():
    with pytest.raises(ValueError, match="data.prompt_format 'chat'.*has no chat template"):
        render_prompt("Hi", tiny_tokenizer(), "chat")
    with pytest.raises(ValueError, match="data.prompt_format 'chat'"):
        render_prompt("Hi", None, "chat")
    with pytest.raises(ValueError, match="unknown prompt format 'html'"):
        render_prompt("Hi", None, "html")


@pytest.mark.parametrize("prompt, response, joined", [
    ("wedding?", "Here is the answer", "wedding? Here is the answer"),   # no whitespace: one space
    ("\n\nHuman: hi\n\nAssistant:", " sure", "\n\nHuman: hi\n\nAssistant: sure"),  # the toy world: unchanged
    ("Q:\n", "A", "Q:\nA"),
    ("Q", "\nA", "Q\nA"),
    ("", "A", "A"),
    ("Q", "", "Q"),
])
def test_join_prompt_response_inserts_one_space_only_at_a_bare_junction(prompt, response, joined):
    from pro_rl.data.formats import join_prompt_response

    assert join_prompt_response(prompt, response) == joined
