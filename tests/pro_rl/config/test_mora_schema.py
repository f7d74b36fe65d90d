"""The mora config section: help on every field, defaults that match the detection rule's, and one-line errors."""

from dataclasses import fields

import pytest

from pro_rl.algorithms.mora import DETECTION_DEFAULTS
from pro_rl.config import ConfigError, load_config
from pro_rl.config.mora_schema import MoraConfig


def test_every_field_has_one_line_help_and_detection_defaults_are_the_measured_ones():
    for item in fields(MoraConfig):
        assert item.metadata["help"] and "\n" not in item.metadata["help"]
    defaults = MoraConfig()
    assert {"statistic": defaults.detect_statistic, "high": defaults.detect_high,
            "low": defaults.detect_low} == DETECTION_DEFAULTS


def test_the_tiny_config_loads():
    config = load_config("configs/tiny/mora.yaml")
    assert config.pipeline == "mora" and config.objectives == ["helpful", "harmless", "humor"]
    assert config.mora.arms == ["mora", "original", "elaboration"] and config.run.seeds == 3


@pytest.mark.parametrize("override, key, words", [
    ("mora.mode=both", "mora.mode", "is not one of simultaneous, sequential"),
    ("mora.arms=[mora,mora]", "mora.arms", "name each arm once"),
    ("mora.arms=[original]", "mora.arms", "must include 'mora'"),
    ("mora.scaling_fractions=[1.0]", "mora.scaling_fractions.0", "must be in (0, 1)"),
    ("mora.detect_low=0.9", "mora.detect_low", "is above mora.detect_high"),
    ("mora.pair_weights=[1,1]", "mora.pair_weights", "needs 3 weights"),
    ("mora.objective_order=[humor,helpful]", "mora.objective_order", "must name each objective"),
    ("mora.coverage_box=[[0,0,0],[1,0,1]]", "mora.coverage_box", "ideal above reference"),
    ("mora.rewriter=lm", "mora.rewriter_model", "empty, but mora.rewriter is 'lm'"),
    ("mora.samples_per_prompt=1", "mora.samples_per_prompt", "must be ≥ 2"),
    ("mora.world=data", "data.prompts", "mora.world is 'data'"),
    ("mora.intent_phrases={helpful: explain each step}", "mora.intent_phrases", "no phrase for objective(s) "
                                                                               "['harmless', 'humor']"),
])
def test_bad_values_are_one_line_errors_naming_the_key(override, key, words):
    extra = ["data.prompts=''"] if override == "mora.world=data" else []
    with pytest.raises(ConfigError) as caught:
        load_config("configs/tiny/mora.yaml", [override, *extra])
    assert caught.value.key == key and words in caught.value.reason and "\n" not in str(caught.value)


def test_ranges_read_as_written_also_when_unbounded():
    import math

    from pro_rl.config.fields import Range

    assert str(Range()) == "any finite number"
    assert str(Range(high=0.5, high_open=True)) == "< 0.5" and str(Range(high=2)) == "≤ 2"
    assert str(Range(0, low_open=True)) == "> 0" and str(Range(0, 1, high_open=True)) == "in [0, 1)"
    assert 1e300 in Range() and math.inf not in Range()
