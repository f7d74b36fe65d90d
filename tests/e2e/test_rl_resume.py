"""A run killed with SIGKILL mid-training resumes (``run.resume=auto``) exactly where its last checkpoint left off.

Three runs of ``python -m pro_rl.cli run`` in subprocesses, each with its own local Ray cluster (two CPUs), the
same seed, one-step off-policy pipelining (``algorithm.off_policy_steps=1``, so a batch is in flight at every
checkpoint) and 6 steps with a checkpoint every 2: an uninterrupted run; a run whose humor reward hangs in step 6
(``reward_functions:humor_reward_stalling``) and is killed there — its whole process group, so the driver's Ray
processes go with it — after steps 1–5 were logged and ``step-000004`` written; and the resume of that run, after a
half-written ``.tmp-step-000006`` was planted beside the checkpoints as if the kill had hit a checkpoint write.
The resumed run must restart from step 4, drop the partial checkpoint and the metrics of step 5, see the same
prompt batches, and end with the same normaliser, KL controller, optimizer state and weights as the uninterrupted
run (generation and updates are seeded per step, so equality is expected; tolerance 1e-5 relative). The
synchronous loop's resume is checked by the SIGINT/SIGTERM test, against an uninterrupted synchronous run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pipelines.rl_batches import IN_FLIGHT_FILE
from pro_rl.training.loop import batch_indices
from pro_rl.training.metrics import read_metrics
from pro_rl.training.safe_load import safe_torch_load

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
TEST_REWARD_FUNCTIONS_DIR = REPO_ROOT / "tests" / "pipelines"
SEED, STEPS, PROMPT_BATCH = 3, 6, 2
OFF_POLICY = ("algorithm.off_policy_steps=1",)

pytestmark = pytest.mark.slow


def command(output_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pro_rl.cli", "run", str(CONFIG),
            "policy.model=tiny:gpt2", "reward_models.0.model=tiny:gpt2",
            "reward_models.1.model=pro_rl.data.toy_world:harmless_reward",
            "reward_models.2.model=reward_functions:humor_reward_stalling",
            "weights.mode=uniform", "orchestrator.path=''", "data.eval_prompts=''", "algorithm.adaptive_kl=true",
            f"run.seed={SEED}", f"algorithm.steps={STEPS}", f"algorithm.prompt_batch_size={PROMPT_BATCH}",
            "rollout.num_samples=2", "rollout.max_new_tokens=8", "run.checkpoint_every=2", "run.keep_checkpoints=2",
            "resources.num_cpus=2", "run.progress=false", f"run.output_dir={output_dir}", *extra]


def environment(stall_after_calls: int = 0) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TEST_REWARD_FUNCTIONS_DIR), env.get("PYTHONPATH")]))
    env["PRO_RL_TEST_STALL_AFTER_CALLS"] = str(stall_after_calls)
    return env


def run_to_completion(output_dir: Path, *extra: str) -> None:
    done = subprocess.run(command(output_dir, *extra), cwd=REPO_ROOT, env=environment(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


def logged_steps(output_dir: Path) -> list[int]:
    path = output_dir / "metrics.jsonl"
    return [record["step"] for record in read_metrics(path)] if path.is_file() else []


def kill_when(process: subprocess.Popen, ready, timeout_s: float) -> None:
    """SIGKILL the process group of ``process`` once ``ready()`` holds."""
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            assert process.poll() is None, f"the run ended (rc {process.returncode}) before it could be killed"
            assert time.monotonic() < deadline, "the run did not get far enough in time"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


def session_processes(session_id: int) -> list[int]:
    """Live (not zombie) processes of a session: the killed driver's Ray processes, if any outlived it."""
    import psutil

    alive = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(process.pid) == session_id and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return alive


