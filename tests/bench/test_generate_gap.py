"""bench/generate_gap.py's parts that need neither Ray nor TRL: the switch to transformers' draw, the prompt
windows, the call-timing hook and the table."""

import json

import pytest

from bench.generate_gap import (CALL_LOG_ENV, PROMPTS_PER_STEP, prompt_batch, record_generate_calls, report,
                                transformers_draw)
from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_policy
from pro_rl.rollout import HFRolloutEngine, SamplingSettings, hf


def test_transformers_draw_switches_to_do_sample_and_back_even_after_an_error():
    settings = SamplingSettings(temperature=0.7, top_p=0.9, top_k=5)
    with transformers_draw():
        assert hf.generate_sampling_kwargs(settings) == dict(do_sample=True, temperature=0.7, top_p=0.9, top_k=5)
    with pytest.raises(RuntimeError), transformers_draw():
        raise RuntimeError("a failing call")
    assert hf.generate_sampling_kwargs(settings)["do_sample"] is False


def test_prompt_batches_are_consecutive_windows_that_wrap():
    prompts = [f"p{i}" for i in range(20)]
    assert prompt_batch(prompts, 0) == prompts[:PROMPTS_PER_STEP]
    assert prompt_batch(prompts, 1) == prompts[PROMPTS_PER_STEP:2 * PROMPTS_PER_STEP]
    assert prompt_batch(prompts, 2) == prompts[4:4 + PROMPTS_PER_STEP]  # 16 % 12 = 4


def test_the_hook_logs_each_generate_call(tmp_path, monkeypatch):
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(CALL_LOG_ENV, str(log))
    monkeypatch.setattr(hf.HFRolloutEngine, "generate", hf.HFRolloutEngine.generate)  # undone after the test
    record_generate_calls()
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    engine = HFRolloutEngine(model, tokenizer, SamplingSettings(temperature=1.0, top_p=1.0, max_new_tokens=3))
    rollouts = engine.generate(["Hi", "Hello"], num_samples=2, seed=0)
    engine.generate(["Hi"], num_samples=1, seed=1)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rollouts) == 4 and len(rows) == 2
    # CPU time may pass wall time here: this process runs torch with more than one thread
    assert all(row["cpu"] > 0 and row["wall"] > 0 and row["other_threads_cpu"] >= -1e-3 for row in rows)
    assert {type(row["niceness"]) for row in rows} == {int}


def test_report_gives_ratios_to_trl_and_the_pipeline_lines():
    times = {"ours": {"wall": [0.08, 0.10, 0.09], "cpu": [0.08, 0.08, 0.08]},
             "TRL": {"wall": [0.10, 0.10, 0.10], "cpu": [0.10, 0.10, 0.10]}}
    pipeline = {"times": {"ours, in the rollout actor": {"wall": [0.2], "cpu": [0.1]}}, "niceness": 15,
                "round_trips": [0.21], "median_step_s": 0.3, "other_threads_cpu": 0.0002}
    info = {"uname": "Linux", "nproc": "2", "commit": "abc", "load_average": "1 1 1", "load_average_at_end": "2 2 2"}
    args = type("Args", (), {"repetitions": 3, "pipeline_steps": 5, "burn": 0})()
    lines = report({"process": {"times": times, "niceness": 0}, "pipeline": pipeline}, info, args).splitlines()
    assert "| process | 0 | ours | 0.0900 [0.0800–0.1000] | 0.0800 [0.0800–0.0800] | 0.90 | 0.80 |" in lines
    assert "| pipeline | 15 | ours, in the rollout actor | 0.2000 [0.2000–0.2000] | 0.1000 [0.1000–0.1000] | — | — |" \
        in lines
    assert "| pipeline | 15 | ours, driver's generate stage | 0.2100 [0.2100–0.2100] | | | |" in lines
    assert lines[-1] == ("- pipeline: median step 0.3000 s; CPU of the rollout actor's other threads during a call "
                         "0.0002 s")
