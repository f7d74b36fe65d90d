"""``run.report_to``: the same metrics in metrics.jsonl, tensorboard, wandb (offline) and mlflow (local file store);
the config as parameters with secrets unresolved; the objectives as tags; a missing tracker package refused."""

from __future__ import annotations

import glob
import importlib.util
import math
import struct
from pathlib import Path

import pytest

from pro_rl.config import load_config
from pro_rl.config.errors import ConfigError
from pro_rl.training.metrics import MetricsLogger, read_metrics
from pro_rl.training.trackers import tracker_key

TINY_RM = Path(__file__).resolve().parents[3] / "configs" / "tiny" / "reward_models.yaml"
LOGGED = {1: {"reward/total/mean": 0.5, "loss/policy": -1.25, "kl(seq)": 3.0},
          2: {"reward/total/mean": 0.75, "loss/policy": -1.0, "kl(seq)": float("nan")}}


def wandb_records(run_file: Path):
    """The protobuf records of an offline ``run-*.wandb`` file (a LevelDB-style log: a 7-byte file header, then
    32 KiB blocks of chunks, each with a 7-byte header: crc32, length, type 1 full / 2 first / 3 middle / 4 last)."""
    from wandb.proto import wandb_internal_pb2

    raw, position, pending = run_file.read_bytes(), 7, b""
    while position + 7 <= len(raw):
        room = 32768 - position % 32768
        if room < 7:
            position += room
            continue
        _, length, kind = struct.unpack("<IHB", raw[position:position + 7])
        if kind == 0:
            break
        pending += raw[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def offline_trackers(root: Path) -> pytest.MonkeyPatch:
    """wandb offline and silent under ``root``, mlflow on its run-local file store; undo the returned patch."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(root / "wandb_dir"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("trackers")
    monkeypatch = offline_trackers(root)
    monkeypatch.setenv("PRO_RL_TEST_SECRET", "hunter2-secret")
    config = load_config(TINY_RM, [f"run.output_dir={root / 'run'}", "run.report_to=[tensorboard,wandb,mlflow]",
                                   "extra={api_key: '${oc.env:PRO_RL_TEST_SECRET}'}"])
    assert config.extra["api_key"] == "hunter2-secret"
    logger = MetricsLogger(root / "run", config=config)
    for step, values in LOGGED.items():
        logger.log(step, values)
    logger.close()
    yield config, root / "run"
    monkeypatch.undo()


def test_every_tracker_gets_the_values_of_metrics_jsonl(logged_run):
    config, run_dir = logged_run
    expected = assert_trackers_hold_metrics_jsonl(config.run.name, run_dir)
    assert expected["kl_seq_"] == [(1, 3.0)] and len(expected) == 3


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """A tiny real run (three reward models, 2 steps each) through ``pipelines.run`` with all three trackers."""
    import pipelines

    root = tmp_path_factory.mktemp("tracked_pipeline")
    monkeypatch = offline_trackers(root)
    steps = [f"reward_models.{i}.training.max_steps=2" for i in range(3)]
    result = pipelines.run(str(TINY_RM), [f"run.output_dir={root / 'run'}", "run.progress=false", "data.max_rows=64",
                                          "run.report_to=[tensorboard,wandb,mlflow]", *steps])
    yield result
    monkeypatch.undo()


def test_a_tiny_pipeline_run_logs_the_same_values_to_all_three_trackers(pipeline_run):
    expected = assert_trackers_hold_metrics_jsonl(load_config(TINY_RM).run.name, pipeline_run.output_dir)
    assert any(key.startswith("eval/") for key in expected) and any(key.startswith("train/") for key in expected)


def assert_trackers_hold_metrics_jsonl(run_name: str, run_dir: Path) -> dict:
    """tensorboard, mlflow and wandb each hold exactly the finite values of ``metrics.jsonl`` (by tracker key and
    step); returns them."""
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    expected = {}  # tracker key -> [(step, value)] of the finite values metrics.jsonl holds
    for record in read_metrics(run_dir / "metrics.jsonl"):
        for key, value in record.items():
            if key != "step" and isinstance(value, float) and math.isfinite(value):
                expected.setdefault(tracker_key(key), []).append((record["step"], value))

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert {key: [(e.step, pytest.approx(e.value)) for e in events.Scalars(key)]
            for key in events.Tags()["scalars"]} == expected

    client = MlflowClient(tracking_uri=(run_dir / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name(run_name).experiment_id])
    assert run.info.run_name == run_name
    assert {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in run.data.metrics} == expected

    (run_file,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    history = {}
    for record in wandb_records(Path(run_file)):
        if record.WhichOneof("record_type") == "history":
            items = {item.key or "/".join(item.nested_key): float(item.value_json) for item in record.history.item}
            for key, value in items.items():
                if not key.startswith("_") and key != "step":
                    history.setdefault(key, []).append((int(items["step"]), value))
    assert history == expected
    return expected


def test_params_keep_secrets_unresolved_and_objectives_are_tags(logged_run):
    from mlflow.tracking import MlflowClient

    config, run_dir = logged_run
    client = MlflowClient(tracking_uri=(run_dir / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name(config.run.name).experiment_id])
    params = run.data.params
    assert params["extra.api_key"] == "${oc.env:PRO_RL_TEST_SECRET}" and params["run.name"] == config.run.name
    assert "hunter2-secret" not in str(params)
    assert run.data.tags["objectives"] == ",".join(config.objectives) == "helpful,harmless,humor"

    (run_file,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    (run_record,) = [r.run for r in wandb_records(Path(run_file)) if r.WhichOneof("record_type") == "run"]
    assert list(run_record.tags) == config.objectives and run_record.display_name == config.run.name
    wandb_config = str(run_record.config)
    assert "${oc.env:PRO_RL_TEST_SECRET}" in wandb_config and "hunter2-secret" not in wandb_config
    assert "hunter2-secret" not in Path(run_file).read_bytes().decode("utf-8", "replace")


def test_a_tracker_not_installed_is_refused_naming_the_extra(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real_find_spec(name, *a))
    with pytest.raises(ConfigError, match=r"key 'run.report_to'.*wandb.*pip install 'pro-rl\[wandb\]'"):
        load_config(TINY_RM, ["run.report_to=[tensorboard,wandb]"])


def test_unknown_tracker_is_refused():
    with pytest.raises(ConfigError, match=r"key 'run.report_to': 'comet' is not one of tensorboard, wandb, mlflow"):
        load_config(TINY_RM, ["run.report_to=[comet]"])


def test_default_is_tensorboard_and_none_opens_nothing(tmp_path):
    assert load_config(TINY_RM).run.report_to == ["tensorboard"]
    config = load_config(TINY_RM, [f"run.output_dir={tmp_path}", "run.report_to=[none]"])
    logger = MetricsLogger(tmp_path, config=config)
    logger.log(1, {"a": 1.0})
    logger.close()
    assert logger.trackers == [] and not (tmp_path / "tensorboard").exists()


def test_tracker_key_replaces_refused_characters_only():
    assert tracker_key("reward/helpful/mean") == "reward/helpful/mean"
    assert tracker_key("eval/w=0.5 (a,b)") == "eval/w_0.5 _a_b_"
