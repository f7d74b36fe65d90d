"""The benchmarks' shared measuring helpers (``bench.measure``) and TRL-side stage clock, without TRL or Ray."""

import math
import os
import time

import pytest

from bench.measure import cpu_by_process, median_after_warmup, process_tree_cpu_seconds
from bench.trl_side import STAGES, TrainerStepClock


def test_median_after_warmup_drops_the_first_values():
    assert median_after_warmup([9.0, 1.0, 3.0, 2.0], warmup=1) == 2.0  # median of 1, 3, 2
    assert median_after_warmup([9.0, 1.0, 3.0, 2.0, 4.0], warmup=1) == 2.5  # median of 1, 3, 2, 4
    assert math.isnan(median_after_warmup([9.0], warmup=1))  # nothing left


def test_cpu_by_process_takes_medians_over_runs_largest_first_and_hides_tiny_ones():
    runs = [{"cpu_s_per_step_by_process": {"driver": 0.02, "raylet": 0.010, "ray::Policy": 0.3}},
            {"cpu_s_per_step_by_process": {"driver": 0.04, "raylet": 0.0004, "ray::Policy": 0.1}},
            {"cpu_s_per_step_by_process": {"driver": 0.03, "ray::Policy": 0.2}}]
    # medians: ray::Policy 0.2, driver 0.03, raylet median(0.010, 0.0004, 0.0) = 0.0004 < 0.001 -> left out
    assert cpu_by_process(runs) == "ray::Policy 0.200, driver 0.030"


def test_process_tree_cpu_seconds_counts_this_process_as_the_driver():
    began = process_tree_cpu_seconds(os.getpid())["driver"]
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # burn 50 ms of CPU
        pass
    assert process_tree_cpu_seconds(os.getpid())["driver"] >= began + 0.03  # clock ticks are 10 ms


class _FakeTrainer:
    def _generate(self):
        time.sleep(0.02)
        return (None, [[1, 2, 3], [4]])

    def _forward(self):
        time.sleep(0.01)


def test_trainer_step_clock_splits_a_step_into_stages_and_update():
    trainer, clock = _FakeTrainer(), TrainerStepClock()
    clock.wrap(trainer, "_generate", lambda: "generate",
               lambda result: clock.response_tokens.append(sum(map(len, result[1])) / len(result[1])))
    clock.wrap(trainer, "_forward", lambda: None)  # not a separate stage: counts as update
    clock.timer.start_step()
    trainer._generate()
    trainer._forward()
    clock.end_step()
    (stages,) = clock.stage_seconds
    assert list(stages) == list(STAGES)
    assert stages["generate"] >= 0.02 and stages["score"] == stages["reference"] == 0.0
    assert stages["update"] >= 0.01
    assert sum(stages.values()) == pytest.approx(clock.step_seconds[0])
    assert clock.response_tokens == [2.0]
