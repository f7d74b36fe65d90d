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
    sga_sft         SGA (eq. 7): scores from w steer the dual-head policy; without w, the scores its head senses
    sga_dpo         SGA (eq. 9): the same, after DPO from the sga_sft policy
    moslim          MOSLIM (eq. 11): w mapped to intensity tags; without w, the prompts untagged
    mora            MORA: DPO on max-margin self-play pairs of rewritten single-reward prompts; one point

The budget is the same for all: one SFT warm-up of ``policy.sft_steps`` steps on the same rows (the offline stage
of RiC and PRO-WIC is that warm-up with tags), then ``compare.rl_steps`` × prompts × samples sampled responses —
RL steps for MORLHF and PRO-MORLHF, rl_steps // K steps per soups expert, and as many sampled responses over the
online iterations of RiC and PRO-WIC (offline RiC stops after its warm-up). SGA-SFT is that warm-up with score
conditioning (``policy.sft_steps`` steps at the SFT batch size, on the chosen responses of the general pairs);
SGA-DPO continues from it with as many responses as the RL methods sample, two per pair: budget / (2 · batch) DPO
steps. MOSLIM is RL for ``compare.rl_steps`` from the shared SFT warm-up, rewarded by its own multi-head classifier
(trained first, like the orchestrator: models that score or route are not counted in the policy's budget).
Rewards and evaluation use the config's ``reward_models``; the tiny config uses the toy world's ground-truth
functions, so the fronts are exact scores. The SGA evaluations also give SGA's Table-5 analogue, with the SFT
warm-up's responses as the baseline of the win rate.

Every mean comes with its bootstrap interval over prompts (``pro_rl.training.evaluation``), and the report pairs
PRO-MORLHF and PRO-WIC with every other method on the same prompts, each verdict a generated sentence
(``pipelines.comparison_report.paired_comparisons``). ``run.seeds`` N > 1 trains and evaluates every method once per
seed (stages and directories ``<method>_seed<s>``; the SFT warm-up, orchestrator and MOSLIM classifier are shared) and
reports the spread across seeds.

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
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence

import pipelines
from pipelines import RunResult
from pipelines.comparison_report import seed_spread_section, write_comparison
from pro_rl.config import ConfigError, ProRLConfig, load_config
from pro_rl.config.loading import to_yaml
from pro_rl.data.toy_world_graded import world_version
from pro_rl.training.evaluation_statistics import seed_suffix
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.run_dir import prepare_run_dir

logger = logging.getLogger("pro_rl.pipelines")

EVALUATION_METHODS = {"morlhf": "fixed", "pro_morlhf": "fixed", "rewarded_soups": "soups",
                      "ric_offline": "ric", "ric_online": "ric", "pro_wic": "wic",
                      "sga_sft": "sga", "sga_dpo": "sga", "moslim": "moslim", "mora": "fixed"}
NEEDS_ORCHESTRATOR = ("pro_morlhf", "pro_wic")
NEEDS_SFT = ("morlhf", "pro_morlhf", "rewarded_soups", "moslim", "sga_sft", "sga_dpo", "mora")  # SGA: win-rate baseline
RIC_LABELS = ["wic.tau_mode=fixed", "wic.random_fraction=0"]  # the wic config's soft labels are PRO-WIC's, not RiC's


class Stages:
    """Runs stages once: finished ones are recorded in ``stages.json`` with a digest of their resolved config and
    their wall time, and a resumed run skips a stage only when its config is still the same (change a setting and
    that stage runs again)."""

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
        started = time.perf_counter()
        result = pipelines.run(replace(resolved, run=replace(resolved.run, overwrite=True)))  # redo it, whatever was there
        self.done[name] = {"output_dir": str(result.output_dir), "config": digest,
                           "wall_s": round(time.perf_counter() - started, 1)}
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


class MethodRuns:
    """The stages of one comparison with what they share: the user's overrides, the reward models, the budget, and
    the SFT warm-up and orchestrator (run on first use). Each method's ``train_<family>`` returns what its evaluation
    needs: the policy (or soups experts), and the orchestrator, SFT baseline or classifier it is evaluated with."""

    def __init__(self, config: ProRLConfig, output_dir: Path, stages: Stages, seed_index: int = 0):
        self.config, self.output_dir, self.stages = config, output_dir, stages
        seed = config.run.seed + seed_index  # run.seeds: the methods' own stages once per seed (``seed_suffix``)
        self.suffix, self.seed_override = seed_suffix(seed_index, seed), [f"run.seed={seed}"] if seed_index else []
        self.compare = config.compare
        self.user = list(self.compare.overrides)
        self.rewards = reward_overrides(config)
        sft = load_config(self.compare.sft_config, self.user)
        self.sft_steps, self.sft_batch = sft.policy.sft_steps, sft.algorithm.prompt_batch_size
        rl = load_config(self.compare.rl_config,
                         [*self.rewards, *self.user, "policy.model=tiny:gpt2", "weights.mode=uniform"])  # sizes
        self.samples_budget = self.compare.rl_steps * rl.algorithm.prompt_batch_size * rl.rollout.num_samples
        logger.info("compare: budget of %d sampled responses after %d SFT steps", self.samples_budget, self.sft_steps)
        self.sft_policy = str(self.stage("sft", self.compare.sft_config, [f"run.output_dir={output_dir / 'sft'}"])
                              / "final" / "policy") if any(m in NEEDS_SFT for m in self.compare.methods) else ""
        self.orchestrator = str(self.stage("orchestrator", self.compare.orchestrator_config,
                                           [f"run.output_dir={output_dir / 'orchestrator'}", *self.rewards])
                                / "final" / "orchestrator") \
            if any(m in NEEDS_ORCHESTRATOR for m in self.compare.methods) else ""

    def stage(self, name: str, config_path: str, overrides: List[str]) -> Path:
        return self.stages.run(name, config_path, [*self.user, *overrides])

    def method_stage(self, name: str, config_path: str, overrides: List[str]) -> Path:
        """A stage of one method's training: named and seeded for this seed."""
        return self.stage(name + self.suffix, config_path, [*overrides, *self.seed_override])

    def method_dir(self, name: str) -> Path:
        return self.output_dir / "methods" / (name + self.suffix)

    def method_overrides(self, name: str, run_dir: Path) -> List[str]:
        return [f"run.output_dir={run_dir}", f"run.name={self.config.run.name}-{name}{self.suffix}"]

    def train_rl(self, method: str) -> Dict[str, object]:
        """MORLHF, PRO-MORLHF, or the K one-hot Rewarded Soups experts (rl_steps // K steps each)."""
        objectives, method_dir = self.config.objectives, self.method_dir(method)

        def rl_run(name: str, run_dir: Path, steps: int, weights: List[str]) -> str:
            overrides = [*self.method_overrides(name, run_dir), *self.rewards, f"policy.model={self.sft_policy}",
                         f"algorithm.steps={steps}", *weights]
            return str(self.method_stage(name, self.compare.rl_config, overrides) / "final" / "policy")

        if method == "rewarded_soups":
            steps = self.compare.rl_steps // len(objectives)
            return {"soup_policies": [rl_run(f"{method}-{name}", method_dir / name, steps,
                                             ["weights.mode=fixed", f"weights.fixed={one_hot(index, len(objectives))}"])
                                      for index, name in enumerate(objectives)]}
        weights = (["weights.mode=orchestrator", f"orchestrator.path={self.orchestrator}"]
                   if method == "pro_morlhf" else ["weights.mode=uniform"])
        return {"policy": rl_run(method, method_dir, self.compare.rl_steps, weights)}

    def train_wic(self, method: str) -> Dict[str, object]:
        """RiC offline (its warm-up only), RiC online, PRO-WIC (the orchestrator's weights online and by default)."""
        online = [f"wic.online_prompts={online_prompts(self.config, self.samples_budget)}"]
        conditioning, extra, orchestrator = {
            "ric_offline": ("ric", ["wic.online_iterations=0", *RIC_LABELS], ""),
            "ric_online": ("ric", [*online, *RIC_LABELS], ""),
            "pro_wic": ("wic", [*online, "wic.online_weights=orchestrator"], self.orchestrator),
        }[method]
        overrides = [*self.method_overrides(method, self.method_dir(method)), *self.rewards,
                     f"wic.conditioning={conditioning}", f"wic.offline_steps={self.sft_steps}", *extra,
                     f"orchestrator.path={orchestrator}" if orchestrator else "orchestrator.path=''"]
        policy = str(self.method_stage(method, self.compare.wic_config, overrides) / "final" / "policy")
        return {"policy": policy, "orchestrator": orchestrator} if orchestrator else {"policy": policy}

    def train_sga(self, method: str) -> Dict[str, object]:
        """SGA-SFT: the warm-up's steps and batch with score conditioning; SGA-DPO: from SGA-SFT, budget / (2 · batch)
        DPO steps. Evaluated against the SFT warm-up's responses (Table 5's baseline)."""
        sft_run = self.method_stage("sga_sft", self.compare.sga_config, [
            *self.method_overrides("sga_sft", self.method_dir("sga_sft")), *self.rewards,
            f"sga.training.max_steps={self.sft_steps}", f"sga.training.batch_size={self.sft_batch}",
            "sga.training.epochs=1000"])  # max_steps bounds it
        policy = sft_run / "final" / "policy"
        if method == "sga_dpo":
            batch = load_config(self.compare.sga_dpo_config, self.user).sga.training.batch_size
            steps = max(1, math.ceil(self.samples_budget / (2 * batch)))
            policy = self.method_stage("sga_dpo", self.compare.sga_dpo_config, [
                *self.method_overrides("sga_dpo", self.method_dir("sga_dpo")), *self.rewards,
                f"policy.model={policy}", f"sga.training.max_steps={steps}", "sga.training.epochs=1000"]) \
                / "final" / "policy"
        return {"policy": str(policy), "baseline_policy": self.sft_policy}

    def train_moslim(self, method: str) -> Dict[str, object]:
        """MOSLIM's multi-head classifier, then RL from the SFT warm-up for rl_steps, rewarded by it (eq. 11)."""
        classifier = self.stage("moslim_reward_model", self.compare.moslim_reward_model_config,
                                [f"run.output_dir={self.output_dir / 'moslim_reward_model'}"]) / "final" / "reward_model"
        overrides = [*self.method_overrides(method, self.method_dir(method)),
                     f"policy.model={self.sft_policy}", f"algorithm.steps={self.compare.rl_steps}",
                     f"moslim.reward_model={classifier}"]
        policy = self.method_stage(method, self.compare.moslim_config, overrides) / "final" / "policy"
        return {"policy": str(policy), "moslim_reward_model": str(classifier)}

    def train_mora(self, method: str) -> Dict[str, object]:
        """MORA from the SFT warm-up on the comparison's prompts and rewards: pre-sampling plus self-play within the
        sampled-response budget (budget / (2n) prompts pre-sampled), budget / (2 · batch) DPO steps like SGA-DPO."""
        mora = load_config(self.compare.mora_config, self.user).mora
        steps = max(1, math.ceil(self.samples_budget / (2 * mora.training.batch_size)))
        overrides = [*self.method_overrides(method, self.method_dir(method)), *self.rewards,
                     f"policy.model={self.sft_policy}", "policy.sft_steps=0", "mora.world=data", "mora.arms=[mora]",
                     "mora.scaling_fractions=[]", "run.seeds=1", f"mora.training.max_steps={steps}",
                     f"mora.training.min_steps={steps}",
                     f"mora.presample_prompts={max(1, self.samples_budget // (2 * mora.samples_per_prompt))}"]
        return {"policy": str(self.method_stage(method, self.compare.mora_config, overrides) / "final" / "policy")}


TRAINERS = {"morlhf": MethodRuns.train_rl, "pro_morlhf": MethodRuns.train_rl, "rewarded_soups": MethodRuns.train_rl,
            "ric_offline": MethodRuns.train_wic, "ric_online": MethodRuns.train_wic, "pro_wic": MethodRuns.train_wic,
            "sga_sft": MethodRuns.train_sga, "sga_dpo": MethodRuns.train_sga, "moslim": MethodRuns.train_moslim,
            "mora": MethodRuns.train_mora}


def train_methods(config: ProRLConfig, output_dir: Path, stages: Stages,
                  seed_index: int = 0) -> Dict[str, Dict[str, object]]:
    """Train every method (with seed ``run.seed + seed_index``); per method what its evaluation needs (see
    ``MethodRuns``)."""
    runs = MethodRuns(config, output_dir, stages, seed_index)
    return {method: TRAINERS[method](runs, method) for method in config.compare.methods}


def evaluation_config(config: ProRLConfig, method: str, trained: Dict[str, object], output_dir: Path,
                      suffix: str = "") -> ProRLConfig:
    """The evaluate run of one method (of the seed of ``suffix``): the comparison's prompts, sampling (seed
    ``run.seed`` for every seed's policy), grid and reference point."""
    settings = replace(config.evaluate, method=EVALUATION_METHODS[method], policy=str(trained.get("policy", "")),
                       soup_policies=list(trained.get("soup_policies", [])),
                       baseline_policy=str(trained.get("baseline_policy", "")))
    return replace(config, pipeline="evaluate", evaluate=settings,
                   run=replace(config.run, name=f"{config.run.name}-eval-{method}{suffix}",
                               output_dir=str(output_dir / "evaluations" / (method + suffix))),
                   orchestrator=replace(config.orchestrator, path=str(trained.get("orchestrator", ""))),
                   moslim=replace(config.moslim, reward_model=str(trained.get("moslim_reward_model", ""))))


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
    per_seed = []  # the summaries of every method, once per seed of run.seeds
    for index in range(config.run.seeds):
        trained, suffix = train_methods(config, output_dir, stages, index), seed_suffix(index, config.run.seed + index)
        summaries = {}
        for method, artefacts in trained.items():
            evaluation = evaluation_config(config, method, artefacts, output_dir, suffix)
            run_dir = stages.run(f"evaluate-{method}{suffix}", evaluation, [])
            summaries[method] = json.loads((run_dir / "evaluation.json").read_text())
        per_seed.append(summaries)
    settings, seeds = config.evaluate, [config.run.seed + index for index in range(config.run.seeds)]
    spread = seed_spread_section(per_seed, seeds, settings.reference_point, settings.interval_level,
                                 settings.bootstrap_resamples)
    comparison = write_comparison(per_seed[0], output_dir, settings.reference_point, settings.interval_level,
                                  settings.bootstrap_resamples, spread, world_version(config.reward_models) or "")
    final = {f"compare/{method}/{key}": value for method, row in comparison["methods"].items()
             for key, value in row.items() if isinstance(value, float)}
    metrics = MetricsLogger(output_dir, tensorboard=False, config=config)
    metrics.log(0, final)
    metrics.close()
    print("\n".join(line for line in (output_dir / "report.md").read_text().splitlines() if not line.startswith("![")))
    print(f"Report: {output_dir / 'report.md'}")
    return RunResult(output_dir=output_dir, metrics=final)

