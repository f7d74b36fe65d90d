"""The run directory: resolved config.yaml, run.log; refusing, overwriting or continuing an earlier run."""

import logging
from pathlib import Path

import pytest

from pro_rl.config import ConfigError, load_config
from pro_rl.training.run_dir import (
    CLEARED_ON_OVERWRITE,
    RUN_MARKERS,
    check_run_dir,
    config_differences,
    configure_logging,
    holds_run,
    prepare_run_dir,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
TINY_REWARD_MODELS = REPO_ROOT / "configs" / "tiny" / "reward_models.yaml"


@pytest.fixture(autouse=True)
def restore_pro_rl_logger():
    """prepare_run_dir adds handlers to the 'pro_rl' logger; put it back as it was."""
    logger = logging.getLogger("pro_rl")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in logger.handlers:
        if handler not in handlers:
            handler.close()
    logger.handlers[:] = handlers
    logger.setLevel(level)


def leftovers(output_dir: Path) -> None:
    (output_dir / "checkpoints" / "step-000001").mkdir(parents=True)
    (output_dir / "tensorboard").mkdir()
    (output_dir / "metrics.jsonl").write_text('{"step": 1}\n')
    (output_dir / "final").mkdir()
    (output_dir / "notes.txt").write_text("mine")


def test_writes_the_resolved_config(tmp_path):
    config = load_config(TINY_REWARD_MODELS, [f"run.output_dir={tmp_path / 'run'}", "algorithm.kl_coef=0.05"])
    output_dir = prepare_run_dir(config)
    assert output_dir == tmp_path / "run"
    text = (output_dir / "config.yaml").read_text()
    assert "${" not in text and "kl_coef: 0.05" in text
    assert load_config(output_dir / "config.yaml") == config


def snapshot(directory: Path) -> dict:
    return {str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None) for p in directory.rglob("*")}


def earlier_run(output_dir: Path, *overrides: str) -> dict:
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", *overrides]))
    leftovers(output_dir)
    return snapshot(output_dir)


def test_a_fresh_start_into_another_run_refuses_and_changes_nothing(tmp_path):
    output_dir = tmp_path / "run"
    before = earlier_run(output_dir)
    config = load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}"])
    for attempt in (check_run_dir, prepare_run_dir):
        with pytest.raises(ConfigError) as caught:
            attempt(config)
        message = str(caught.value)
        assert len(message.splitlines()) == 1
        assert message.startswith(f"key 'run.output_dir': {output_dir} already holds a run")
        assert "run.overwrite=true" in message and "run.resume=auto" in message
    assert snapshot(output_dir) == before


@pytest.mark.parametrize("marker", RUN_MARKERS)
def test_any_one_marker_means_a_run(tmp_path, marker):
    output_dir = tmp_path / "run"
    output_dir.mkdir()
    (output_dir / marker).mkdir()
    assert holds_run(output_dir)
    with pytest.raises(ConfigError, match="already holds a run"):
        check_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}"]))


def test_a_directory_without_a_run_is_used_as_it_is(tmp_path):
    output_dir = tmp_path / "run"
    output_dir.mkdir()
    (output_dir / "notes.txt").write_text("mine")
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}"]))
    assert (output_dir / "notes.txt").read_text() == "mine" and (output_dir / "config.yaml").is_file()


def test_overwrite_clears_what_an_earlier_run_left(tmp_path):
    output_dir = tmp_path / "run"
    earlier_run(output_dir)
    (output_dir / "report.md").write_text("old report")
    (output_dir / "summary.json").write_text("{}")
    (output_dir / "mlruns").mkdir()
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", "run.overwrite=true"]))
    for name in CLEARED_ON_OVERWRITE:
        assert not (output_dir / name).exists(), name
    assert (output_dir / "notes.txt").read_text() == "mine"
    assert sorted(CLEARED_ON_OVERWRITE) == ["checkpoints", "final", "metrics.jsonl", "mlruns", "plots", "report.md",
                                            "summary.json", "tensorboard", "wandb"]


def test_resume_auto_with_the_same_config_keeps_the_earlier_run(tmp_path):
    output_dir = tmp_path / "run"
    earlier_run(output_dir, "algorithm.kl_coef=0.05")
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", "algorithm.kl_coef=0.05",
                                                     "run.resume=auto", "run.progress=false"]))
    assert (output_dir / "checkpoints" / "step-000001").is_dir()
    assert (output_dir / "metrics.jsonl").read_text() == '{"step": 1}\n'
    assert (output_dir / "tensorboard").is_dir() and (output_dir / "final").is_dir()


