"""The ``pro-rl`` command (also ``python -m pro_rl.cli``, which is what ``ray job submit ... --`` runs).

    pro-rl run CONFIG.yaml [dotted.key=value ...]      run the pipeline the config names
    pro-rl weights --orchestrator DIR (--prompts FILE.jsonl | PROMPT ...)   one JSON line per prompt
                                                        (weights and generate: --prompt-format auto|plain|hh|chat)
    pro-rl generate --policy DIR [--weights W1,W2,...] [--orchestrator DIR] (--prompts FILE.jsonl | PROMPT ...)
                                                        answers, conditioned on the user's or orchestrator's weights
    pro-rl generate --policy SGA_DIR [--scores S1,S2,...] PROMPT ...
                                                        an SGA policy: sensed scores, or the user's (steering)
    pro-rl demo [--output DIR]                          the whole story on the toy world, tiny models, CPU
    pro-rl config [CONFIG.yaml [overrides]]             print the resolved config (or every key with its help)
    pro-rl toy-world --output DIR [--seed N]            write a fresh copy of the toy multi-objective world

This module is the one place in ``pro_rl`` that reaches ``pipelines`` (lazily, inside ``run`` and ``demo``), and
the one that knows Ray's exception types (imported only once Ray is loaded, never at module level).

Failures (DESIGN.md "Rules for failure"): a user error — a bad config, bad data, a missing or unreadable file, a
bad value — prints ONE line ``pro-rl: error: <what> (<file>:<line> | key '<key>' in <file>)`` on stderr and exits
2, also when it was raised inside a Ray actor (the ``RayTaskError`` / ``RayActorError`` is unwrapped to its cause).
``--debug`` (before the command) prints the traceback too. An interrupt (``RunInterrupted`` of
``pro_rl.training.interrupts``, or a plain Ctrl-C) prints one line and exits with its code (130 for SIGINT, 143
for SIGTERM). Any other exception is a bug in pro-rl: its traceback is printed as it is (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import List, Optional, Sequence

from pro_rl.cli_options import check_sampling_args, parse_scores, parse_weights

USER_ERRORS = (ValueError, OSError, LookupError)  # ConfigError and DataError are ValueErrors; KeyError for rows
EXIT_USER_ERROR = 2
EXIT_SIGINT = 130


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors as one ``pro-rl: error: ...`` line (exit 2) instead of usage + error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"pro-rl: error: {message} (see {self.prog} --help)\n")


PROMPT_FORMATS = ("auto", "plain", "hh", "chat")  # pro_rl.data.formats.PROMPT_FORMATS (not imported: startup time)
PROMPT_FORMAT_HELP = ("how a prompt becomes model text, as data.prompt_format: auto (strings as given, chat messages "
                      "through the chat template or the Human/Assistant format), plain, hh (a string as one "
                      "'\\n\\nHuman: ...\\n\\nAssistant:' turn), chat (a string as one user message through the "
                      "model's chat template)")
USER_TURN_HELP = "the same as --prompt-format hh (a string prompt as one Human/Assistant turn)"


def _prompt_format_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--prompt-format", choices=PROMPT_FORMATS, default="auto", help=PROMPT_FORMAT_HELP)
    command.add_argument("--user-turn", dest="prompt_format", action="store_const", const="hh", help=USER_TURN_HELP)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="pro-rl", description="Multi-objective RLHF with the Preference Orchestrator.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error, not only its line")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("run", help="run the pipeline a config names")
    run.add_argument("config", help="YAML config file")
    run.add_argument("overrides", nargs="*", help="dotted overrides, e.g. algorithm.kl_coef=0.05")

    weights = commands.add_parser("weights", help="per-prompt weights from a trained orchestrator, as JSON lines")
    weights.add_argument("--orchestrator", required=True, help="directory of a trained orchestrator (final/orchestrator)")
    weights.add_argument("--prompts", help="JSONL file with a 'prompt' column")
    weights.add_argument("--device", default="auto")
    _prompt_format_options(weights)
    weights.add_argument("prompt", nargs="*", help="prompts given on the command line")

    generate = commands.add_parser("generate", help="answer prompts with a trained policy, as JSON lines")
    generate.add_argument("--policy", required=True, help="a policy directory (final/policy of any pipeline)")
    generate.add_argument("--weights", help="comma-separated preference weights for a PRO-WIC/RiC policy")
    generate.add_argument("--orchestrator", help="orchestrator that recommends each prompt's weights when "
                                                 "--weights is not given")
    generate.add_argument("--scores", help="comma-separated scores in [0, 1], one per objective, that steer an SGA "
                                           "policy (default: the scores its head senses from each prompt)")
    generate.add_argument("--snap-grid", type=int, help="SGA: snap sensed scores to multiples of 1/N (0: off; "
                                                        "default: the policy's sga.snap_grid)")
    generate.add_argument("--prompts", help="JSONL file with a 'prompt' column")
    generate.add_argument("--num-samples", type=int, default=1)
    generate.add_argument("--max-new-tokens", type=int, default=128)
    generate.add_argument("--temperature", type=float, help="default 0.7; an SGA policy's own (SGA: 0.6)")
    generate.add_argument("--top-p", type=float, help="default 0.9; an SGA policy's own (SGA: 0.9)")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--device", default="auto")
    _prompt_format_options(generate)
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
    return prompts


def _weights(args: argparse.Namespace) -> int:
    from pro_rl.data.formats import render_prompt
    from pro_rl.models.scoring import OrchestratorPredictor

    prompts = _prompts(args)
    if not prompts:
        print("pro-rl weights: give prompts on the command line or with --prompts FILE.jsonl", file=sys.stderr)
        return 2
    predictor = OrchestratorPredictor(args.orchestrator, device=args.device)
    texts = [render_prompt(p, predictor.tokenizer, args.prompt_format) for p in prompts]
    for prompt, weights in zip(prompts, predictor.predict_dicts(texts)):
        print(json.dumps({"prompt": prompt, "weights": weights}))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from pro_rl.inference import generate_answers, sampling_settings

    prompts = _prompts(args)
    if not prompts:
        print("pro-rl generate: give prompts on the command line or with --prompts FILE.jsonl", file=sys.stderr)
        return 2
    check_sampling_args(args)
    weights = parse_weights(args.weights) if args.weights is not None else None
    scores = parse_scores(args.scores) if args.scores is not None else None
    settings = sampling_settings(args.policy, args.temperature, args.top_p, args.max_new_tokens)
    for row in generate_answers(args.policy, prompts, weights, args.orchestrator, settings, args.num_samples,
                                device=args.device, seed=args.seed, scores=scores, snap_grid=args.snap_grid,
                                prompt_format=args.prompt_format):
        print(json.dumps(row))
    return 0


def _command(args: argparse.Namespace) -> int:
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
    return 0


def unwrap_ray_error(error: BaseException) -> BaseException:
    """The exception an actor or task raised, out of Ray's ``RayTaskError`` / ``RayActorError`` wrappers."""
    ray_exceptions = sys.modules.get("ray.exceptions")  # Ray's errors exist only once Ray is loaded
    if ray_exceptions is None:
        return error
    for _ in range(10):  # a task error inside an actor error inside ...; bounded against cycles
        if isinstance(error, ray_exceptions.RayTaskError):
            cause = getattr(error, "cause", None)
        elif isinstance(error, ray_exceptions.RayActorError):
            cause = getattr(error, "cause", None) or _actor_init_cause(error)
            if cause is None:
                return error
        else:
            return error
        if not isinstance(cause, BaseException):
            return error
        error = cause
    return error


