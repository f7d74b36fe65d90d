"""Config loading: paper defaults, YAML + dotted overrides, ``base:`` inheritance, help on every field, and
one ``ConfigError`` naming the key and the file for every kind of bad config (DESIGN.md "Rules for failure")."""

from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from pro_rl.config import ConfigError, ProRLConfig, field_help, load_config, save_config
from pro_rl.config.schema import RewardModelConfig
from pro_rl.data.toy_world import shipped_dir

REPO_ROOT = Path(__file__).resolve().parents[3]
TINY_REWARD_MODELS = REPO_ROOT / "configs" / "tiny" / "reward_models.yaml"


def write_yaml(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


# ---- defaults ---------------------------------------------------------------------------------------------------

def test_defaults_equal_paper_values():
    config = load_config(ProRLConfig())
    assert config.orchestrator.model == "FacebookAI/xlm-roberta-base"
    assert config.orchestrator.training.learning_rate == 1e-5
    assert config.orchestrator.training.batch_size == 32
    assert config.orchestrator.tau == 0.1
    assert config.rollout.temperature == 0.8
    assert config.rollout.top_p == 0.95
    assert config.rollout.num_samples == 8
    assert config.algorithm.kl_coef == 0.1
    assert config.policy.learning_rate == 5e-7
    assert config.weights.mode == "orchestrator"
    assert config.reward_models == []


def test_reward_model_training_defaults_are_papers():
    training = RewardModelConfig(name="helpful", model="tiny:gpt2").training
    assert (training.learning_rate, training.batch_size) == (1e-5, 32)


def _walk_fields(node, prefix=""):
    for f in fields(node):
        yield f"{prefix}{f.name}", f
        default = f.default_factory() if callable(f.default_factory) else f.default
        if is_dataclass(default):
            yield from _walk_fields(default, f"{prefix}{f.name}.")


def test_every_field_has_a_help_line():
    walked = list(_walk_fields(ProRLConfig))
    walked += [(f"reward_models.*.{key}", f) for key, f in _walk_fields(RewardModelConfig)]
    assert len(walked) > 100
    missing = [key for key, f in walked if not str(f.metadata.get("help", "")).strip()]
    assert missing == []


def test_field_help_lists_every_key_with_its_help():
    text = field_help()
    assert "algorithm.kl_coef = 0.1: β of the KL penalty (PRO Table 6)." in text
    assert "orchestrator.training.learning_rate = 1e-05: AdamW learning rate." in text
    keys = {line.split(" ")[0].rstrip(":") for line in text.splitlines()}
    assert {key for key, _ in _walk_fields(ProRLConfig)} == keys


# ---- YAML, overrides, base ------------------------------------------------------------------------------------

def test_yaml_values_and_dotted_overrides(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", """
pipeline: reward_models
algorithm:
  kl_coef: 0.2
reward_models:
  - {name: helpful, model: tiny:gpt2}
  - {name: humor, model: tiny:gpt2, training: {learning_rate: 1.0e-3}}
""")
    config = load_config(path, ["algorithm.kl_coef=0.05", "reward_models.1.training.learning_rate=0.25",
                                "run.seed=7", "rollout.num_samples=4"])
    assert config.pipeline == "reward_models"
    assert config.algorithm.kl_coef == 0.05
    assert config.reward_models[1].training.learning_rate == 0.25
    assert config.reward_models[0].training.learning_rate == 1e-5  # the entry's own default is untouched
    assert config.run.seed == 7 and config.rollout.num_samples == 4
    assert config.objectives == ["helpful", "humor"]
    assert config.rollout.temperature == 0.8  # not named anywhere: still the default


def test_overrides_convert_values_to_the_field_type():
    config = load_config(ProRLConfig(), ["run.progress=false"])
    assert config.run.progress is False
    config = load_config(ProRLConfig(), ["algorithm.kl_coef=1"])
    assert isinstance(config.algorithm.kl_coef, float) and config.algorithm.kl_coef == 1.0


def test_base_inheritance_is_relative_to_the_file(tmp_path):
    (tmp_path / "shared").mkdir()
    write_yaml(tmp_path / "shared", "base.yaml", """
run: {seed: 3, name: base-run}
algorithm: {kl_coef: 0.3, steps: 5}
""")
    child = write_yaml(tmp_path, "child.yaml", """
base: shared/base.yaml
run: {name: child-run}
algorithm: {steps: 9}
""")
    config = load_config(child)
    assert config.run.seed == 3  # from the base
    assert config.run.name == "child-run"  # the child wins
    assert (config.algorithm.kl_coef, config.algorithm.steps) == (0.3, 9)


def test_base_files_in_a_loop_fail(tmp_path):
    write_yaml(tmp_path, "a.yaml", "base: b.yaml\n")
    write_yaml(tmp_path, "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(tmp_path / "a.yaml")


def test_tiny_config_inherits_the_shared_base():
    config = load_config(TINY_REWARD_MODELS)
    assert config.pipeline == "reward_models"
    assert config.objectives == ["helpful", "harmless", "humor"]
    assert config.reward_models[0].training.learning_rate == 1e-3
    assert config.orchestrator.model == "tiny:xlm-roberta"
    assert config.run.device == "cpu"


def test_toy_world_resolver_gives_the_shipped_files():
    config = load_config(TINY_REWARD_MODELS)
    general_pairs = Path(config.data.general_pairs)
    assert general_pairs == shipped_dir() / "general_pairs.jsonl"
    assert general_pairs.is_file() and general_pairs.stat().st_size > 0
    assert Path(config.reward_models[2].data) == shipped_dir() / "pairs_humor.jsonl"


def test_toy_world_resolver_names_an_unknown_file(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "data:\n  prompts: ${toy_world:no_such_table}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "data.prompts" in str(error.value) and "no_such_table" in str(error.value)


def test_save_config_round_trips(tmp_path):
    config = load_config(TINY_REWARD_MODELS, ["weights.mode=fixed", "weights.fixed=[0.2,0.3,0.5]",
                                              "extra.note=hello", f"run.output_dir={tmp_path / 'run'}"])
    written = save_config(config, tmp_path / "run" / "config.yaml")
    assert written == tmp_path / "run" / "config.yaml"
    assert "${" not in written.read_text()  # fully resolved
    assert load_config(written) == config


# ---- errors: one ConfigError naming the key and the file --------------------------------------------------------

def assert_names(error: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(error.value)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_misspelled_key_in_yaml_names_key_and_file(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "algorithm:\n  kl_coeff: 0.2\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "kl_coeff", str(path))


def test_unknown_top_level_section_names_key_and_file(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "algorithms:\n  name: rloo\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "algorithms", str(path))


def test_unknown_override_key_names_key_and_file():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["algorithm.kl_coeff=0.1"])
    assert_names(error, "algorithm.kl_coeff", str(TINY_REWARD_MODELS))


def test_unknown_key_in_a_list_entry_override():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["reward_models.0.lerning_rate=0.1"])
    assert_names(error, "reward_models.0.lerning_rate", str(TINY_REWARD_MODELS))


def test_override_without_equals_sign():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["algorithm.kl_coef"])
    assert_names(error, "algorithm.kl_coef", "key=value")


def test_wrong_type_in_yaml_names_key_and_file(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "algorithm:\n  kl_coef: lots\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "algorithm.kl_coef", str(path), "lots")


def test_wrong_type_in_override_names_key_and_file():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["run.seed=abc"])
    assert_names(error, "run.seed", str(TINY_REWARD_MODELS), "abc")


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as error:
        load_config(missing)
    assert_names(error, str(missing), "not found")


def test_missing_data_file_names_key_and_file(tmp_path):
    missing = tmp_path / "prompts.jsonl"
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, [f"data.prompts={missing}"])
    assert_names(error, "data.prompts", str(TINY_REWARD_MODELS), str(missing))


def test_missing_reward_model_data_file_names_its_entry(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", """
reward_models:
  - {name: helpful, model: tiny:gpt2, data: data/helpful.jsonl}
""")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "reward_models.0.data", str(path), "data/helpful.jsonl")


@pytest.mark.parametrize("tau", ["0", "-0.5"])
def test_non_positive_tau(tau):
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, [f"orchestrator.tau={tau}"])
    assert_names(error, "orchestrator.tau", str(TINY_REWARD_MODELS))


@pytest.mark.parametrize("fixed", ["[0.5,0.6,0.0]", "[1.2,-0.2,0.0]", "[0.1,0.1,0.1]"])
def test_fixed_weights_off_the_simplex(fixed):
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["weights.mode=fixed", f"weights.fixed={fixed}"])
    assert_names(error, "weights.fixed", str(TINY_REWARD_MODELS), "simplex")


def test_fixed_weights_on_the_simplex_are_accepted():
    config = load_config(TINY_REWARD_MODELS, ["weights.mode=fixed", "weights.fixed=[0.2,0.3,0.5]"])
    assert config.weights.fixed == [0.2, 0.3, 0.5]


def test_fixed_weights_k_mismatch():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["weights.mode=fixed", "weights.fixed=[0.5,0.5]"])
    assert_names(error, "weights.fixed", str(TINY_REWARD_MODELS), "K mismatch", "3 objectives")


def test_invalid_choice_names_key_value_and_choices():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["algorithm.name=foo"])
    assert_names(error, "algorithm.name", str(TINY_REWARD_MODELS), "'foo'", "online_dpo, ppo, rloo")


def test_invalid_choice_in_yaml(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "orchestrator:\n  kl_direction: sideways\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "orchestrator.kl_direction", str(path), "sideways")


def test_duplicate_objective_names():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["reward_models.1.name=helpful"])
    assert_names(error, "reward_models", str(TINY_REWARD_MODELS), "unique")


def test_reward_model_without_model(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "reward_models:\n  - {name: helpful}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "reward_models.0.model", str(path))


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# ---- known gaps (see the test report): messages that lose the key or the file ------------------------------------


def test_unknown_key_in_a_base_file_names_the_base_file(tmp_path):
    base = write_yaml(tmp_path, "base.yaml", "algorithm:\n  kl_coeff: 0.2\n")
    child = write_yaml(tmp_path, "child.yaml", "base: base.yaml\n")
    with pytest.raises(ConfigError) as error:
        load_config(child)
    assert_names(error, "kl_coeff", str(base))



def test_unknown_key_in_a_yaml_list_entry_names_its_full_key(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "reward_models:\n  - {name: helpful, model: tiny:gpt2, trainin: {}}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "reward_models.0.trainin", str(path))



def test_scalar_for_a_section_names_the_section(tmp_path):
    path = write_yaml(tmp_path, "run.yaml", "algorithm: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_names(error, "'algorithm'", str(path))


# ---- ranges of every numeric key, and secrets ---------------------------------------------------------------------

def test_every_numeric_key_has_a_range_that_its_help_states():
    from pro_rl.config.validation import numeric_fields

    config = load_config(TINY_REWARD_MODELS)
    numeric = {key for key, f in _walk_fields(ProRLConfig) if f.type in ("int", "float")}
    ranged = {key for key, _, _ in numeric_fields(config) if not key.startswith("reward_models.")}
    assert numeric == ranged and len(ranged) > 60
    text = field_help()
    assert "algorithm.steps = 100: RL steps (one batch of prompts each). Range: ≥ 1." in text
    assert "rollout.top_p = 0.95: Nucleus sampling top-p (PRO Table 6: 0.95). Range: in (0, 1]." in text


def test_every_float_key_refuses_non_finite_values():
    """Each float key gets one of nan, inf and -inf in turn (each value reaches a third of the keys; loading a config
    per key and value would take the suite a minute)."""
    from pro_rl.config.validation import numeric_fields

    config = load_config(TINY_REWARD_MODELS)
    float_keys = [key for key, current, _ in numeric_fields(config) if isinstance(current, float)]
    assert len(float_keys) > 25
    values = ["nan", "inf", "-inf"]
    for index, key in enumerate(float_keys):
        value = values[index % len(values)]
        with pytest.raises(ConfigError) as error:
            load_config(TINY_REWARD_MODELS, [f"{key}={value}"])
        assert error.value.key == key and value.lstrip("-") in error.value.reason


def test_env_secrets_stay_unresolved_in_saved_and_printed_configs(tmp_path, monkeypatch):
    from pro_rl.config import to_yaml

    monkeypatch.setenv("PRO_RL_TEST_SECRET", "s3cr3t-value")
    path = write_yaml(tmp_path, "run.yaml", f"base: {TINY_REWARD_MODELS}\nrun:\n  name: ${{oc.env:PRO_RL_TEST_SECRET}}\n")
    config = load_config(path, ["extra.token=${oc.env:PRO_RL_TEST_SECRET}"])
    assert config.run.name == "s3cr3t-value" and config.extra["token"] == "s3cr3t-value"  # the run uses the value
    written = save_config(config, tmp_path / "run" / "config.yaml").read_text()
    assert "s3cr3t-value" not in written and "s3cr3t-value" not in to_yaml(config)
    assert "name: ${oc.env:PRO_RL_TEST_SECRET}" in written and "token: ${oc.env:PRO_RL_TEST_SECRET}" in written
    assert load_config(tmp_path / "run" / "config.yaml") == config


def test_override_with_a_double_equals_is_an_error():
    with pytest.raises(ConfigError) as error:
        load_config(TINY_REWARD_MODELS, ["run.name==b"])
    assert error.value.key == "run.name" and "run.name='=b'" in error.value.reason
    assert load_config(TINY_REWARD_MODELS, ["run.name='=b'"]).run.name == "=b"


def test_config_error_one_line_names_key_and_file():
    error = ConfigError("configs/x.yaml: key 'algorithm.steps': must be ≥ 1, got 0")
    assert (error.origin, error.key, error.reason) == ("configs/x.yaml", "algorithm.steps", "must be ≥ 1, got 0")
    assert error.one_line() == "must be ≥ 1, got 0 (key 'algorithm.steps' in configs/x.yaml)"
    assert ConfigError("plain message").one_line() == "plain message"
    import pickle
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
