"""Every multi-objective method at one budget, trained and evaluated into one run directory.

    <output>/sft/                   the shared SFT warm-up: the initial policy of MORLHF, PRO-MORLHF and the soups
    <output>/orchestrator/          the orchestrator PRO-WIC and PRO-MORLHF share
    <output>/methods/<method>/      each method's training run (Rewarded Soups: one expert per objective inside)
    <output>/evaluations/<method>/  each method's evaluate run (``pipelines.evaluate``): its grid, front, report
    <output>/report.md              all fronts in one plot, the equal-weight, hypervolume and default-weight tables
    <output>/comparison.json        the same numbers as plain data

The methods (``compare.methods``) and how each answers a user's weights w:

    morlhf          MORLHF (eq. 5): RL with uniform weights; one policy, one point whatever w is
    pro_morlhf      PRO-MORLHF (eq. 9): RL with the orchestrator's per-prompt weights; one point
    rewarded_soups  K one-hot RL experts, θ(w) = Σ_k w_k θ_k
    ric_offline     RiC, offline stage only: score tags mapped from w
    ric_online      RiC with its online rejection-sampling stage
    pro_wic         PRO-WIC (eqs. 10–11): weight tags w; without w, the orchestrator's f(x)

The budget is the same for all: one SFT warm-up of ``policy.sft_steps`` steps on the same rows (the offline stage
of RiC and PRO-WIC is that warm-up with tags), then ``compare.rl_steps`` × prompts × samples sampled responses —
RL steps for MORLHF and PRO-MORLHF, rl_steps // K steps per soups expert, and as many sampled responses over the
online iterations of RiC and PRO-WIC (offline RiC stops after its warm-up). Rewards and evaluation use the config's
``reward_models``; the tiny config uses the toy world's ground-truth functions, so the fronts are exact scores.

Each stage is an ordinary run of its own config with the paths of earlier stages filled in; with
``run.resume: auto`` a re-run skips the stages ``stages.json`` records as finished with the same resolved config
and redoes the others, replacing what they left (``run.overwrite``); with ``resume: never`` a directory that holds a
run is refused unless ``run.overwrite: true``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence

import pipelines
from pipelines import RunResult
from pipelines.comparison_report import write_comparison
from pro_rl.config import ConfigError, ProRLConfig, load_config
from pro_rl.config.loading import to_yaml
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.run_dir import prepare_run_dir

logger = logging.getLogger("pro_rl.pipelines")

EVALUATION_METHODS = {"morlhf": "fixed", "pro_morlhf": "fixed", "rewarded_soups": "soups",
                      "ric_offline": "ric", "ric_online": "ric", "pro_wic": "wic"}
NEEDS_ORCHESTRATOR = ("pro_morlhf", "pro_wic")
NEEDS_SFT = ("morlhf", "pro_morlhf", "rewarded_soups")


class Stages:
    """Runs stages once: finished ones are recorded in ``stages.json`` with a digest of their resolved config, and a
    resumed run skips a stage only when its config is still the same (change a setting and that stage runs again)."""

    def __init__(self, output_dir: Path, resume: bool):
        self.path = output_dir / "stages.json"
        self.done: Dict[str, Dict[str, str]] = \
            json.loads(self.path.read_text()) if resume and self.path.is_file() else {}

    def run(self, name: str, config, overrides: Sequence[str]) -> Path:
        """Run ``config`` with ``overrides`` unless stage ``name`` finished before with the same resolved config;
        its run directory."""
        resolved = load_config(config, overrides)
        digest = hashlib.sha256(to_yaml(resolved).encode()).hexdigest()
        earlier = self.done.get(name)
        if isinstance(earlier, dict) and earlier.get("config") == digest:
            logger.info("compare: stage %s finished earlier, skipped (%s)", name, earlier["output_dir"])
            return Path(earlier["output_dir"])
        print(f"== compare: {name}", flush=True)
        result = pipelines.run(replace(resolved, run=replace(resolved.run, overwrite=True)))  # redo it, whatever was there
        self.done[name] = {"output_dir": str(result.output_dir), "config": digest}
        self.path.write_text(json.dumps(self.done, indent=2) + "\n")
        return result.output_dir


def reward_overrides(config: ProRLConfig) -> List[str]:
    """Every stage scores with the comparison's reward models, in its objective order."""
    return [f"reward_models.{index}.{key}={value}" for index, spec in enumerate(config.reward_models)
            for key, value in (("name", spec.name), ("model", spec.model))]


def online_prompts(config: ProRLConfig, samples_budget: int) -> int:
    """Prompts per online iteration of RiC/PRO-WIC that sample ``samples_budget`` responses over all iterations."""
    wic = load_config(config.compare.wic_config, [*config.compare.overrides, "orchestrator.path=''"]).wic
    return max(1, math.ceil(samples_budget / (max(wic.online_iterations, 1) * wic.samples_per_prompt)))


def one_hot(index: int, size: int) -> str:
    return "[" + ",".join("1.0" if k == index else "0.0" for k in range(size)) + "]"


