"""metrics.jsonl lines, tensorboard mirroring, truncation on resume, and stage timers."""

import json
import math
import time

import pytest

from pro_rl.training.metrics import MetricsLogger, StageTimer, read_metrics


def test_one_json_line_per_logged_step(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False)
    logger.log(1, {"loss/policy": 0.5, "reward/helpful/mean": 2})
    logger.log(2, {"loss/policy": 0.25, "note": "text"})
    logger.close()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"step": 1, "loss/policy": 0.5, "reward/helpful/mean": 2.0},
        {"step": 2, "loss/policy": 0.25, "note": "text"},
    ]
    assert isinstance(json.loads(lines[0])["reward/helpful/mean"], float)
    assert read_metrics(tmp_path / "metrics.jsonl") == [json.loads(line) for line in lines]
    assert logger.last == {"step": 2, "loss/policy": 0.25, "reward/helpful/mean": 2.0, "note": "text"}


def test_appends_to_an_existing_file(tmp_path):
    MetricsLogger(tmp_path, tensorboard=False).log(1, {"a": 1.0})
    MetricsLogger(tmp_path, tensorboard=False).log(2, {"a": 2.0})
    assert [row["step"] for row in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]


def test_nan_is_written_not_dropped(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=True)
    logger.log(1, {"kl/mean": float("nan")})
    logger.close()
    assert math.isnan(read_metrics(tmp_path / "metrics.jsonl")[0]["kl/mean"])


def test_truncate_after_drops_later_steps(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False)
    for step in (1, 2, 3, 4, 4):
        logger.log(step, {"x": float(step)})
    logger.truncate_after(2)
    assert [row["step"] for row in read_metrics(logger.path)] == [1, 2]
    logger.log(3, {"x": 30.0})
    assert [row["x"] for row in read_metrics(logger.path)] == [1.0, 2.0, 30.0]


def test_truncate_after_without_a_file(tmp_path):
    logger = MetricsLogger(tmp_path / "new", tensorboard=False)
    logger.truncate_after(5)
    assert not logger.path.exists()


def test_tensorboard_receives_finite_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = MetricsLogger(tmp_path, tensorboard=True)
    logger.log(1, {"reward/total/mean": 0.5, "kl/mean": float("inf")})
    logger.log(2, {"reward/total/mean": 0.75})
    logger.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert events.Tags()["scalars"] == ["reward/total/mean"]
    assert [(e.step, e.value) for e in events.Scalars("reward/total/mean")] == [(1, 0.5), (2, 0.75)]


def test_custom_filename(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False, filename="eval.jsonl")
    logger.log(0, {"a": 1.0})
    assert (tmp_path / "eval.jsonl").is_file() and not (tmp_path / "metrics.jsonl").exists()


def test_stage_timer_keys_and_values():
    timer = StageTimer()
    timer.start_step()
    with timer.stage("generate"):
        time.sleep(0.02)
    with timer.stage("score"):
        pass
    with timer.stage("generate"):  # a stage entered twice adds up
        time.sleep(0.02)
    values = timer.metrics()
    assert sorted(values) == ["time/generate_s", "time/score_s", "time/step_s"]
    assert values["time/generate_s"] >= 0.04
    assert 0 <= values["time/score_s"] < values["time/generate_s"]
    assert values["time/step_s"] >= values["time/generate_s"] + values["time/score_s"]


def test_stage_timer_counts_a_stage_that_raised():
    timer = StageTimer()
    with pytest.raises(RuntimeError):
        with timer.stage("update"):
            raise RuntimeError("boom")
    assert list(timer.metrics()) == ["time/update_s"]  # no step started: no time/step_s


def test_stage_timer_resets_per_step():
    timer = StageTimer()
    timer.start_step()
    with timer.stage("generate"):
        pass
    timer.start_step()
    with timer.stage("score"):
        pass
    assert sorted(timer.metrics()) == ["time/score_s", "time/step_s"]


def test_metrics_line_rounds_to_four_significant_digits():
    from pro_rl.training.metrics import metrics_line

    assert metrics_line({"step": 3, "loss/policy": 0.123456, "time/step_s": 12345.6, "kl/mean": float("nan")}) == \
        "step 3 loss/policy=0.1235 time/step_s=1.235e+04 kl/mean=nan"
