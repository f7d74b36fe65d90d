"""The ``pro-rl`` command (also ``python -m pro_rl.cli``, which is what ``ray job submit ... --`` runs).

    pro-rl run CONFIG.yaml [dotted.key=value ...]      run the pipeline the config names
    pro-rl weights --orchestrator DIR (--prompts FILE.jsonl | PROMPT ...)   one JSON line per prompt
    pro-rl generate --policy DIR [--weights W1,W2,...] [--orchestrator DIR] (--prompts FILE.jsonl | PROMPT ...)
                                                        answers, conditioned on the user's or orchestrator's weights
    pro-rl demo [--output DIR]                          the whole story on the toy world, tiny models, CPU
    pro-rl config [CONFIG.yaml [overrides]]             print the resolved config (or every key with its help)
    pro-rl toy-world --output DIR [--seed N]            write a fresh copy of the toy multi-objective world

This module is the one place in ``pro_rl`` that reaches ``pipelines`` (lazily, inside ``run`` and ``demo``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional


USER_TURN_HELP = ("read each prompt as one user message, rendered with the policy's chat template or the plain "
                  "Human/Assistant format (as hh-rlhf and the toy world's prompts are)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pro-rl", description="Multi-objective RLHF with the Preference Orchestrator.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline a config names")
    run.add_argument("config", help="YAML config file")
    run.add_argument("overrides", nargs="*", help="dotted overrides, e.g. algorithm.kl_coef=0.05")

    weights = commands.add_parser("weights", help="per-prompt weights from a trained orchestrator, as JSON lines")
    weights.add_argument("--orchestrator", required=True, help="directory of a trained orchestrator (final/orchestrator)")
    weights.add_argument("--prompts", help="JSONL file with a 'prompt' column")
    weights.add_argument("--device", default="auto")
    weights.add_argument("--user-turn", action="store_true", help=USER_TURN_HELP)
    weights.add_argument("prompt", nargs="*", help="prompts given on the command line")

    generate = commands.add_parser("generate", help="answer prompts with a trained policy, as JSON lines")
    generate.add_argument("--policy", required=True, help="a policy directory (final/policy of any pipeline)")
    generate.add_argument("--weights", help="comma-separated preference weights for a PRO-WIC/RiC policy")
    generate.add_argument("--orchestrator", help="orchestrator that recommends each prompt's weights when "
                                                 "--weights is not given")
    generate.add_argument("--prompts", help="JSONL file with a 'prompt' column")
    generate.add_argument("--num-samples", type=int, default=1)
    generate.add_argument("--max-new-tokens", type=int, default=128)
    generate.add_argument("--temperature", type=float, default=0.7)
    generate.add_argument("--top-p", type=float, default=0.9)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--device", default="auto")
    generate.add_argument("--user-turn", action="store_true", help=USER_TURN_HELP)
    generate.add_argument("prompt", nargs="*", help="prompts given on the command line")

    demo = commands.add_parser("demo", help="run the toy-world demo with tiny models on CPU")
    demo.add_argument("--output", default="runs/demo", help="run directory of the demo")
    demo.add_argument("overrides", nargs="*", help="dotted overrides of the demo config")

    config = commands.add_parser("config", help="print a resolved config, or all keys with their help")
    config.add_argument("config", nargs="?", help="YAML config file (omit to list every key)")
    config.add_argument("overrides", nargs="*")

    toy = commands.add_parser("toy-world", help="write the toy multi-objective world as JSONL")
    toy.add_argument("--output", required=True)
    toy.add_argument("--seed", type=int, default=0)
    return parser


def _prompts(args: argparse.Namespace) -> List:
    """The prompts of the command line, then those of ``--prompts``."""
    from pro_rl.data.canonical import load_prompts

    prompts: List = list(args.prompt)
    if args.prompts:
        prompts.extend(load_prompts(args.prompts)["prompt"])
    if args.user_turn:
        prompts = [[{"role": "user", "content": p}] if isinstance(p, str) else p for p in prompts]
    return prompts


def _weights(args: argparse.Namespace) -> int:
    from pro_rl.data.formats import render_prompt
    from pro_rl.models.scoring import OrchestratorPredictor

    prompts = _prompts(args)
    if not prompts:
        print("pro-rl weights: give prompts on the command line or with --prompts FILE.jsonl", file=sys.stderr)
        return 2
    predictor = OrchestratorPredictor(args.orchestrator, device=args.device)
    for prompt, weights in zip(prompts, predictor.predict_dicts([render_prompt(p) for p in prompts])):
        print(json.dumps({"prompt": prompt, "weights": weights}))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from pro_rl.inference import generate_answers
    from pro_rl.rollout.base import SamplingSettings

    prompts = _prompts(args)
    if not prompts:
        print("pro-rl generate: give prompts on the command line or with --prompts FILE.jsonl", file=sys.stderr)
        return 2
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    settings = SamplingSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens)
    for row in generate_answers(args.policy, prompts, weights, args.orchestrator, settings, args.num_samples,
                                device=args.device, seed=args.seed):
        print(json.dumps(row))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    from pro_rl.config import ConfigError
    from pro_rl.data.errors import DataError

    try:
        if args.command == "run":
            import pipelines

            result = pipelines.run(args.config, args.overrides)
            print(json.dumps({"output_dir": str(result.output_dir), "metrics": result.metrics}, indent=2))
        elif args.command == "weights":
            return _weights(args)
        elif args.command == "generate":
            return _generate(args)
        elif args.command == "demo":
            from pipelines.demo import run_demo

            run_demo(args.output, args.overrides)
        elif args.command == "config":
            from pro_rl.config import field_help, load_config, to_yaml

            print(to_yaml(load_config(args.config, args.overrides)) if args.config else field_help())
        elif args.command == "toy-world":
            from pro_rl.data.toy_world import generate

            for name, path in generate(args.output, seed=args.seed).items():
                print(f"{name}: {path}")
    except (ConfigError, DataError, FileNotFoundError) as error:
        print(f"pro-rl: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