def test_resume_auto_with_another_config_refuses_naming_a_key(tmp_path):
    output_dir = tmp_path / "run"
    before = earlier_run(output_dir, "algorithm.kl_coef=0.05")
    config = load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", "algorithm.kl_coef=0.1",
                                              "run.resume=auto"])
    with pytest.raises(ConfigError) as caught:
        prepare_run_dir(config)
    assert str(caught.value) == (
        f"key 'run.output_dir': {output_dir} holds a different run, so run.resume=auto cannot continue it: "
        "key 'algorithm.kl_coef' was 0.05, now 0.1; pass run.overwrite=true to continue anyway or choose another "
        "run.output_dir")
    assert snapshot(output_dir) == before


def test_resume_auto_with_overwrite_continues_a_changed_config(tmp_path, caplog):
    output_dir = tmp_path / "run"
    earlier_run(output_dir, "algorithm.steps=4")
    config = load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", "algorithm.steps=8",
                                              "run.resume=auto", "run.overwrite=true"])
    with caplog.at_level(logging.WARNING, logger="pro_rl.training"):
        prepare_run_dir(config)
    assert "key 'algorithm.steps' was 4, now 8" in caplog.text
    assert (output_dir / "checkpoints" / "step-000001").is_dir()
    assert load_config(output_dir / "config.yaml").algorithm.steps == 8


def test_config_differences_ignore_how_the_run_is_started():
    base = load_config(TINY_REWARD_MODELS)
    other = load_config(TINY_REWARD_MODELS, ["run.resume=auto", "run.overwrite=true", "run.progress=false",
                                             "run.output_dir=elsewhere"])
    assert config_differences(base, other) == []
    changed = load_config(TINY_REWARD_MODELS, ["reward_models.1.training.learning_rate=0.5"])
    assert config_differences(base, changed) == [
        f"key 'reward_models.1.training.learning_rate' was {base.reward_models[1].training.learning_rate!r}, now 0.5"]


def test_run_log_receives_pro_rl_messages(tmp_path):
    output_dir = prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={tmp_path / 'run'}"]))
    logging.getLogger("pro_rl.training").info("hello from the test")
    for handler in logging.getLogger("pro_rl").handlers:
        handler.flush()
    assert "INFO pro_rl.training: hello from the test" in (output_dir / "run.log").read_text()


def test_a_second_run_logs_to_its_own_file_only(tmp_path):
    configure_logging(tmp_path / "first.log")
    configure_logging(tmp_path / "first.log")  # once per file
    configure_logging(tmp_path / "second.log")
    root = logging.getLogger("pro_rl")
    files = [h.baseFilename for h in root.handlers if isinstance(h, logging.FileHandler)]
    assert files == [str((tmp_path / "second.log").resolve())]
    consoles = [h for h in root.handlers if type(h) is logging.StreamHandler]
    assert len(consoles) == 1
    root.info("only in the second")
    assert "only in the second" not in (tmp_path / "first.log").read_text()
    assert "only in the second" in (tmp_path / "second.log").read_text()


def test_run_log_carries_the_logged_metrics_and_the_console_does_not(tmp_path):
    from pro_rl.training.metrics import MetricsLogger

    output_dir = prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={tmp_path / 'run'}"]))
    metrics = MetricsLogger(output_dir, tensorboard=False)
    metrics.log(12, {"train/loss": 0.693147, "eval/kl": 0.1234567, "note": "ok"})
    logging.getLogger("pro_rl.training").info("a summary line")
    for handler in logging.getLogger("pro_rl").handlers:
        handler.flush()
    text = (output_dir / "run.log").read_text()
    assert "INFO pro_rl.metrics: step 12 train/loss=0.6931 eval/kl=0.1235 note=ok" in text
    consoles = [handler for handler in logging.getLogger("pro_rl").handlers
                if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)]
    assert consoles  # the console handler (which stream it writes to depends on who configured logging first)
    for name, expected in (("pro_rl.training", True), ("pro_rl.metrics", False)):
        record = logging.LogRecord(name, logging.INFO, __file__, 0, "line", None, None)
        assert all(bool(console.filter(record)) is expected for console in consoles)