def train_methods(config: ProRLConfig, output_dir: Path, stages: Stages) -> Dict[str, Dict[str, object]]:
    """Train every method; per method the policy (or soups experts) and orchestrator its evaluation needs."""
    compare, objectives = config.compare, config.objectives
    user = list(compare.overrides)
    rewards = reward_overrides(config)
    methods = list(compare.methods)
    sft_steps = load_config(compare.sft_config, user).policy.sft_steps
    rl = load_config(compare.rl_config, [*rewards, *user, "policy.model=tiny:gpt2", "weights.mode=uniform"])  # sizes
    samples_budget = compare.rl_steps * rl.algorithm.prompt_batch_size * rl.rollout.num_samples
    logger.info("compare: budget of %d sampled responses after %d SFT steps", samples_budget, sft_steps)

    sft_policy = orchestrator = ""
    if any(method in NEEDS_SFT for method in methods):
        sft_policy = str(stages.run("sft", compare.sft_config, [*user, f"run.output_dir={output_dir / 'sft'}"])
                         / "final" / "policy")
    if any(method in NEEDS_ORCHESTRATOR for method in methods):
        orchestrator = str(stages.run("orchestrator", compare.orchestrator_config,
                                      [*user, f"run.output_dir={output_dir / 'orchestrator'}", *rewards])
                           / "final" / "orchestrator")

    def rl_run(name: str, run_dir: Path, steps: int, weights: List[str]) -> str:
        overrides = [*user, f"run.output_dir={run_dir}", f"run.name={config.run.name}-{name}", *rewards,
                     f"policy.model={sft_policy}", f"algorithm.steps={steps}", *weights]
        return str(stages.run(name, compare.rl_config, overrides) / "final" / "policy")

    online = [f"wic.online_prompts={online_prompts(config, samples_budget)}"]

    def wic_run(name: str, conditioning: str, stage_overrides: List[str], orchestrator_path: str) -> str:
        overrides = [*user, f"run.output_dir={output_dir / 'methods' / name}", f"run.name={config.run.name}-{name}",
                     *rewards, f"wic.conditioning={conditioning}", f"wic.offline_steps={sft_steps}",
                     *stage_overrides,
                     f"orchestrator.path={orchestrator_path}" if orchestrator_path else "orchestrator.path=''"]
        return str(stages.run(name, compare.wic_config, overrides) / "final" / "policy")

    trained: Dict[str, Dict[str, object]] = {}
    for method in methods:
        method_dir = output_dir / "methods" / method
        if method == "morlhf":
            trained[method] = {"policy": rl_run(method, method_dir, compare.rl_steps, ["weights.mode=uniform"])}
        elif method == "pro_morlhf":
            trained[method] = {"policy": rl_run(method, method_dir, compare.rl_steps,
                                                ["weights.mode=orchestrator", f"orchestrator.path={orchestrator}"])}
        elif method == "rewarded_soups":
            steps = compare.rl_steps // len(objectives)
            trained[method] = {"soup_policies": [
                rl_run(f"{method}-{name}", method_dir / name, steps,
                       ["weights.mode=fixed", f"weights.fixed={one_hot(index, len(objectives))}"])
                for index, name in enumerate(objectives)]}
        elif method == "ric_offline":
            trained[method] = {"policy": wic_run(method, "ric", ["wic.online_iterations=0"], "")}
        elif method == "ric_online":
            trained[method] = {"policy": wic_run(method, "ric", online, "")}
        elif method == "pro_wic":
            trained[method] = {"policy": wic_run(method, "wic", [*online, "wic.online_weights=orchestrator"], orchestrator),
                               "orchestrator": orchestrator}
    return trained


def evaluation_config(config: ProRLConfig, method: str, trained: Dict[str, object], output_dir: Path) -> ProRLConfig:
    """The evaluate run of one method: the comparison's prompts, sampling, grid and reference point."""
    settings = replace(config.evaluate, method=EVALUATION_METHODS[method], policy=str(trained.get("policy", "")),
                       soup_policies=list(trained.get("soup_policies", [])))
    return replace(config, pipeline="evaluate", evaluate=settings,
                   run=replace(config.run, name=f"{config.run.name}-eval-{method}",
                               output_dir=str(output_dir / "evaluations" / method)),
                   orchestrator=replace(config.orchestrator, path=str(trained.get("orchestrator", ""))))


def continuing(config: ProRLConfig) -> ProRLConfig:
    """With ``run.resume: auto`` a comparison may continue with changed settings (``Stages`` re-runs the stages they
    reach), so a comparison's own directory is continued whatever its saved config says; any other run there is
    refused as usual by ``prepare_run_dir``."""
    saved = Path(config.run.output_dir) / "config.yaml"
    if config.run.resume != "auto" or not saved.is_file():
        return config
    try:
        earlier = load_config(saved).pipeline
    except ConfigError:
        return config
    return replace(config, run=replace(config.run, overwrite=True)) if earlier == "compare_methods" else config


def run(config: ProRLConfig) -> RunResult:
    output_dir = prepare_run_dir(continuing(config))
    stages = Stages(output_dir, resume=config.run.resume == "auto")
    trained = train_methods(config, output_dir, stages)
    summaries = {}
    for method, artefacts in trained.items():
        evaluation = evaluation_config(config, method, artefacts, output_dir)
        run_dir = stages.run(f"evaluate-{method}", evaluation, [])
        summaries[method] = json.loads((run_dir / "evaluation.json").read_text())
    comparison = write_comparison(summaries, output_dir, config.evaluate.reference_point)
    final = {f"compare/{method}/{key}": value for method, row in comparison["methods"].items()
             for key, value in row.items() if isinstance(value, float)}
    metrics = MetricsLogger(output_dir, tensorboard=False, config=config)
    metrics.log(0, final)
    metrics.close()
    print("\n".join(line for line in (output_dir / "report.md").read_text().splitlines() if not line.startswith("![")))
    print(f"Report: {output_dir / 'report.md'}")
    return RunResult(output_dir=output_dir, metrics=final)

