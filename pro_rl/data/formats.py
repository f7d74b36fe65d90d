"""Turning canonical prompts and responses into the text a model reads.

A canonical text is a string or a list of chat messages `[{"role": ..., "content": ...}]`. Strings pass through
unchanged. Prompt messages go through the tokenizer's chat template when it has one (with the generation prompt
added, so the model continues as the assistant); otherwise through the plain Human/Assistant format of hh-rlhf:

    "\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Tell me a joke\\n\\nAssistant:"

(system messages render as "\\n\\nSystem: ..."). Response messages become their assistant contents, joined by a blank
line when there are several; other roles in a response are ignored.

``data.prompt_format`` chooses how prompts render (``render_prompt``'s ``prompt_format``):

- ``auto`` (default): as above — strings as given, messages through the chat template or the plain format;
- ``plain``: strings as given, messages in the plain format (never a chat template);
- ``hh``: a string becomes "\\n\\nHuman: {prompt}\\n\\nAssistant:" unless it already is in that format; messages
  in the plain format;
- ``chat``: a string becomes one user message; messages go through the tokenizer's chat template (a tokenizer
  without one is a ValueError).

Joining a prompt and a response (``join_prompt_response``, what reward models, SFT and pair trainers read): when
neither side has whitespace at the junction, one space (``RESPONSE_SEPARATOR``) goes between them
("wedding?" + "Here is" → "wedding? Here is"); otherwise they are concatenated as they are (the toy world's
"...Assistant:" + " sure ..." is unchanged).
"""

from __future__ import annotations

PLAIN_ROLE_NAMES = {"system": "System", "user": "Human", "assistant": "Assistant"}
KNOWN_ROLES = tuple(PLAIN_ROLE_NAMES)  # the roles a canonical chat message may have
PLAIN_GENERATION_PROMPT = "\n\nAssistant:"
RESPONSE_JOINER = "\n\n"
RESPONSE_SEPARATOR = " "  # between a prompt and a response when neither has whitespace at the junction
PROMPT_FORMATS = ("auto", "plain", "hh", "chat")


def render_prompt(prompt: str | list[dict], tokenizer=None, prompt_format: str = "auto") -> str:
    """Prompt text for the model in ``prompt_format`` (see the module doc)."""
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {prompt_format!r}; known: {', '.join(PROMPT_FORMATS)}")
    if prompt_format == "chat":
        check_chat_template(tokenizer)
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if isinstance(prompt, str):
        return hh_prompt(prompt) if prompt_format == "hh" else prompt
    if prompt_format == "auto" and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return render_plain_conversation(prompt) + PLAIN_GENERATION_PROMPT


def check_chat_template(tokenizer, what: str = "this stage") -> None:
    """ValueError unless ``tokenizer`` has a chat template (``data.prompt_format: chat`` needs one)."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "") or "no tokenizer"
        raise ValueError(f"data.prompt_format 'chat': {what} renders prompts with {name!r}, which has no chat "
                         "template; use prompt_format hh or plain, or a tokenizer with a chat template")


def hh_prompt(prompt: str) -> str:
    """A string prompt in the hh-rlhf format, "\\n\\nHuman: ...\\n\\nAssistant:" (unchanged when it already is)."""
    if prompt.lstrip().startswith("Human:") and prompt.rstrip().endswith("Assistant:"):
        return prompt
    return f"\n\nHuman: {prompt}{PLAIN_GENERATION_PROMPT}"


def response_separator(prompt: str, response: str) -> str:
    """``RESPONSE_SEPARATOR`` when neither text has whitespace at the junction (and both are non-empty), else ''."""
    if prompt and response and not prompt[-1].isspace() and not response[0].isspace():
        return RESPONSE_SEPARATOR
    return ""


def join_prompt_response(prompt: str, response: str) -> str:
    """The text a model reads for (prompt, response): the two joined, with ``response_separator`` between."""
    return prompt + response_separator(prompt, response) + response


def render_plain_conversation(messages: list[dict]) -> str:
    """Messages in the plain format, "\\n\\nHuman: ..." / "\\n\\nAssistant: ..."; an unknown role is a ValueError."""
    turns = []
    for message in messages:
        role = message["role"]
        if role not in PLAIN_ROLE_NAMES:
            raise ValueError(f"cannot render role {role!r} in the plain format; known: {', '.join(PLAIN_ROLE_NAMES)}")
        turns.append(f"\n\n{PLAIN_ROLE_NAMES[role]}: {message['content']}")
    return "".join(turns)


def render_response(response: str | list[dict]) -> str:
    """Response text: the string itself, or the assistant messages' contents joined by a blank line."""
    if isinstance(response, str):
        return response
    return RESPONSE_JOINER.join(message["content"] for message in response if message["role"] == "assistant")
