"""Router ablations on the toy world: which weights should PRO-MORLHF's router give (PRO Theorem 5.1)?

One PRO-MORLHF run (``configs/tiny/pro_morlhf.yaml``: RLOO, same SFT start, budget and seed) per router:

    pro_kl tau=T   PRO's orchestrator, KL to softmax(r⁺/τ) (eqs. 7–8), for each τ in --taus
    gate           the ArmoRM-style gate (``orchestrator.objective: bradley_terry``), Bradley–Terry through the fixed RMs
    bag_of_words   the bag-of-words baseline fitted beside the τ = 0.1 orchestrator (``weights.mode: bag_of_words``)
    oracle         the toy world's true w*(x) (``weights.mode: oracle``)
    uniform        1/K for every prompt (MORLHF)

plus the SFT policy they all start from (no RL). Each policy answers every held-out prompt ``--samples`` times; a
response scores the toy world's GROUND-TRUTH reward scalarised with the prompt's w* (``ground_truth_rewards`` and
``per_prompt`` of ``pro_rl.training.evaluation_statistics``, as ``pro-rl evaluate`` computes it); a prompt's value is
the mean over its samples, and the table gives the mean over prompts with a 95 % percentile-bootstrap interval
(``bootstrap_mean_interval``), the paired difference to PRO τ = 0.1 on the same prompts with its interval
(``paired_difference_interval``), and each router's argmax agreement with w* on the held-out prompts. With several ``--seeds`` every router
is trained once and its RL run repeated per seed; a prompt's value is then the mean over seeds × samples, and the
per-seed means are listed (the prompt intervals do not cover the RL seed's variance; the spread of those means shows
it).

    python -m bench.router_ablation --output /tmp/router/ablation [--reward-models DIR] [--sft DIR]
        [--taus 0.05 0.1 0.5 1] [--steps 100] [--samples 4] [--seeds 0 1]

Resumable: a training stage is skipped when ``stages.json`` records it finished with the same settings
(``FinishedStages``: a digest of its config files and overrides), an evaluation when ``evaluations/<run>.json`` exists. ``--reward-models`` /
``--sft`` reuse finished runs of ``configs/tiny/{reward_models,sft}.yaml`` instead of training them here. Writes
``report.md`` (the table, machine, commit) and ``results.json`` into ``--output``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
import yaml

from bench.measure import machine
from pipelines.compare_methods import Stages
from pro_rl.algorithms import argmax_agreement
from pro_rl.algorithms import scalarise
from pro_rl.algorithms.intervals import bootstrap_mean_interval, paired_difference_interval
from pro_rl.config import load_config
from pro_rl.data.toy_world import OBJECTIVES, segment_kinds
from pro_rl.models.scoring import OrchestratorPredictor
from pro_rl.training.evaluation import evaluation_prompts
from pro_rl.training.evaluation_statistics import ground_truth_rewards, per_prompt
from pro_rl.rollout.generator import policy_engine

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "tiny"
ORACLE = "pro_rl.data.toy_world_oracle:true_prompt_weights"
DEFAULT_TAU = 0.1


def config_files(config: str) -> List[Path]:
    """``config`` and every file its ``base:`` names, recursively (bases before the files that name them)."""
    path = Path(config).resolve()
    base = (yaml.safe_load(path.read_text()) or {}).get("base")
    bases = [] if base is None else [base] if isinstance(base, str) else list(base)
    return [*[file for name in bases for file in config_files(str(path.parent / str(name)))], path]


def settings_digest(config: str, overrides: Sequence[str]) -> str:
    """A digest of what a stage was asked to run: the text of its config files (``config_files``) and its
    overrides. Unlike the resolved config's digest (``Stages``), it stays the same when the code adds a config key
    with a default, and changes with any setting of the files or the overrides."""
    digest = hashlib.sha256()
    for part in [*(file.read_text() for file in config_files(config)), *overrides]:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


class FinishedStages(Stages):
    """``Stages`` that skip a stage recorded as finished in ``stages.json`` when its settings are the same
    (``settings_digest``, recorded as ``settings``), even if the resolved config gained keys since; a changed
    setting reruns the stage. An entry without ``settings`` (written by ``Stages``) is skipped on ``Stages``' own
    rule (same resolved config) and then gains its settings digest."""

    def run(self, name: str, config, overrides) -> Path:
        digest = settings_digest(config, overrides)
        earlier = self.done.get(name)
        if isinstance(earlier, dict) and earlier.get("settings") == digest \
                and Path(earlier["output_dir"], "summary.json").is_file():
            return Path(earlier["output_dir"])
        output_dir = super().run(name, config, overrides)
        self.done[name]["settings"] = digest
        self.path.write_text(json.dumps(self.done, indent=2) + "\n")
        return output_dir


def router_names(taus: List[float]) -> List[str]:
    """The table's rows in the order they are run: the main comparison first, the rest of the τ sweep last."""
    return [f"pro_kl tau={DEFAULT_TAU}", "gate", "bag_of_words", "oracle", "uniform",
            *[f"pro_kl tau={tau}" for tau in taus if tau != DEFAULT_TAU]]


