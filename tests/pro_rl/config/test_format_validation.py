"""data.prompt_format and tiny_tokenizer_corpus are checked at load time, one line naming the key."""

import pytest

from pro_rl.config import load_config
from pro_rl.config.errors import ConfigError
from pro_rl.config.schema import ProRLConfig


def test_prompt_format_and_tokenizer_corpus_are_checked():
    with pytest.raises(ConfigError, match="key 'data.prompt_format': 'html' is not one of auto, plain, hh, chat"):
        load_config(ProRLConfig(), ["data.prompt_format=html"])
    with pytest.raises(ConfigError, match="key 'orchestrator.tiny_tokenizer_corpus': 'mine' is not one of"):
        load_config(ProRLConfig(), ["orchestrator.tiny_tokenizer_corpus=mine"])
    with pytest.raises(ConfigError, match="key 'data.prompt_format': 'chat' needs a chat template, but policy is"):
        load_config(ProRLConfig(), ["data.prompt_format=chat", "policy.model=tiny:gpt2"])
