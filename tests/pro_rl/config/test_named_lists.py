"""``base:`` merges lists of named entries (reward_models) by name; unnamed lists and replace_lists replace."""

import pytest

from pro_rl.config import load_config
from pro_rl.config.errors import ConfigError

BASE = """
reward_models:
  - {name: helpful, model: tiny:gpt2, data: h.jsonl, training: {learning_rate: 1.0e-3, max_length: 96}}
  - {name: harmless, model: tiny:gpt2, data: s.jsonl, training: {learning_rate: 1.0e-3, max_length: 96}}
"""


def write(tmp_path, text: str, name: str = "run.yaml"):
    (tmp_path / "h.jsonl").touch(), (tmp_path / "s.jsonl").touch(), (tmp_path / "j.jsonl").touch()
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_entries_merge_by_name_and_new_names_append(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(write(tmp_path, """base: base.yaml
reward_models:
  - {name: harmless, training: {max_length: 128}}
  - {name: humor, model: tiny:gpt2, data: j.jsonl}
"""))
    assert config.objectives == ["helpful", "harmless", "humor"]  # the base's order, then the new name
    helpful, harmless, humor = config.reward_models
    assert (helpful.data, helpful.training.max_length) == ("h.jsonl", 96)
    assert (harmless.model, harmless.data, harmless.training.learning_rate, harmless.training.max_length) == \
        ("tiny:gpt2", "s.jsonl", 1e-3, 128)
    assert (humor.data, humor.training.max_length) == ("j.jsonl", 512)


def test_merge_goes_through_a_chain_of_bases(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base: base.yaml\nreward_models:\n  - {name: helpful, training: {max_length: 64}}\n", "middle.yaml")
    config = load_config(write(tmp_path, "base: middle.yaml\nreward_models:\n  - {name: helpful, batch_size: 4}\n"))
    assert [(m.name, m.batch_size, m.training.max_length) for m in config.reward_models] == \
        [("helpful", 4, 64), ("harmless", 16, 96)]


def test_an_empty_list_drops_and_replace_lists_replaces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dropped = load_config(write(tmp_path, "base: base.yaml\nreward_models: []\n"))
    assert dropped.reward_models == []
    replaced = load_config(write(tmp_path, """base: base.yaml
replace_lists: [reward_models]
reward_models:
  - {name: humor, model: tiny:gpt2}
"""))
    assert replaced.objectives == ["humor"] and replaced.reward_models[0].data == ""


def test_replace_lists_must_be_a_list_of_keys(tmp_path):
    with pytest.raises(ConfigError, match="key 'replace_lists': expected a list of dotted keys"):
        load_config(write(tmp_path, "base: base.yaml\nreplace_lists: reward_models\n"))


def test_lists_of_plain_values_still_replace(tmp_path):
    (tmp_path / "base.yaml").write_text("run: {report_to: [tensorboard, none]}\n")
    path = tmp_path / "run.yaml"
    path.write_text("base: base.yaml\nrun: {report_to: [none]}\n")
    assert load_config(path).run.report_to == ["none"]


def test_tiny_orchestrator_config_keeps_the_base_settings_by_name():
    from tests.configs.test_configs import CONFIG_DIR, stand_ins

    path = CONFIG_DIR / "tiny" / "orchestrator.yaml"
    overrides = [item for item in stand_ins(path) if not item.startswith("reward_models.")]
    overrides += [f"reward_models.{i}.model=tiny:gpt2" for i in range(3)]
    config = load_config(path, overrides)
    assert config.objectives == ["helpful", "harmless", "humor"]
    assert [m.training.max_length for m in config.reward_models] == [96, 96, 96]
    assert config.reward_models[0].data.endswith("pairs_helpful.jsonl")