def train_router(stages: Stages, output: Path, rewards: List[str], objective: str, tau: float = DEFAULT_TAU) -> str:
    """The directory of a trained orchestrator (``pro_kl`` at ``tau``) or gate (``bradley_terry``)."""
    name = "gate" if objective == "bradley_terry" else f"orchestrator-tau{tau}"
    run = stages.run(name, str(CONFIGS / "orchestrator.yaml"), [
        f"run.output_dir={output / 'routers' / name}", "run.progress=false", *rewards,
        f"orchestrator.objective={objective}", f"orchestrator.tau={tau}"])
    return str(run / "final" / "orchestrator")


def router_overrides(name: str, stages: Stages, output: Path, rewards: List[str]) -> List[str]:
    """The ``weights``/``orchestrator`` overrides of a router's RL run, training its router first when it has one."""
    if name == "gate":
        return ["weights.mode=orchestrator", f"orchestrator.path={train_router(stages, output, rewards, 'bradley_terry')}"]
    if name.startswith("pro_kl"):
        path = train_router(stages, output, rewards, "pro_kl", float(name.split("=")[1]))
        return ["weights.mode=orchestrator", f"orchestrator.path={path}"]
    if name == "bag_of_words":  # fitted beside the τ = 0.1 orchestrator, on its targets
        return ["weights.mode=bag_of_words", f"orchestrator.path={train_router(stages, output, rewards, 'pro_kl')}"]
    if name == "oracle":
        return ["weights.mode=oracle", f"weights.function={ORACLE}", "orchestrator.path=''"]
    return ["weights.mode=uniform", "orchestrator.path=''"]


def router_agreement(overrides: List[str], prompts: List[str], truth: torch.Tensor) -> Optional[float]:
    """Argmax agreement with w* of the router's weights on the held-out prompts (None for uniform: no argmax)."""
    settings = dict(item.split("=", 1) for item in overrides)
    mode = settings["weights.mode"]
    if mode == "uniform":
        return None
    if mode == "oracle":
        return 1.0
    router = "bag_of_words" if mode == "bag_of_words" else "orchestrator"
    predicted = OrchestratorPredictor(settings["orchestrator.path"], device="cpu", router=router).predict(prompts)
    return argmax_agreement(predicted, truth)


