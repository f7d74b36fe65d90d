"""The demo: the PRO story on the toy world with tiny models on CPU, from nothing, into one directory.

    <output>/reward_models/   the K = 3 reward models (PRO eq. 2)
    <output>/orchestrator/    the Preference Orchestrator trained on D_rm (eqs. 6–8)

Each stage is an ordinary run of its own config (``configs/tiny/*.yaml``) with the paths of the previous
stage filled in, so every stage can also be re-run alone with ``pro-rl run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Sequence

import pipelines
from pro_rl.config import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "tiny"


def tiny_config(name: str) -> Path:
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"demo config not found: {path} (run the demo from a checkout of pro-rl)")
    return path


def reward_model_overrides(output: Path, objectives: Sequence[str]) -> list:
    return [f"reward_models.{i}.model={output / 'reward_models' / 'final' / name}" for i, name in enumerate(objectives)]


def run_demo(output: str | Path = "runs/demo", overrides: Sequence[str] = ()) -> Dict[str, Dict[str, float]]:
    """Run every stage; returns each stage's final metrics and prints a summary."""
    output = Path(output)
    results: Dict[str, Dict[str, float]] = {}
    objectives = ("helpful", "harmless", "humor")

    print("== 1/2 reward models", flush=True)
    reward_models = pipelines.run(tiny_config("reward_models"),
                                  [f"run.output_dir={output / 'reward_models'}", *overrides])
    results["reward_models"] = reward_models.metrics

    print("== 2/2 orchestrator", flush=True)
    orchestrator = pipelines.run(tiny_config("orchestrator"), [
        f"run.output_dir={output / 'orchestrator'}", *reward_model_overrides(output, objectives), *overrides])
    results["orchestrator"] = orchestrator.metrics

    (output / "summary.json").write_text(json.dumps(results, indent=2))
    print("\nHeld-out metrics")
    for stage, values in results.items():
        for key, value in values.items():
            print(f"  {stage:14s} {key:32s} {value:.4f}")
    print(f"\nOrchestrator: pro-rl weights --orchestrator {output / 'orchestrator' / 'final' / 'orchestrator'} \"tell me a joke about my cat\"")
    return results


def run(config) -> "pipelines.RunResult":
    results = run_demo(config.run.output_dir)
    flat = {f"{stage}/{key}": value for stage, values in results.items() for key, value in values.items()}
    return pipelines.RunResult(output_dir=Path(config.run.output_dir), metrics=flat)