class ActorStartError(ValueError):
    """A user error an actor's ``__init__`` raised; Ray keeps only its text (``ActorDiedError.error_msg``)."""


USER_ERROR_NAMES = ("ConfigError", "DataError", "ValueError", "OSError", "FileNotFoundError", "IsADirectoryError",
                    "PermissionError", "NotADirectoryError", "UnicodeDecodeError", "KeyError")


def _actor_init_cause(error: BaseException) -> Optional[BaseException]:
    """The user error an actor's ``__init__`` raised, rebuilt from the last line of Ray's text, or None."""
    if not getattr(error, "actor_init_failed", False):
        return None
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in reversed(lines):
        name, separator, message = line.partition(": ")
        if separator and name.rsplit(".", 1)[-1] in USER_ERROR_NAMES:
            return ActorStartError(f"{message} (raised while an actor started)")
    return None


def error_line(error: BaseException) -> str:
    """The one line of a user error: ``<what> (<file>:<line> | key '<key>' in <file>)`` where the error knows them."""
    one_line = getattr(error, "one_line", None)
    text = one_line() if callable(one_line) else _os_error_text(error) if isinstance(error, OSError) else str(error)
    text = " ".join(text.split()) or type(error).__name__
    return text


def _os_error_text(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.strerror} ({error.filename})"
    return str(error)


def _interrupt_type() -> type:
    """``RunInterrupted`` of the training loop when that module exists, else a type nothing raises."""
    try:
        from pro_rl.training.interrupts import RunInterrupted
    except ImportError:
        return type("NoRunInterrupted", (Exception,), {})
    return RunInterrupted


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one ``pro-rl`` command; returns the exit code (user errors 2, interrupts 130/143)."""
    args = _parser().parse_args(argv)
    debug = args.debug
    try:
        return _command(args)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("pro-rl: interrupted (Ctrl-C); with run.resume=auto a run continues from its last complete "
              "checkpoint", file=sys.stderr)
        return EXIT_SIGINT
    except Exception as raised:  # noqa: BLE001 — sorted below into user errors, interrupts and bugs
        error = unwrap_ray_error(raised)
        if isinstance(error, _interrupt_type()):
            if debug:
                traceback.print_exception(type(raised), raised, raised.__traceback__)
            print(f"pro-rl: {error_line(error)}", file=sys.stderr)
            return int(getattr(error, "exit_code", EXIT_SIGINT))
        if not isinstance(error, USER_ERRORS):
            raise
        if debug:
            traceback.print_exception(type(raised), raised, raised.__traceback__)
        print(f"pro-rl: error: {error_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