def policy_values(config, policy: str, samples: int) -> Dict[str, list]:
    """``values``: (P,) mean ground-truth w*-scalarised reward of ``samples`` responses to each held-out prompt;
    ``segments``: the mean number of objective segments a response carries; ``on_target``: the share of responses
    that carry a segment of the prompt's main objective (argmax w*). The toy world's reward counts that segment and
    penalises every other objective's one."""
    prompts, truth = evaluation_prompts(config)
    rollouts = policy_engine(config, policy).generate(prompts, samples, seed=config.run.seed)
    weights = truth.to(torch.float64).repeat_interleave(samples, dim=0)
    values = per_prompt(scalarise(ground_truth_rewards(rollouts.responses, OBJECTIVES), weights), samples)
    kinds = [segment_kinds(response) for response in rollouts.responses]
    main = [OBJECTIVES[int(truth[index // samples].argmax())] for index in range(len(kinds))]
    return {"values": values.tolist(),
            "segments": sum(map(len, kinds)) / len(kinds),
            "on_target": sum(objective in found for objective, found in zip(main, kinds)) / len(kinds)}


def evaluate(path: Path, config, policy: str, samples: int, agreement: Optional[float]) -> dict:
    """The router's evaluation, read back when ``path`` holds it (with every key this version writes)."""
    if path.is_file() and "on_target" in json.loads(path.read_text()):
        return json.loads(path.read_text())
    result = {"policy": policy, "agreement": agreement, **policy_values(config, policy, samples)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def interval(values: torch.Tensor, reference: Optional[torch.Tensor] = None) -> str:
    """``mean [low, high]`` of per-prompt ``values``, or of their paired difference to ``reference``."""
    mean, low, high = bootstrap_mean_interval(values) if reference is None else \
        paired_difference_interval(values, reference)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def report(results: Dict[str, dict], header: str) -> str:
    """The markdown table: w*-scalarised true reward, paired difference to PRO τ = 0.1, w* agreement."""
    reference = torch.tensor(results[f"pro_kl tau={DEFAULT_TAU}"]["values"], dtype=torch.float64)
    lines = [header, "", f"| router | true w*-scalarised reward, mean [95 % CI] | Δ vs PRO τ = {DEFAULT_TAU} [95 % CI] "
                         "| per-seed means | w* argmax agreement | on-target share | objective segments per response |",
             "|---|---|---|---|---|---|---|"]
    for name, result in results.items():
        values = torch.tensor(result["values"], dtype=torch.float64)
        difference = "—" if name == f"pro_kl tau={DEFAULT_TAU}" else interval(values, reference)
        agreement = "—" if result["agreement"] is None else f"{result['agreement']:.3f}"
        seeds = ", ".join(f"{mean:.3f}" for mean in result["seed_means"])
        lines.append(f"| {name} | {interval(values)} | {difference} | {seeds} | {agreement} | {result['on_target']:.3f} "
                     f"| {result['segments']:.2f} |")
    return "\n".join(lines) + "\n"


def combine(per_seed: List[dict]) -> dict:
    """One row from a router's runs with several RL seeds: per-prompt values averaged over the seeds (each prompt's
    value is then the mean of seeds × samples responses), the per-seed means kept to show the seeds' spread."""
    values = torch.tensor([run["values"] for run in per_seed], dtype=torch.float64)
    return {"values": values.mean(dim=0).tolist(), "seed_means": values.mean(dim=1).tolist(),
            "agreement": per_seed[0]["agreement"],
            **{key: sum(run[key] for run in per_seed) / len(per_seed) for key in ("on_target", "segments")}}


class Ablation:
    """The shared inputs (reward models, SFT policy, held-out prompts) and the stages of one ablation directory."""

    def __init__(self, args):
        self.args, self.output = args, args.output
        self.output.mkdir(parents=True, exist_ok=True)
        self.stages = FinishedStages(self.output, resume=True)
        quiet = ["run.progress=false"]
        reward_dir = Path(args.reward_models or self.stages.run("reward_models", str(CONFIGS / "reward_models.yaml"),
                                                                [f"run.output_dir={self.output / 'reward_models'}", *quiet]))
        self.sft = Path(args.sft or self.stages.run("sft", str(CONFIGS / "sft.yaml"),
                                                    [f"run.output_dir={self.output / 'sft'}", *quiet])) / "final" / "policy"
        self.rewards = [f"reward_models.{i}.model={reward_dir / 'final' / name}" for i, name in enumerate(OBJECTIVES)]
        self.base = [*self.rewards, f"policy.model={self.sft}", f"algorithm.steps={args.steps}",
                     "run.checkpoint_every=0", *quiet]
        self.config = load_config(str(CONFIGS / "pro_morlhf.yaml"),
                                  [*self.base, "weights.mode=uniform", "orchestrator.path=''"])
        self.prompts, self.truth = evaluation_prompts(self.config)

    def evaluate_sft(self) -> dict:
        return evaluate(self.output / "evaluations" / "sft.json", self.config, str(self.sft), self.args.samples, None)

    def run(self, name: str, seed: int) -> dict:
        """Train (or find) the router and its RL run with ``seed``, and evaluate the policy."""
        slug = name.replace(" ", "_").replace("=", "") + (f"-seed{seed}" if seed else "")
        overrides = router_overrides(name, self.stages, self.output, self.rewards)
        run = self.stages.run(f"rl-{slug}", str(CONFIGS / "pro_morlhf.yaml"), [
            *self.base, *overrides, f"run.seed={seed}", f"run.output_dir={self.output / 'rl' / slug}",
            f"run.name=router-{slug}"])
        return evaluate(self.output / "evaluations" / f"{slug}.json", self.config, str(run / "final" / "policy"),
                        self.args.samples, router_agreement(overrides, self.prompts, self.truth))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.router_ablation", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("/tmp/router/ablation"))
    parser.add_argument("--reward-models", help="a finished configs/tiny/reward_models.yaml run to reuse")
    parser.add_argument("--sft", help="a finished configs/tiny/sft.yaml run to reuse")
    parser.add_argument("--taus", type=float, nargs="+", default=[0.05, 0.1, 0.5, 1.0])
    parser.add_argument("--steps", type=int, default=100, help="RL steps of every run")
    parser.add_argument("--samples", type=int, default=4, help="responses per held-out prompt")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="RL seeds of every router (run in turn)")
    args = parser.parse_args(argv)
    ablation = Ablation(args)
    names = router_names(args.taus)
    runs: Dict[str, List[dict]] = {name: [] for name in names}
    for seed in args.seeds:  # every router with one seed before the next seed
        for name in names:
            runs[name].append(ablation.run(name, seed))
            results = {"sft (no RL)": combine([ablation.evaluate_sft()]),
                       **{key: combine(value) for key, value in runs.items() if value}}
            write_report(args.output, results, len(ablation.prompts), args)


def write_report(output: Path, results: Dict[str, dict], num_prompts: int, args) -> None:
    """``report.md`` and ``results.json`` with the rows finished so far."""
    facts = machine()
    header = (f"{num_prompts} held-out prompts × {args.samples} samples; RLOO {args.steps} steps from one SFT policy, "
              f"RL seeds {args.seeds}; "
              f"commit {facts['commit']}; load average {facts['load_average']}; {facts['nproc']} CPUs.")
    table = report(results, header)
    (output / "report.md").write_text(table)
    (output / "results.json").write_text(json.dumps(results, indent=1))
    print(table, flush=True)

if __name__ == "__main__":
    main()
