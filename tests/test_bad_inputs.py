"""Bad inputs a hostile but ordinary user gives the ``pro-rl`` command (issue 10), one table row each.

Every row must end the way DESIGN.md's "Rules for failure" promises: exit code 2, ONE line on stderr starting
``pro-rl: error:`` that names the culprit (the key, the file and line, the option), nothing on stdout, no Ray
started, and an earlier run directory left byte for byte as it was. The command runs in-process
(``pro_rl.cli.main``) to keep the table fast; ``test_real_exit_codes`` runs a few rows through
``python -m pro_rl.cli`` to prove the process exit code.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Sequence

import pytest

from pro_rl import cli

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = REPO_ROOT / "configs" / "tiny"
OBJECTIVES = ["helpful", "harmless", "humor"]


class World(NamedTuple):
    """The files the bad inputs point at, built once per module."""

    root: Path
    earlier_run: Path  # a finished run that no failed command may change
    orchestrator: Path  # a tiny 3-objective orchestrator
    policy: Path  # a plain tiny policy (not an orchestrator)
    wic_policy: Path  # a tiny policy that reads PRO-WIC weight tags


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from pro_rl.config.schema import ModelConfig, OrchestratorConfig
    from pro_rl.models.builders import build_orchestrator, build_policy
    from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

    root = tmp_path_factory.mktemp("bad_inputs")
    data = root / "data"
    _write(data / "empty.jsonl", "")
    _write(data / "blank_lines.jsonl", "\n\n  \n")
    _write(data / "malformed.jsonl", '{"prompt": "a"}\n{"prompt": "b"\n{"prompt": "c"}\n')
    _write(data / "latin1.jsonl", b'{"prompt": "caf\xe9"}\n')
    _write(data / "bad_role.jsonl", '{"prompt": [{"role": "wizard", "content": "hi"}]}\n')
    _write(data / "not_objects.jsonl", '{"prompt": "a"}\n[1, 2]\n')
    _write(data / "prompts_only.jsonl", '{"prompt": "a"}\n{"prompt": "b"}\n')
    _write(root / "configs" / "empty.yaml", "# nothing but a comment\n")
    _write(root / "configs" / "latin1.yaml", b"run:\n  name: caf\xe9\n")
    _write(root / "configs" / "syntax.yaml", "run:\n  name: [unclosed\n  seed: 1\n")
    _write(root / "configs" / "list.yaml", "- pipeline\n- sft\n")
    _write(root / "configs" / "unknown_key.yaml", f"base: {TINY / 'reward_models.yaml'}\nalgorithm:\n  kl_coeff: 0.1\n")
    _write(root / "configs" / "unset_env.yaml",
           f"base: {TINY / 'reward_models.yaml'}\nrun:\n  name: ${{oc.env:PRO_RL_TEST_UNSET_VARIABLE}}\n")
    (root / "configs" / "a_directory").mkdir()

    earlier = root / "earlier_run"
    _write(earlier / "config.yaml", "pipeline: reward_models\nrun:\n  name: earlier\n")
    _write(earlier / "metrics.jsonl", '{"step": 1, "loss/rm": 0.7}\n{"step": 2, "loss/rm": 0.6}\n')
    _write(earlier / "checkpoints" / "step-000002" / "state.json", '{"step": 2}\n')
    _write(earlier / "final" / "helpful" / "config.json", '{"architectures": ["GPT2ForSequenceClassification"]}\n')

    orchestrator = root / "orchestrator"
    model, tokenizer = build_orchestrator(OrchestratorConfig(model="tiny:xlm-roberta", tiny_hidden_size=32), OBJECTIVES)
    model.save_pretrained(orchestrator)
    tokenizer.save_pretrained(orchestrator)
    policy, wic_policy = root / "policy", root / "wic_policy"
    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2", tiny_hidden_size=32))
    for directory in (policy, wic_policy):
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
    Conditioning("wic", OBJECTIVES, [0.0] * 3, [1.0] * 3, [-1.0] * 3, [1.0] * 3).save(wic_policy / CONDITIONING_FILE)
    return World(root, earlier, orchestrator, policy, wic_policy)


class Case(NamedTuple):
    name: str
    argv: Callable[[World], List[str]]  # the command line after "pro-rl"
    culprit: Callable[[World], List[str]]  # what the error line must name
    env: Dict[str, str] = {}


RM = str(TINY / "reward_models.yaml")
RL = str(TINY / "pro_morlhf.yaml")


def rl_args(w: World, *overrides: str) -> List[str]:
    """The tiny RL config with tiny stand-ins for the trained models, the earlier run as output directory."""
    stand_ins = ["policy.model=tiny:gpt2", *(f"reward_models.{i}.model=tiny:gpt2" for i in range(3)),
                 f"orchestrator.path={w.orchestrator}", f"run.output_dir={w.earlier_run}"]
    return ["run", RL, *stand_ins, *overrides]


def rm_args(w: World, *overrides: str) -> List[str]:
    return ["run", RM, f"run.output_dir={w.earlier_run}", *overrides]


def data(w: World, name: str) -> str:
    return str(w.root / "data" / name)


def conf(w: World, name: str) -> str:
    return str(w.root / "configs" / name)


CONFIG_CASES = [
    Case("missing config file", lambda w: ["run", conf(w, "nope.yaml")], lambda w: ["not found", "nope.yaml"]),
    Case("directory as config", lambda w: ["run", conf(w, "a_directory")], lambda w: ["a_directory", "is a directory"]),
    Case("empty yaml", lambda w: ["run", conf(w, "empty.yaml")], lambda w: ["empty.yaml", "empty"]),
    Case("non-utf8 yaml", lambda w: ["config", conf(w, "latin1.yaml")], lambda w: ["latin1.yaml:2", "UTF-8"]),
    Case("yaml syntax", lambda w: ["run", conf(w, "syntax.yaml")], lambda w: ["syntax.yaml:", "not valid YAML"]),
    Case("yaml top-level list", lambda w: ["run", conf(w, "list.yaml")], lambda w: ["list.yaml", "mapping"]),
    Case("unknown yaml key", lambda w: ["run", conf(w, "unknown_key.yaml")], lambda w: ["kl_coeff", "unknown_key.yaml"]),
    Case("unknown override key", lambda w: rm_args(w, "algorithm.kl_coeff=0.1"), lambda w: ["algorithm.kl_coeff"]),
    Case("override without =", lambda w: rm_args(w, "algorithm.kl_coef"), lambda w: ["algorithm.kl_coef", "key=value"]),
    Case("override with ==", lambda w: rm_args(w, "run.name==b"), lambda w: ["key 'run.name'", "run.name==b"]),
    Case("seed not a number", lambda w: rm_args(w, "run.seed=abc"), lambda w: ["key 'run.seed'", "abc"]),
    Case("seed negative", lambda w: rm_args(w, "run.seed=-3"), lambda w: ["key 'run.seed'", "-3"]),
    Case("overwrite not a bool", lambda w: rm_args(w, "run.overwrite=perhaps"), lambda w: ["key 'run.overwrite'"]),
    Case("normalize_advantages not a bool", lambda w: rl_args(w, "algorithm.normalize_advantages=maybe"),
         lambda w: ["key 'algorithm.normalize_advantages'"]),
    Case("unknown reward source", lambda w: rl_args(w, "algorithm.reward_source=magic"),
         lambda w: ["key 'algorithm.reward_source'", "magic"]),
    Case("orchestrator lr nan", lambda w: rm_args(w, "orchestrator.training.learning_rate=nan"),
         lambda w: ["key 'orchestrator.training.learning_rate'", "nan"]),
    Case("reward model lr inf", lambda w: rm_args(w, "reward_models.1.training.learning_rate=inf"),
         lambda w: ["key 'reward_models.1.training.learning_rate'", "inf"]),
    Case("policy lr 0", lambda w: rl_args(w, "policy.learning_rate=0"), lambda w: ["key 'policy.learning_rate'", "> 0"]),
    Case("prompt batch 0", lambda w: rl_args(w, "algorithm.prompt_batch_size=0"),
         lambda w: ["key 'algorithm.prompt_batch_size'", "≥ 1"]),
    Case("kl_coef nan", lambda w: rl_args(w, "algorithm.kl_coef=nan"), lambda w: ["key 'algorithm.kl_coef'", "nan"]),
    Case("kl_coef negative", lambda w: rl_args(w, "algorithm.kl_coef=-0.1"), lambda w: ["key 'algorithm.kl_coef'"]),
    Case("log_every 0", lambda w: rl_args(w, "run.log_every=0"), lambda w: ["key 'run.log_every'", "≥ 1"]),
    Case("steps 0", lambda w: rl_args(w, "algorithm.steps=0"), lambda w: ["key 'algorithm.steps'", "≥ 1"]),
    Case("steps -1", lambda w: rl_args(w, "algorithm.steps=-1"), lambda w: ["key 'algorithm.steps'", "-1"]),
    Case("temperature negative", lambda w: rl_args(w, "rollout.temperature=-1"), lambda w: ["key 'rollout.temperature'"]),
    Case("top_p 0", lambda w: rl_args(w, "rollout.top_p=0"), lambda w: ["key 'rollout.top_p'", "(0, 1]"]),
    Case("top_p inf", lambda w: rl_args(w, "rollout.top_p=inf"), lambda w: ["key 'rollout.top_p'"]),
    Case("gamma above 1", lambda w: rl_args(w, "algorithm.gamma=1.5"), lambda w: ["key 'algorithm.gamma'", "[0, 1]"]),
    Case("quantile above 1", lambda w: rl_args(w, "wic.quantile=1.5"), lambda w: ["key 'wic.quantile'"]),
    Case("tau 0", lambda w: rm_args(w, "orchestrator.tau=0"), lambda w: ["key 'orchestrator.tau'"]),
    Case("fixed weights K mismatch", lambda w: rl_args(w, "weights.mode=fixed", "weights.fixed=[0.5,0.5]"),
         lambda w: ["key 'weights.fixed'", "K mismatch"]),
    Case("fixed weights nan", lambda w: rl_args(w, "weights.mode=fixed", "weights.fixed=[nan,0.5,0.5]"),
         lambda w: ["key 'weights.fixed'", "simplex"]),
    Case("orchestrator K mismatch", lambda w: rl_args(w, "reward_models=[{name: helpful, model: 'tiny:gpt2'},"
                                                      "{name: humor, model: 'tiny:gpt2'}]"),
         lambda w: ["key 'orchestrator.path'", "3 objectives", "K mismatch"]),
    Case("orchestrator path is a policy", lambda w: rl_args(w, f"orchestrator.path={w.policy}"),
         lambda w: ["key 'orchestrator.path'", "not a trained orchestrator"]),
    Case("policy path missing", lambda w: rl_args(w, "policy.model=./no/such/policy"),
         lambda w: ["key 'policy.model'", "no such model directory", "./no/such/policy"]),
    Case("evaluate policy missing", lambda w: ["run", str(TINY / "evaluate.yaml"), "orchestrator.path=''",
                                               f"run.output_dir={w.earlier_run}", "evaluate.policy=./no/such/policy"],
         lambda w: ["key 'evaluate.policy'", "no such model directory", "./no/such/policy"]),
    Case("hub id offline", lambda w: rm_args(w, "reward_models.0.model=nobody-here/no-such-model-xyz"),
         lambda w: ["key 'reward_models.0.model'", "no such model directory", "HF_HUB_OFFLINE"],
         {"HF_HUB_OFFLINE": "1"}),
    Case("unknown tiny builder", lambda w: rl_args(w, "policy.model=tiny:bert"),
         lambda w: ["key 'policy.model'", "tiny:bert"]),
    Case("unset env variable", lambda w: ["run", conf(w, "unset_env.yaml")],
         lambda w: ["run.name", "PRO_RL_TEST_UNSET_VARIABLE"]),
    Case("missing prompts file", lambda w: rl_args(w, f"data.prompts={data(w, 'none.jsonl')}"),
         lambda w: ["key 'data.prompts'", "none.jsonl"]),
    Case("resume choice", lambda w: rm_args(w, "run.resume=sometimes"), lambda w: ["key 'run.resume'", "sometimes"]),
    Case("unknown tracker", lambda w: rm_args(w, "run.report_to=[tensorboard,comet]"),
         lambda w: ["key 'run.report_to'", "comet"]),
]

CLI_CASES = [
    Case("unknown command", lambda w: ["train"], lambda w: ["invalid choice: 'train'"]),
    Case("weights on a policy dir", lambda w: ["weights", "--orchestrator", str(w.policy), "hi"],
         lambda w: [str(w.policy), "not a trained orchestrator"]),
    Case("weights on a missing dir", lambda w: ["weights", "--orchestrator", str(w.root / "nothing"), "hi"],
         lambda w: [str(w.root / "nothing"), "no trained orchestrator"]),
    Case("empty jsonl", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts", data(w, "empty.jsonl")],
         lambda w: ["empty.jsonl", "empty"]),
    Case("blank-lines-only jsonl", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                              data(w, "blank_lines.jsonl")], lambda w: ["blank_lines.jsonl", "empty"]),
    Case("malformed jsonl line", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                            data(w, "malformed.jsonl")], lambda w: ["malformed.jsonl:2", "invalid JSON"]),
    Case("jsonl line not an object", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                                data(w, "not_objects.jsonl")], lambda w: ["not_objects.jsonl:2"]),
    Case("non-utf8 jsonl", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                      data(w, "latin1.jsonl")], lambda w: ["latin1.jsonl:1", "UTF-8"]),
    Case("unknown chat role", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                         data(w, "bad_role.jsonl")], lambda w: ["bad_role.jsonl:1", "'wizard'"]),
    Case("weights prompts file missing", lambda w: ["weights", "--orchestrator", str(w.orchestrator), "--prompts",
                                            data(w, "none.jsonl")], lambda w: ["none.jsonl", "not found"]),
    Case("generate nan weight", lambda w: ["generate", "--policy", str(w.wic_policy), "--weights", "nan,0.5,0.5", "hi"],
         lambda w: ["--weights", "nan"]),
    Case("generate negative weight", lambda w: ["generate", "--policy", str(w.wic_policy), "--weights=-0.5,1,0.5",
                                                "hi"], lambda w: ["--weights", "-0.5"]),
    Case("generate weight not a number", lambda w: ["generate", "--policy", str(w.wic_policy), "--weights", "a,b,c",
                                                    "hi"], lambda w: ["--weights", "'a'"]),
    Case("generate wrong weight count", lambda w: ["generate", "--policy", str(w.wic_policy), "--weights", "0.5,0.5",
                                                   "hi"], lambda w: ["--weights", "need 3 weights"]),
    Case("generate top-p 0", lambda w: ["generate", "--policy", str(w.wic_policy), "--top-p", "0", "hi"],
         lambda w: ["--top-p"]),
    Case("generate num-samples 0", lambda w: ["generate", "--policy", str(w.wic_policy), "--num-samples", "0", "hi"],
         lambda w: ["--num-samples"]),
]

# Rows that need the pipelines to load every input before they touch the run directory (issue 10, finding 1).
RUN_DIR_CASES = [
    Case("fresh start into another run", lambda w: rm_args(w), lambda w: ["key 'run.output_dir'", str(w.earlier_run)]),
    Case("resume a different run", lambda w: rm_args(w, "run.resume=auto"),
         lambda w: ["key 'run.output_dir'", str(w.earlier_run)]),
    Case("overwrite but empty reward data", lambda w: rm_args(w, "run.overwrite=true",
                                                               f"reward_models.0.data={data(w, 'empty.jsonl')}"),
         lambda w: ["empty.jsonl", "empty"]),
    Case("overwrite but malformed reward data", lambda w: rm_args(w, "run.overwrite=true",
                                                                   f"reward_models.2.data={data(w, 'malformed.jsonl')}"),
         lambda w: ["malformed.jsonl:2"]),
    Case("overwrite but pairs lack chosen", lambda w: rm_args(w, "run.overwrite=true",
                                                               f"reward_models.1.data={data(w, 'prompts_only.jsonl')}"),
         lambda w: ["prompts_only.jsonl", "'chosen'"]),
]

ALL_CASES = CONFIG_CASES + CLI_CASES + RUN_DIR_CASES


def tree_digest(directory: Path) -> str:
    """A hash of every file's path and bytes under ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        digest.update(str(path.relative_to(directory)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ray_started() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def test_the_table_is_large_enough():
    assert len(ALL_CASES) >= 40
    assert len({case.name for case in ALL_CASES}) == len(ALL_CASES)


