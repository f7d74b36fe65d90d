"""The moslim_reward_model pipeline end to end on a tiny model: run directory, report.md, plot, accuracy metrics."""

import json
from pathlib import Path

import pytest

import pipelines
from pro_rl.config import ConfigError
from pro_rl.data.errors import DataError
from pro_rl.models.multi_head import load_multi_head_classifier
from pro_rl.training.metrics import read_metrics

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "moslim_reward_model.yaml"


def overrides(output_dir, *extra):
    return [f"run.output_dir={output_dir}", "run.progress=false", "run.report_to=[none]", "moslim.toy_rows=320",
            "moslim.tiny_hidden_size=32", "moslim.training.epochs=1", "moslim.training.batch_size=16",
            "moslim.training.max_length=96", "moslim.training.eval_fraction=0.25", *extra]


def test_tiny_run_writes_model_report_plot_and_accuracies(tmp_path):
    result = pipelines.run(str(CONFIG), overrides(tmp_path / "run"))
    output = result.output_dir
    heads = {"helpful": 3, "harmless": 2, "humor": 3}
    for objective, levels in heads.items():
        assert 0.0 <= result.metrics[f"accuracy/{objective}"] <= 1.0
        assert {f"accuracy/{objective}/{n}" for n in range(1, levels + 1)} <= set(result.metrics)
    held_out = sum(result.metrics[f"eval/labelled/harmless/{n}"] for n in (1, 2))
    assert 60 <= held_out <= 80  # a quarter of 320 rows, less the ~15 % without a harmless label
    mean = sum(result.metrics[f"accuracy/{objective}"] for objective in heads) / 3
    assert result.metrics["accuracy/mean"] == pytest.approx(mean)

    records = read_metrics(output / "metrics.jsonl")
    losses = [record["train/moslim/loss"] for record in records if "train/moslim/loss" in record]
    assert len(losses) == 15  # 240 training rows / 16 per step
    assert sum(losses[-3:]) < sum(losses[:3])
    assert records[-1]["accuracy/humor"] == result.metrics["accuracy/humor"]

    report = (output / "report.md").read_text()
    assert f"| helpful | 3 | {result.metrics['accuracy/helpful']:.3f} | 0.333 |" in report
    assert f"| harmless | 2 | {result.metrics['accuracy/harmless']:.3f} | 0.500 |" in report
    assert (output / "plots" / "intensity_accuracy.png").stat().st_size > 1000
    _, _, loaded_heads = load_multi_head_classifier(str(output / "final" / "reward_model"))
    assert list(loaded_heads.items()) == list(heads.items())
    assert json.loads((output / "summary.json").read_text())["pipeline"] == "moslim_reward_model"


def test_bad_label_file_names_file_and_row_before_the_run_directory(tmp_path):
    labels = tmp_path / "labels.jsonl"
    rows = [{"prompt": "q", "response": "a", "labels": {"helpful": 1}},
            {"prompt": "q", "response": "b", "labels": {"helpful": 5}}]
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))
    output = tmp_path / "run"
    with pytest.raises(DataError, match=r"labels.jsonl, row 1: label 5 of 'helpful' is out of 1..3"):
        pipelines.run(str(CONFIG), overrides(output, f"moslim.data={labels}", "moslim.levels={helpful: 3}"))
    assert not output.exists()


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="moslim.levels.helpful"):
        pipelines.run(str(CONFIG), overrides(tmp_path / "run", "moslim.levels={helpful: 1}"))
    with pytest.raises(ConfigError, match="moslim.model"):
        pipelines.run(str(CONFIG), overrides(tmp_path / "run", "moslim.model=''"))


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_metrics(tmp_path, monkeypatch):
    """SIGINT at step 6 checkpoints that step; ``run.resume=auto`` then ends with the same held-out metrics."""
    import os
    import signal

    from pro_rl.training import moslim_reward_model
    from pro_rl.training.interrupts import RunInterrupted

    uninterrupted = pipelines.run(str(CONFIG), overrides(tmp_path / "a"))

    calls = {"count": 0}
    original_loss = moslim_reward_model.multi_head_loss

    def loss_then_signal(*args):
        calls["count"] += 1
        if calls["count"] == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return original_loss(*args)

    monkeypatch.setattr(moslim_reward_model, "multi_head_loss", loss_then_signal)
    with pytest.raises(RunInterrupted) as stopped:
        pipelines.run(str(CONFIG), overrides(tmp_path / "b"))
    assert stopped.value.step == 6
    monkeypatch.setattr(moslim_reward_model, "multi_head_loss", original_loss)
    resumed = pipelines.run(str(CONFIG), overrides(tmp_path / "b", "run.resume=auto"))

    assert resumed.metrics.keys() == uninterrupted.metrics.keys()
    for key, value in uninterrupted.metrics.items():
        assert resumed.metrics[key] == pytest.approx(value, abs=1e-6), key
    losses = [[record["train/moslim/loss"] for record in read_metrics(run / "metrics.jsonl")
               if "train/moslim/loss" in record] for run in (tmp_path / "a", tmp_path / "b")]
    assert losses[1] == pytest.approx(losses[0], abs=1e-6)
