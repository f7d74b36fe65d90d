"""SIGINT/SIGTERM stop a single-process training run at a step boundary with a checkpoint, exit 130/143 with one
line saying how to resume, and ``run.resume=auto`` then ends exactly where an uninterrupted run ends.

The pipelines run in subprocesses (``CHILD``: ``pipelines.run``, mapping ``RunInterrupted`` to its exit code as the
CLI does), each step slowed by 0.3 s so that the signal lands mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pro_rl.training import interrupts
from pro_rl.training.interrupts import RunInterrupted
from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import json, sys, time
import pipelines
import pro_rl.training.loop as loop
from pro_rl.training.interrupts import RunInterrupted

real_step = loop.train_step
def slow_step(*args, **kwargs):
    time.sleep(float(sys.argv[1]))
    return real_step(*args, **kwargs)
loop.train_step = slow_step
try:
    result = pipelines.run(sys.argv[2], sys.argv[3:])
except RunInterrupted as stop:
    print(stop, file=sys.stderr)
    sys.exit(stop.exit_code)
print(json.dumps(result.metrics))
"""


def test_a_signal_becomes_a_request_and_the_handlers_come_back():
    before = signal.getsignal(signal.SIGINT)
    with interrupts.handling_signals(Path("runs/x")):
        assert not interrupts.requested()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupts.requested() and interrupts.signal_number() == signal.SIGTERM
        stop = interrupts.interrupted(7)
    assert not interrupts.requested()
    assert signal.getsignal(signal.SIGINT) is before
    assert stop.exit_code == 143 and stop.step == 7
    assert str(stop) == "interrupted by SIGTERM after step 7; resume with: pro-rl run runs/x/config.yaml run.resume=auto"


def test_a_second_signal_stops_at_once():
    with pytest.raises(KeyboardInterrupt, match="second SIGINT"):
        with interrupts.handling_signals(None):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert RunInterrupted(signal.SIGINT, None).exit_code == 130


def child(config: str, overrides: list, delay_s: float) -> list:
    return [sys.executable, "-c", CHILD, str(delay_s), config, *overrides]


def run_to_end(config: str, overrides: list) -> dict:
    done = subprocess.run(child(config, overrides, 0.0), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def interrupt(config: str, overrides: list, output_dir: Path, ready, number: int) -> str:
    """Run until ``ready(records)`` holds, send ``number``, return stderr's last line after the exit."""
    process = subprocess.Popen(child(config, overrides, 0.3), cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    metrics = output_dir / "metrics.jsonl"
    while not (metrics.is_file() and ready(read_metrics(metrics))):
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process.send_signal(number)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + number, stderr[-3000:]
    return stderr.strip().splitlines()[-1]


def assert_same_weights(a: Path, b: Path) -> None:
    from safetensors.torch import load_file

    first, second = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(second[name], first[name], rtol=1e-5, atol=1e-7, msg=name)


def assert_same_records(a: list, b: list) -> None:
    key = lambda record: json.dumps(record, sort_keys=True)  # noqa: E731
    assert len(a) == len(b)
    for first, second in zip(sorted(a, key=key), sorted(b, key=key)):
        assert first.keys() == second.keys()
        for name in first:
            assert second[name] == pytest.approx(first[name], rel=1e-5, abs=1e-7), name


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigint_during_sft_then_resume_equals_an_uninterrupted_run(tmp_path):
    config = "configs/tiny/sft.yaml"
    common = ["policy.sft_steps=8", "algorithm.prompt_batch_size=4", "rollout.max_new_tokens=8",
              "run.checkpoint_every=3", "run.progress=false", "run.device=cpu"]
    expected = run_to_end(config, [*common, f"run.output_dir={tmp_path / 'whole'}"])
    output_dir = tmp_path / "interrupted"
    line = interrupt(config, [*common, f"run.output_dir={output_dir}"], output_dir,
                     lambda records: len(records) >= 4, signal.SIGINT)
    assert line.startswith("interrupted by SIGINT after step ")
    assert line.endswith(f"resume with: pro-rl run {output_dir / 'config.yaml'} run.resume=auto")
    stopped_at = int(line.split("after step ")[1].split(";")[0])
    assert 4 <= stopped_at < 8
    assert (output_dir / "checkpoints" / "policy" / f"step-{stopped_at:06d}" / "manifest.json").is_file()
    assert not (output_dir / "final").exists()

    resumed = run_to_end(str(output_dir / "config.yaml"), ["run.resume=auto"])

    assert resumed == pytest.approx(expected, rel=1e-5)
    assert_same_weights(tmp_path / "whole" / "final" / "policy", output_dir / "final" / "policy")
    assert_same_records(read_metrics(tmp_path / "whole" / "metrics.jsonl"), read_metrics(output_dir / "metrics.jsonl"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigterm_during_reward_models_then_resume_equals_an_uninterrupted_run(tmp_path):
    config = "configs/tiny/reward_models.yaml"
    common = [*[f"reward_models.{i}.training.{key}" for i in range(3)
                for key in ("max_steps=4", "batch_size=8", "max_length=48")],
              "data.max_rows=80", "run.checkpoint_every=2", "run.progress=false", "run.device=cpu"]
    expected = run_to_end(config, [*common, f"run.output_dir={tmp_path / 'whole'}"])
    output_dir = tmp_path / "interrupted"
    in_second_model = lambda records: any("train/harmless/loss" in record for record in records)  # noqa: E731
    line = interrupt(config, [*common, f"run.output_dir={output_dir}"], output_dir, in_second_model, signal.SIGTERM)
    assert line.startswith("interrupted by SIGTERM after step ")
    assert not (output_dir / "final" / "humor").exists()

    resumed = run_to_end(str(output_dir / "config.yaml"), ["run.resume=auto"])

    assert resumed == pytest.approx(expected, rel=1e-5)
    for name in ("helpful", "harmless", "humor"):
        assert_same_weights(tmp_path / "whole" / "final" / name, output_dir / "final" / name)
    assert_same_records(read_metrics(tmp_path / "whole" / "metrics.jsonl"), read_metrics(output_dir / "metrics.jsonl"))
