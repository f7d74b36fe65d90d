"""Turning canonical prompts and responses into the text a model reads.

A canonical text is a string or a list of chat messages `[{"role": ..., "content": ...}]`. Strings pass through
unchanged. Prompt messages go through the tokenizer's chat template when it has one (with the generation prompt
added, so the model continues as the assistant); otherwise through the plain Human/Assistant format of hh-rlhf:

    "\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Tell me a joke\\n\\nAssistant:"

(system messages render as "\\n\\nSystem: ..."). Response messages become their assistant contents, joined by a blank
line when there are several; other roles in a response are ignored.
"""

from __future__ import annotations

PLAIN_ROLE_NAMES = {"system": "System", "user": "Human", "assistant": "Assistant"}
KNOWN_ROLES = tuple(PLAIN_ROLE_NAMES)  # the roles a canonical chat message may have
PLAIN_GENERATION_PROMPT = "\n\nAssistant:"
RESPONSE_JOINER = "\n\n"


def render_prompt(prompt: str | list[dict], tokenizer=None) -> str:
    """Prompt text for the model: the string itself, or the messages in the chat template / plain format."""
    if isinstance(prompt, str):
        return prompt
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return render_plain_conversation(prompt) + PLAIN_GENERATION_PROMPT


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
