"""MORA's intent-fusion rewriting (Fig. 3, step 2): P → P', and the equal-length elaboration of the ablation.

A mined single-reward prompt P is rewritten into P' that keeps P's question and also asks for the missing intents
(objectives). Three ways to produce or judge a rewrite, all on the prompt's *question*: the text of its last
``Human:`` turn (``split_prompt``; a prompt without that format is its own question), so the conversation format
around it is kept unchanged.

- ``template_rewrite``: deterministic, for tests and the toy world: ``"<question> please also <phrase 1> and
  <phrase 2> ."`` (``append_intents``), one phrase per added objective, in the order given.
- The LM rewrite (the paper's Fig. 9 template; ours is ``configs/prompts/mora_rewrite.txt``, since the paper's text
  is not public): ``rewrite_request`` fills ``{question}`` and ``{intents}`` of the template, the rewriter LM answers,
  ``parse_rewrite`` takes the text between ``<rewrite>`` and ``</rewrite>`` (without the tags: the first non-empty
  line of the answer), and ``rebuild_prompt`` puts it back into P's conversation format.
- ``rewrite_problem``: the validity check. A rewrite is skipped (counted by reason, never trained on) when it is
    ``empty``             no words;
    ``too_long``          more than ``max_words`` words;
    ``question_dropped``  fewer than ``keep_fraction`` (default 0.8) of the original question's distinct words
                          (lower-cased ``\\w+`` tokens) occur in the rewrite — an LM may rephrase a little, but
                          not lose the question;
    ``unchanged``         the same words as the original question (nothing was added).

The ablation of the referee report (item 2): ``elaborate`` makes a single-objective rewrite of the *same length* as
the multi-intent one — the question, optionally one phrase of the objective the prompt already has
(``focus_phrase``), then neutral words (``ELABORATION_WORDS``: detail, no intent) — so that only the number of
intents differs. Length is measured by ``length`` (default: words, ``word_count``; ``token_count(tokenizer)`` for a
tokenizer's tokens) on the whole prompt, and the result's length is the closest reachable to the target (ties: the
shorter). This module knows no world: the phrases per objective come from the caller (the toy world's are
``pro_rl.data.mora_world.INTENT_PHRASES``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Tuple

REWRITE_PROBLEMS = ("empty", "too_long", "question_dropped", "unchanged")
TEMPLATE_FIELDS = ("{question}", "{intents}")
HUMAN_TURN = "Human:"
ASSISTANT_TURN = "\n\nAssistant:"
REWRITE_TAGS = ("<rewrite>", "</rewrite>")
ELABORATION_WORDS = tuple((
    "i have been thinking about this for a while , so please answer the question above in full , in your own "
    "words , with every detail that matters to me and nothing left out ; take your time and write a complete answer "
    "that i can read again later when i come back to it ."
).split())
"""Neutral words appended by ``elaborate`` (cycled if more are needed). They name no objective: no word of them is
an intent cue of the toy world (a test checks that elaborating a world prompt leaves its invited objectives)."""

_WORD = re.compile(r"\w+")


def split_prompt(prompt: str) -> Tuple[str, str, str]:
    """``(head, question, tail)`` with ``head + question + tail == prompt``: the question is the text of the last
    ``Human:`` turn (stripped of surrounding spaces), ``tail`` the ``\\n\\nAssistant:`` after it. A prompt without a
    ``Human:`` turn is all question: ``("", prompt, "")``."""
    start = prompt.rfind(HUMAN_TURN)
    if start < 0:
        return "", prompt, ""
    end = prompt.find(ASSISTANT_TURN, start)
    end = len(prompt) if end < 0 else end
    body = prompt[start + len(HUMAN_TURN):end]
    lead = len(body) - len(body.lstrip())
    trail = len(body.rstrip())
    head = prompt[:start + len(HUMAN_TURN) + lead]
    return head, body[lead:trail], prompt[start + len(HUMAN_TURN) + trail:]


def rebuild_prompt(prompt: str, question: str) -> str:
    """``prompt`` with its question (``split_prompt``) replaced by ``question``."""
    head, _, tail = split_prompt(prompt)
    return head + question + tail


def append_intents(question: str, phrases: Sequence[str]) -> str:
    """``"<question> please also <p1> ."``, ``"... please also <p1> and <p2> ."``, ``"... <p1> , <p2> and <p3> ."``;
    the question unchanged when ``phrases`` is empty."""
    phrases = [phrase.strip() for phrase in phrases if phrase.strip()]
    if not phrases:
        return question
    listed = phrases[0] if len(phrases) == 1 else " , ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{question} please also {listed} ."


def template_rewrite(prompt: str, intents: Sequence[str], phrases: Mapping[str, str]) -> str:
    """The deterministic rewriter: P' = P with ``append_intents`` on its question, one phrase per objective of
    ``intents`` (in that order; an objective without a phrase in ``phrases`` is a KeyError naming it)."""
    missing = [objective for objective in intents if objective not in phrases]
    if missing:
        raise KeyError(f"no intent phrase for objective(s) {missing}; phrases exist for {sorted(phrases)}")
    head, question, tail = split_prompt(prompt)
    return head + append_intents(question, [phrases[objective] for objective in intents]) + tail


def load_template(path: str | Path) -> str:
    """The LM rewrite template at ``path``; a ValueError if it lacks ``{question}`` or ``{intents}``."""
    template = Path(path).read_text()
    absent = [field for field in TEMPLATE_FIELDS if field not in template]
    if absent:
        raise ValueError(f"rewrite template {path} lacks {', '.join(absent)}")
    return template


def rewrite_request(template: str, prompt: str, intent_descriptions: Sequence[str]) -> str:
    """The rewriter LM's input: ``template`` with ``{question}`` = P's question and ``{intents}`` = one
    ``- description`` line per intent to add. Only these two fields are replaced (other braces are left as written)."""
    _, question, _ = split_prompt(prompt)
    intents = "\n".join(f"- {description}" for description in intent_descriptions)
    return template.replace("{question}", question).replace("{intents}", intents)


def parse_rewrite(answer: str) -> str:
    """The rewritten question in an LM's ``answer``: the text between the first ``<rewrite>`` and the next
    ``</rewrite>`` (to the end if unclosed); without the tag, its first non-empty line. Whitespace is collapsed;
    "" when nothing is there (``rewrite_problem`` then says ``empty``)."""
    opening, closing = REWRITE_TAGS
    start = answer.find(opening)
    if start >= 0:
        text = answer[start + len(opening):]
        text = text.split(closing, 1)[0]
    else:
        text = next((line for line in answer.splitlines() if line.strip()), "")
    return " ".join(text.split())


def rewrite_problem(original_prompt: str, rewritten_prompt: str, max_words: int = 96,
                    keep_fraction: float = 0.8) -> Optional[str]:
    """Why the rewrite may not be used — one of ``REWRITE_PROBLEMS`` (module docstring) — or None if it is valid.
    Both prompts are reduced to their questions (``split_prompt``); words are lower-cased ``\\w+`` tokens."""
    original_words = _WORD.findall(split_prompt(original_prompt)[1].lower())
    rewritten_words = _WORD.findall(split_prompt(rewritten_prompt)[1].lower())
    if not rewritten_words:
        return "empty"
    if len(rewritten_words) > max_words:
        return "too_long"
    distinct = set(original_words)
    if distinct and len(distinct & set(rewritten_words)) < keep_fraction * len(distinct):
        return "question_dropped"
    if rewritten_words == original_words:
        return "unchanged"
    return None


def word_count(text: str) -> int:
    """Whitespace-separated words of ``text`` (the default length of ``elaborate``)."""
    return len(text.split())


def token_count(tokenizer) -> Callable[[str], int]:
    """A ``length`` for ``elaborate``: the number of ``tokenizer``'s tokens of a text, without special tokens."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def elaborate(prompt: str, target_length: int, length: Callable[[str], int] = word_count,
              focus_phrase: str = "") -> str:
    """The equal-length single-objective elaboration of ``prompt``: its question, then ``"please <focus_phrase> ."``
    if given, then the first m words of ``ELABORATION_WORDS`` (cycled), with m chosen so that ``length`` of the
    whole prompt is closest to ``target_length`` (ties: the smaller m). Assumes ``length`` does not shrink when a
    word is added (true for words and for subword tokens); the search stops once the target is reached (and after
    ``target_length`` words at most)."""
    head, question, tail = split_prompt(prompt)
    base = f"{question} please {focus_phrase.strip()} ." if focus_phrase.strip() else question
    best_text, best_gap = base, abs(length(head + base + tail) - target_length)
    words = []
    while len(words) < target_length and length(head + " ".join([base] + words) + tail) < target_length:
        words.append(ELABORATION_WORDS[len(words) % len(ELABORATION_WORDS)])
        text = " ".join([base] + words)
        gap = abs(length(head + text + tail) - target_length)
        if gap < best_gap:
            best_text, best_gap = text, gap
    return head + best_text + tail