def assert_one_line_exit_2_before_any_work(case: Case, world: World, capsys, monkeypatch,
                                           extra_argv: Sequence[str] = ()) -> None:
    """``pro-rl <case.argv> <extra_argv>`` fails with one ``pro-rl: error:`` line naming the culprit, exit 2, no
    traceback, nothing on stdout, no Ray started and the earlier run directory untouched."""
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(world.root)
    before = tree_digest(world.earlier_run)
    ray_was_started = ray_started()

    try:
        code = cli.main([*case.argv(world), *extra_argv])
    except SystemExit as usage_error:  # argparse ends usage errors with sys.exit(2)
        code = usage_error.code

    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("pro-rl: error: ")
    for part in case.culprit(world):
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"
    assert "Traceback" not in err and out == ""
    assert ray_started() == ray_was_started
    assert tree_digest(world.earlier_run) == before


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_bad_input_is_one_line_exit_2_before_any_work(case: Case, world: World, capsys, monkeypatch):
    assert_one_line_exit_2_before_any_work(case, world, capsys, monkeypatch)


# ---- interrupts and errors raised inside Ray actors ---------------------------------------------------------------


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_command", interrupted)
    assert cli.main(["config"]) == 130
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("pro-rl: interrupted") and "Traceback" not in err


@pytest.mark.parametrize("signal_name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_run_interrupted_exits_with_its_code(signal_name, code, tmp_path, monkeypatch, capsys):
    import signal

    from pro_rl.training.interrupts import RunInterrupted

    def interrupted(args):
        raise RunInterrupted(getattr(signal, signal_name), tmp_path, 3)

    monkeypatch.setattr(cli, "_command", interrupted)
    assert cli.main(["config"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"interrupted by {signal_name} after step 3" in err and "run.resume=auto" in err
    assert "Traceback" not in err


def _ray_task_error(cause: BaseException):
    """A task error as Ray builds it: the function, the remote traceback's text (ending in the cause), the cause."""
    exceptions = pytest.importorskip("ray.exceptions")
    remote_traceback = (f'Traceback (most recent call last):\n  File "actors/reward.py", line 30, in score\n'
                        f"{type(cause).__module__}.{type(cause).__name__}: {cause}")
    return exceptions.RayTaskError("RewardActor.score", remote_traceback, cause)


@pytest.mark.parametrize("make_cause, named", [
    (lambda: __import__("pro_rl.data.errors", fromlist=["DataError"]).DataError("pairs.jsonl", "empty prompt", 3),
     "empty prompt (pairs.jsonl, row 3)"),
    (lambda: ValueError("reward function returned 2 scores for 4 responses"), "returned 2 scores"),
    (lambda: FileNotFoundError(2, "No such file or directory", "/models/helpful"), "(/models/helpful)"),
])
def test_errors_inside_ray_tasks_are_one_line(make_cause, named, monkeypatch, capsys):
    wrapped = _ray_task_error(make_cause()).as_instanceof_cause()

    def raise_wrapped(args):
        raise wrapped

    monkeypatch.setattr(cli, "_command", raise_wrapped)
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err


def test_error_in_an_actor_start_is_one_line(monkeypatch, capsys):
    exceptions = pytest.importorskip("ray.exceptions")
    from pro_rl.config import ConfigError

    died = exceptions.ActorDiedError(_ray_task_error(ConfigError("key 'policy.model': no such model directory: x")))

    def raise_died(args):
        raise died

    monkeypatch.setattr(cli, "_command", raise_died)
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such model directory: x" in err


def test_debug_prints_the_traceback(world, capsys):
    assert cli.main(["--debug", "run", conf(world, "empty.yaml")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("pro-rl: error: ")


def test_a_bug_is_not_disguised_as_a_user_error(monkeypatch):
    def broken(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(cli, "_command", broken)
    with pytest.raises(RuntimeError):
        cli.main(["config"])


# ---- the real process exit code ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["steps 0", "empty yaml", "directory as config", "empty jsonl", "override with ==",
                                  "unknown command"])
def test_real_exit_codes(name, world):
    case = next(case for case in ALL_CASES if case.name == name)
    result = subprocess.run([sys.executable, "-m", "pro_rl.cli", *case.argv(world)], cwd=world.root,
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("pro-rl: error: "), result.stderr
    assert all(part in lines[0] for part in case.culprit(world))


# ---- MOSLIM: bad preference tags in the prompt data (issue 12) ---------------------------------------------------


@pytest.fixture(scope="module")
def moslim_classifier(tiny_moslim_classifier_dir) -> Path:
    return tiny_moslim_classifier_dir


@pytest.mark.parametrize("tag, named", [("<helpful 4>", "intensity 4 of tag <helpful 4> is out of 1..3"),
                                        ("<kindness 1>", "unknown objective in tag <kindness 1>"),
                                        ("<helpful 2><helpful 1>", "duplicate tag for objective 'helpful'"),
                                        ("<helpful two>", "malformed tag <helpful two>")])
def test_a_bad_moslim_tag_is_one_line_naming_file_and_row(tag, named, world, moslim_classifier, tmp_path, capsys,
                                                          monkeypatch):
    prompts = _write(tmp_path / "tagged.jsonl", '{"prompt": "\\n\\nHuman: <humor 2> hi\\n\\nAssistant:"}\n'
                                                f'{{"prompt": "\\n\\nHuman: {tag} hi\\n\\nAssistant:"}}\n')
    monkeypatch.chdir(world.root)
    argv = ["run", str(TINY / "moslim.yaml"), "policy.model=tiny:gpt2", f"moslim.reward_model={moslim_classifier}",
            f"data.prompts={prompts}", f"run.output_dir={tmp_path / 'run'}"]
    ray_was_started = ray_started()

    code = cli.main(argv)

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("pro-rl: error: "), lines
    assert f"{prompts}: row 2: bad MOSLIM tag: {named}" in lines[0]
    assert not (tmp_path / "run").exists() and ray_started() == ray_was_started


# ---- SGA: bad sga settings, a K mismatch with an SGA policy's head ------------------------------------------------


def _sga_policy_for_two_objectives(w: World) -> str:
    """A tiny policy directory whose (stand-in) SGA head scores 2 objectives."""
    import shutil

    directory = w.root / "sga_policy_k2"
    if not directory.exists():
        shutil.copytree(w.policy, directory)
        _write(directory / "sga_head.json", '{"input_size": 32, "objectives": ["helpful", "humor"], '
                                            '"hidden_size": 16, "num_layers": 3}\n')
        _write(directory / "sga_head.safetensors", b"")
    return str(directory)


SGA_CASES = [
    Case("sga lambda 0", lambda w: ["run", str(TINY / "sga_sft.yaml"), "sga.lam=0"], lambda w: ["key 'sga.lam'", "> 0"]),
    Case("sga lambda nan", lambda w: ["run", str(TINY / "sga_sft.yaml"), "sga.lam=nan"], lambda w: ["key 'sga.lam'", "nan"]),
    Case("sga unknown score source", lambda w: ["run", str(TINY / "sga_sft.yaml"), "sga.score_source=oracle"],
         lambda w: ["key 'sga.score_source'", "oracle"]),
    Case("sga toy world scores of another objective",
         lambda w: ["run", str(TINY / "sga_sft.yaml"), "reward_models=[{name: verbosity, model: 'tiny:gpt2'}]"],
         lambda w: ["key 'sga.score_source'", "verbosity"]),
    Case("sga policy head K mismatch", lambda w: ["run", str(TINY / "sga_dpo.yaml"),
                                                  f"policy.model={_sga_policy_for_two_objectives(w)}"],
         lambda w: ["key 'policy.model'", "2 objectives", "K mismatch"]),
    Case("sga without pairs", lambda w: ["run", str(TINY / "sga_sft.yaml"), "data.general_pairs=''"],
         lambda w: ["key 'data.general_pairs'", "sga_sft"]),
    Case("sga policy missing", lambda w: ["run", str(TINY / "sga_dpo.yaml"), "policy.model=./no/such/sga"],
         lambda w: ["key 'policy.model'", "no such model directory"]),
]


@pytest.mark.parametrize("case", SGA_CASES, ids=[case.name for case in SGA_CASES])
def test_bad_sga_config_is_one_line_exit_2_before_any_work(case: Case, world: World, capsys, monkeypatch):
    assert_one_line_exit_2_before_any_work(case, world, capsys, monkeypatch, [f"run.output_dir={world.earlier_run}"])


# ---- MOSLIM reward model: bad moslim settings and bad label rows ---------------------------------------------------


def _bad_label_file(w: World) -> str:
    """Label rows whose second row has a class out of 1..3 for 'helpful'."""
    return str(_write(w.root / "data" / "bad_labels.jsonl",
                      '{"prompt": "q", "response": "a", "labels": {"helpful": 1}}\n'
                      '{"prompt": "q", "response": "b", "labels": {"helpful": 5}}\n'))


MOSLIM_RM = str(TINY / "moslim_reward_model.yaml")
MOSLIM_RM_CASES = [
    Case("moslim head of one class", lambda w: ["run", MOSLIM_RM, "moslim.levels={helpful: 1}"],
         lambda w: ["key 'moslim.levels.helpful'", "at least 2"]),
    Case("moslim levels not in the toy world", lambda w: ["run", MOSLIM_RM, "moslim.levels={kindness: 3}"],
         lambda w: ["key 'moslim.levels'", "kindness"]),
    Case("moslim data type 5", lambda w: ["run", MOSLIM_RM, "moslim.data_type=5"],
         lambda w: ["key 'moslim.data_type'", "[1, 4]"]),
    Case("moslim label file missing", lambda w: ["run", MOSLIM_RM, "moslim.data=./no/labels.jsonl",
                                                 "moslim.levels={helpful: 3}"],
         lambda w: ["key 'moslim.data'", "./no/labels.jsonl"]),
    Case("moslim label out of range", lambda w: ["run", MOSLIM_RM, f"moslim.data={_bad_label_file(w)}",
                                                 "moslim.levels={helpful: 3}", "run.overwrite=true"],
         lambda w: ["label 5 of 'helpful' is out of 1..3", "bad_labels.jsonl, row 1"]),
]


@pytest.mark.parametrize("case", MOSLIM_RM_CASES, ids=[case.name for case in MOSLIM_RM_CASES])
def test_bad_moslim_reward_model_input_is_one_line_exit_2_before_any_work(case: Case, world: World, capsys,
                                                                          monkeypatch):
    assert_one_line_exit_2_before_any_work(case, world, capsys, monkeypatch, [f"run.output_dir={world.earlier_run}"])


# ---- MOSLIM controllability and the moslim evaluate method (issue 12, item 6) -------------------------------------

CONTROL = str(TINY / "moslim_controllability.yaml")


def control_args(w: World, *overrides: str) -> List[str]:
    """The tiny controllability config on the module's plain tiny policy, the toy world's intensity levels."""
    return ["run", CONTROL, f"evaluate.policy={w.policy}", "moslim.reward_model=''", *overrides]


MOSLIM_EVAL_CASES = [
    Case("controllability interval level 1", lambda w: control_args(w, "evaluate.interval_level=1.0"),
         lambda w: ["key 'evaluate.interval_level'", "(0, 1)"]),
    Case("controllability zero resamples", lambda w: control_args(w, "evaluate.bootstrap_resamples=0"),
         lambda w: ["key 'evaluate.bootstrap_resamples'"]),
    Case("controllability objective without ground truth",
         lambda w: control_args(w, "moslim.levels={kindness: 3}", "reward_models=[{name: kindness, model: 'tiny:gpt2'}]"),
         lambda w: ["key 'reward_models'", "kindness", "ground truth"]),
    Case("controllability objective without a head", lambda w: control_args(w, "moslim.levels={helpful: 3}"),
         lambda w: ["key 'moslim.levels'", "harmless", "humor"]),
    Case("controllability without held-out prompts", lambda w: control_args(w, "data.eval_prompts=''"),
         lambda w: ["key 'data.eval_prompts'"]),
    Case("controllability policy missing", lambda w: control_args(w, "evaluate.policy=./no/policy"),
         lambda w: ["evaluate.policy", "./no/policy"]),
    Case("controllability reward model missing", lambda w: control_args(w, "moslim.reward_model=./no/classifier"),
         lambda w: ["key 'moslim.reward_model'", "./no/classifier"]),
    Case("moslim evaluate objective without a head",
         lambda w: control_args(w, "pipeline=evaluate", "evaluate.method=moslim", "moslim.levels={helpful: 3}",
                                "reward_models=[{name: humor, model: 'pro_rl.data.toy_world:humor_reward'}]"),
         lambda w: ["key 'moslim.levels'", "humor"]),
]


@pytest.mark.parametrize("case", MOSLIM_EVAL_CASES, ids=[case.name for case in MOSLIM_EVAL_CASES])
def test_bad_moslim_evaluation_input_is_one_line_exit_2_before_any_work(case: Case, world: World, capsys,
                                                                        monkeypatch):
    assert_one_line_exit_2_before_any_work(case, world, capsys, monkeypatch, [f"run.output_dir={world.earlier_run}"])


# ---- SGA inference and evaluation: --scores, a policy without the head, K mismatch ----------------------------------

EVALUATE = str(TINY / "evaluate.yaml")


def sga_evaluate_args(w: World, policy: str, *overrides: str) -> List[str]:
    """The tiny evaluate config with method sga on ``policy``, the earlier run as output directory."""
    return ["run", EVALUATE, "orchestrator.path=''", "evaluate.method=sga", f"evaluate.policy={policy}",
            f"run.output_dir={w.earlier_run}", *overrides]


SGA_INFERENCE_CASES = [
    Case("generate scores on a policy without head", lambda w: ["generate", "--policy", str(w.policy), "--scores",
                                                                "0.5,0.5,0.5", "hi"],
         lambda w: [str(w.policy), "not an SGA policy"]),
    Case("generate scores K mismatch", lambda w: ["generate", "--policy", _sga_policy_for_two_objectives(w),
                                                  "--scores", "0.5,0.5,0.5", "hi"],
         lambda w: ["--scores", "need 2 scores", "K mismatch"]),
    Case("generate score above 1", lambda w: ["generate", "--policy", str(w.policy), "--scores", "0.5,1.5,0", "hi"],
         lambda w: ["--scores", "1.5", "[0, 1]"]),
    Case("generate weights on an SGA policy", lambda w: ["generate", "--policy", _sga_policy_for_two_objectives(w),
                                                         "--weights", "0.5,0.5", "hi"],
         lambda w: ["SGA policy", "--scores"]),
    Case("evaluate sga on a policy without head", lambda w: sga_evaluate_args(w, str(w.policy)),
         lambda w: ["key 'evaluate.policy'", str(w.policy), "not an SGA policy"]),
    Case("evaluate sga head K mismatch", lambda w: sga_evaluate_args(w, _sga_policy_for_two_objectives(w)),
         lambda w: ["key 'evaluate.policy'", "K mismatch"]),
    Case("evaluate sga unknown strategy", lambda w: sga_evaluate_args(w, str(w.policy),
                                                                      "evaluate.sga_strategies=[fixed_2]"),
         lambda w: ["key 'evaluate.sga_strategies'", "fixed_2"]),
    Case("evaluate sga baseline missing", lambda w: sga_evaluate_args(w, str(w.policy),
                                                                      "evaluate.baseline_policy=./no/sft"),
         lambda w: ["key 'evaluate.baseline_policy'", "./no/sft"]),
]


@pytest.mark.parametrize("case", SGA_INFERENCE_CASES, ids=[case.name for case in SGA_INFERENCE_CASES])
def test_bad_sga_inference_input_is_one_line_exit_2_before_any_work(case: Case, world: World, capsys, monkeypatch):
    assert_one_line_exit_2_before_any_work(case, world, capsys, monkeypatch)