def wait_until_gone(session_id: int, timeout_s: float) -> list[int]:
    """Ray's processes notice their driver died and exit within seconds; SIGKILL any still there after the wait."""
    deadline = time.monotonic() + timeout_s
    while (alive := session_processes(session_id)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return alive


def optimizer_tensors(checkpoint: Path) -> dict:
    """The policy's optimizer state tensors from a DeepSpeed checkpoint directory, by (parameter, name)."""
    tensors = {}
    for path in sorted((checkpoint / "policy").glob("*.pt")):
        state = safe_torch_load(path, map_location="cpu")
        optimizer = state.get("optimizer") or state.get("optimizer_state_dict") or {}
        for parameter, values in optimizer.get("state", {}).items():
            for name, value in values.items():
                if torch.is_tensor(value):
                    tensors[(path.name, parameter, name)] = value
    return tensors


def policy_weights(output_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(output_dir / "final" / "policy" / "model.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The reference: the same run, never interrupted (checkpoints every 2 steps, shared by the tests below)."""
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    run_to_completion(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def uninterrupted_off_policy(tmp_path_factory) -> Path:
    """The same reference with one-step off-policy pipelining (``algorithm.off_policy_steps=1``)."""
    output_dir = tmp_path_factory.mktemp("uninterrupted_off_policy")
    run_to_completion(output_dir, *OFF_POLICY)
    return output_dir


def test_a_killed_off_policy_run_resumes_its_batch_in_flight_as_if_never_interrupted(tmp_path,
                                                                                     uninterrupted_off_policy):
    """With ``algorithm.off_policy_steps=1`` (the synchronous loop's resume is the SIGINT/SIGTERM test's): the
    checkpoint of step 4 holds batch 5, sampled by version 3 while update 4 ran; the resumed run trains on it (the
    weights that sampled it are gone) and ends as the uninterrupted run."""
    killed = kill_resume_and_compare(tmp_path, uninterrupted_off_policy, *OFF_POLICY)
    in_flight = json.loads((killed / "checkpoints" / "step-000004" / IN_FLIGHT_FILE).read_text())
    assert in_flight["step"] == 4 and in_flight["behaviour_version"] == 3
    lags = [record["rollout/policy_lag"] for record in read_metrics(killed / "metrics.jsonl")]
    assert lags == [0.0] + [1.0] * (STEPS - 1)


def kill_resume_and_compare(tmp_path: Path, uninterrupted: Path, *extra: str) -> Path:
    """Kill a run in step 6 after its step-4 checkpoint, plant a half-written checkpoint, resume it, and check it
    against ``uninterrupted`` (metrics, loop state, optimizer state, weights); returns its directory."""
    killed = tmp_path / "killed"
    checkpoints = killed / "checkpoints"

    process = subprocess.Popen(command(killed, *extra), cwd=REPO_ROOT, env=environment(stall_after_calls=5),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    kill_when(process, lambda: (checkpoints / "step-000004").is_dir() and 5 in logged_steps(killed), timeout_s=400)
    assert wait_until_gone(process.pid, timeout_s=60) == [], "the killed driver's Ray processes outlived it"
    assert logged_steps(killed) == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-000002", "step-000004"]
    assert not (killed / "final").exists()
    partial = checkpoints / ".tmp-step-000006"
    partial.mkdir()
    (partial / "junk.bin").write_bytes(os.urandom(1024))

    run_to_completion(killed, *extra, "run.resume=auto")

    assert "resumed from" in (killed / "run.log").read_text()
    assert f"{checkpoints / 'step-000004'} at step 4" in (killed / "run.log").read_text()
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-000004", "step-000006"]
    assert not (checkpoints / "step-000006" / "junk.bin").exists()

    # Same steps, no duplicates; same prompt batches as the uninterrupted run and as batch_indices.
    expected = read_metrics(uninterrupted / "metrics.jsonl")
    resumed = read_metrics(killed / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [r["step"] for r in expected] == list(range(1, STEPS + 1))
    num_prompts = sum(1 for _ in (REPO_ROOT / "pro_rl" / "data" / "toy_world_data" / "prompts.jsonl").open())
    for a, b in zip(expected, resumed):
        first = batch_indices(num_prompts, PROMPT_BATCH, a["step"] - 1, SEED)[0]
        assert a["data/first_prompt_index"] == b["data/first_prompt_index"] == first
        for key in ("reward/total/mean", "reward/helpful/mean", "loss/policy", "kl/mean", "kl/coef"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key)

    # Same loop state: step, running normaliser, adaptive KL controller.
    state_a = json.loads((uninterrupted / "final" / "trainer_state.json").read_text())
    state_b = json.loads((killed / "final" / "trainer_state.json").read_text())
    assert state_a["step"] == state_b["step"] == STEPS
    assert_nested_close(state_b["normaliser"], state_a["normaliser"])
    assert_nested_close(state_b["kl_controller"], state_a["kl_controller"])

    # Same optimizer state and weights.
    optimizer_a = optimizer_tensors(uninterrupted / "checkpoints" / "step-000006")
    optimizer_b = optimizer_tensors(checkpoints / "step-000006")
    assert optimizer_a and optimizer_a.keys() == optimizer_b.keys()
    for key in optimizer_a:
        torch.testing.assert_close(optimizer_b[key], optimizer_a[key], rtol=1e-5, atol=1e-8, msg=str(key))
    weights_a, weights_b = policy_weights(uninterrupted), policy_weights(killed)
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        torch.testing.assert_close(weights_b[name], weights_a[name], rtol=1e-5, atol=1e-7, msg=name)
    return killed


def assert_nested_close(actual, expected, path: str = "") -> None:
    """Equal structure, numbers equal within 1e-6."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_nested_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_nested_close(a, e, f"{path}[{index}]")
    elif isinstance(expected, (int, float)):
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-6), path
    else:
        assert actual == expected, path


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_stops_at_a_step_boundary_and_resumes_as_if_never_interrupted(tmp_path, uninterrupted,
                                                                                         signal_number):
    """Ctrl-C (sent to the whole process group, as a terminal does) or SIGTERM (to the driver, as a scheduler does)
    mid-run: the driver finishes the step, checkpoints it although ``run.checkpoint_every`` is 0, shuts its actors
    down and exits 128 + signal with one line saying how to resume; after SIGINT, the resumed run ends as the
    uninterrupted one (which checkpointed every 2 steps: checkpoints change no number). SIGTERM stops through the same
    handler and leaves the same kind of checkpoint, so its resume is not repeated."""
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(command(interrupted, "run.checkpoint_every=0"), cwd=REPO_ROOT, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 400
    while 2 not in logged_steps(interrupted):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the run did not reach step 2 in time"
        time.sleep(0.1)
    if signal_number == signal.SIGINT:
        os.killpg(process.pid, signal_number)
    else:
        os.kill(process.pid, signal_number)
    _, stderr = process.communicate(timeout=300)
    wait_until_gone(process.pid, timeout_s=60)

    assert process.returncode == 128 + signal_number, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("pro-rl: ")]
    assert errors[-1].startswith(f"pro-rl: interrupted by {signal.Signals(signal_number).name} after step ")
    assert errors[-1].endswith("run.resume=auto"), errors[-1]
    assert "Traceback" not in stderr
    stopped_at = logged_steps(interrupted)[-1]
    assert 2 <= stopped_at < STEPS
    assert [p.name for p in (interrupted / "checkpoints").iterdir()] == [f"step-{stopped_at:06d}"]
    assert not (interrupted / "final").exists()
    if signal_number == signal.SIGTERM:
        return  # the same checkpoint at a step boundary as after SIGINT, whose resume follows (the suite's time)

    run_to_completion(interrupted, "run.checkpoint_every=0", "run.resume=auto")

    expected = read_metrics(uninterrupted / "metrics.jsonl")
    resumed = read_metrics(interrupted / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [r["step"] for r in expected] == list(range(1, STEPS + 1))
    for a, b in zip(expected, resumed):
        for key in ("reward/total/mean", "reward/helpful/mean", "loss/policy", "kl/mean", "kl/coef"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key)
    weights_a, weights_b = policy_weights(uninterrupted), policy_weights(interrupted)
    for name in weights_a:
        torch.testing.assert_close(weights_b[name], weights_a[name], rtol=1e-5, atol=1e-7, msg=name)
