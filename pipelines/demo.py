"""The demo: the PRO story on the toy world with tiny models on CPU, from nothing, into one directory.

    <output>/reward_models/   the K = 3 reward models (PRO eq. 2)
    <output>/orchestrator/    the Preference Orchestrator trained on D_rm (eqs. 6–8)
    <output>/sft/             the tiny policy warmed up on the toy world's responses
    <output>/pro_morlhf/      PRO-MORLHF (eq. 9), RLOO, per-prompt weights from the orchestrator
    <output>/morlhf_uniform/  MORLHF (eq. 5) with uniform weights, same budget
    <output>/report.md        curves, the orchestrator's weights per category, the held-out table
    <output>/summary.json     the uniform run summary (``pro_rl.training.run_summary``); "stages": each stage's
                              held-out metrics

Each stage is an ordinary run of its own config (``configs/tiny/*.yaml``) with the paths of the previous
stage filled in, so every stage can also be re-run alone with ``pro-rl run``. A second demo into the same output
replaces its stages (``run.overwrite=true``); an output directory that holds some other run is refused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, Sequence

import pipelines
from pro_rl.config import ConfigError
from pro_rl.training.run_summary import write_summary
from pro_rl.training.run_dir import holds_run

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "tiny"


def tiny_config(name: str) -> Path:
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"demo config not found: {path} (run the demo from a checkout of pro-rl)")
    return path


def reward_model_overrides(output: Path, objectives: Sequence[str]) -> list:
    return [f"reward_models.{i}.model={output / 'reward_models' / 'final' / name}" for i, name in enumerate(objectives)]


def run_demo(output: str | Path = "runs/demo", overrides: Sequence[str] = ()) -> Dict[str, Dict[str, float]]:
    """Run every stage; returns each stage's held-out metrics, writes ``report.md`` and ``summary.json`` and prints
    a summary."""
    started = time.perf_counter()
    output = Path(output)
    objectives = ("helpful", "harmless", "humor")
    trained_rewards = reward_model_overrides(output, objectives)
    stages = [
        ("reward_models", "reward_models", []),
        ("orchestrator", "orchestrator", trained_rewards),
        ("sft", "sft", []),
        ("pro_morlhf", "pro_morlhf", [*trained_rewards, f"policy.model={output / 'sft' / 'final' / 'policy'}",
                                      f"orchestrator.path={output / 'orchestrator' / 'final' / 'orchestrator'}"]),
        ("morlhf_uniform", "pro_morlhf", [*trained_rewards, f"policy.model={output / 'sft' / 'final' / 'policy'}",
                                          "weights.mode=uniform", "run.name=tiny-morlhf-uniform"]),
    ]
    if holds_run(output):
        raise ConfigError(f"demo output {output} holds a run of another pipeline (config.yaml, metrics.jsonl, "
                          "checkpoints or final); choose another --output")
    results: Dict[str, Dict[str, float]] = {}
    for index, (name, config_name, stage_overrides) in enumerate(stages, start=1):
        print(f"== {index}/{len(stages)} {name}", flush=True)
        result = pipelines.run(tiny_config(config_name), [f"run.output_dir={output / name}", "run.overwrite=true",
                                                          *stage_overrides, *overrides])
        results[name] = {k: v for k, v in result.metrics.items() if k.startswith("eval/")}
    report = make_report(output, objectives, results)
    write_summary(output, pipeline="demo", run_name="demo", metrics=flat_metrics(results),
                  wall_time_s=time.perf_counter() - started, details={"stages": results})
    print((output / "report.md").read_text().split("![")[0])
    print(f"Report: {report}")
    print(f"Orchestrator: pro-rl weights --orchestrator {output / 'orchestrator' / 'final' / 'orchestrator'} "
          "\"tell me a joke about my cat\"")
    return results


def flat_metrics(results: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """``{stage: {key: value}}`` as ``{"<stage>/<key>": value}``."""
    return {f"{stage}/{key}": value for stage, values in results.items() for key, value in values.items()}


def make_report(output: Path, objectives: Sequence[str], results: Dict[str, Dict[str, float]]) -> Path:
    """The orchestrator's weights on the held-out prompts by category, then ``pipelines.report.write_report``."""
    from pipelines.report import write_report
    from pro_rl.data.canonical import read_jsonl
    from pro_rl.data.toy_world import shipped_dir
    from pro_rl.models.scoring import OrchestratorPredictor

    rows = read_jsonl(shipped_dir() / "eval_prompts.jsonl")
    predictor = OrchestratorPredictor(str(output / "orchestrator" / "final" / "orchestrator"), device="cpu")
    weights = predictor.predict_dicts([row["prompt"] for row in rows])
    runs = {"PRO-MORLHF (orchestrator weights)": output / "pro_morlhf",
            "MORLHF (uniform weights)": output / "morlhf_uniform"}
    summary = {stage: values for stage, values in results.items() if stage in ("reward_models", "orchestrator")}
    return write_report(output, runs, objectives, weights, [row["category"] for row in rows], summary)


def run(config) -> "pipelines.RunResult":
    results = run_demo(config.run.output_dir)
    return pipelines.RunResult(output_dir=Path(config.run.output_dir), metrics=flat_metrics(results),
                               details={"stages": results})
