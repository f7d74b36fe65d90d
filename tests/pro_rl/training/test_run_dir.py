"""The run directory: resolved config.yaml, run.log, and fresh start vs resume."""

import logging
from pathlib import Path

import pytest

from pro_rl.config import load_config
from pro_rl.training.run_dir import CLEARED_ON_FRESH_START, configure_logging, prepare_run_dir

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


def test_fresh_start_clears_what_an_earlier_run_left(tmp_path):
    output_dir = tmp_path / "run"
    output_dir.mkdir()
    leftovers(output_dir)
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}"]))
    for name in CLEARED_ON_FRESH_START:
        assert not (output_dir / name).exists(), name
    assert (output_dir / "final").is_dir()  # not this function's to clear
    assert (output_dir / "notes.txt").read_text() == "mine"
    assert sorted(CLEARED_ON_FRESH_START) == ["checkpoints", "metrics.jsonl", "tensorboard"]


def test_resume_auto_keeps_the_earlier_run(tmp_path):
    output_dir = tmp_path / "run"
    output_dir.mkdir()
    leftovers(output_dir)
    prepare_run_dir(load_config(TINY_REWARD_MODELS, [f"run.output_dir={output_dir}", "run.resume=auto"]))
    assert (output_dir / "checkpoints" / "step-000001").is_dir()
    assert (output_dir / "metrics.jsonl").read_text() == '{"step": 1}\n'
    assert (output_dir / "tensorboard").is_dir()


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
