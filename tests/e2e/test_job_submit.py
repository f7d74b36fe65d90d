"""``ray job submit`` of the RL pipeline to a cluster started with ``ray start --head``, as a user would run it.

The head gets its own ``--temp-dir`` and explicit free ports, so it never meets the session's local cluster (the
``ray_cluster`` fixture) or anyone else's: ``ray.init()`` elsewhere on the machine only finds clusters recorded in
``/tmp/ray/ray_current_cluster``, which this head does not write. It runs with ``--block`` and is stopped by
signalling that one process (it stops the processes it started), never with ``ray stop``, which would stop every
Ray cluster of the user. Token authentication is on by default in Ray 2.60: ``ray start`` writes
``~/.ray/auth_token`` and the client needs ``RAY_AUTH_MODE=token``.

The job's entrypoint ``python`` is the first one on the ``PATH`` of the ``ray start`` process, so the head starts
with the virtualenv's ``bin`` first on ``PATH``, as it is after ``. .venv/bin/activate``; the uploaded working
directory is the job's current directory and comes first on its ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from pro_rl.training.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
EXCLUDES = ["runs/", ".venv/", "*.pt", "*.safetensors"]

pytestmark = pytest.mark.slow


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(closing(socket.socket())) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def user_environment() -> dict:
    """The environment of a user with the virtualenv activated and no Ray address preset."""
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["RAY_AUTH_MODE"] = "token"
    return env


def wait_for_port(port: int, head: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}")
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the dashboard did not open port {port} in {timeout_s} s")


def stop_head(head: subprocess.Popen) -> None:
    """SIGTERM to ``ray start --block`` stops its cluster; anything left in its session is killed after."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(head.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_ray_job_submit_runs_the_rl_pipeline_on_a_ray_start_cluster(tmp_path):
    gcs, dashboard, client, agent, agent_grpc, env_agent, metrics, node_manager, object_manager = free_ports(9)
    temp_dir = tempfile.mkdtemp(prefix="rayjob", dir="/tmp")  # short: Ray's Unix socket paths have a length limit
    env = user_environment()
    with open(tmp_path / "head.log", "w") as head_log:
        head = subprocess.Popen(
            [str(VENV_BIN / "ray"), "start", "--head", f"--port={gcs}", "--dashboard-host=127.0.0.1",
             f"--dashboard-port={dashboard}", "--num-cpus=2", f"--temp-dir={temp_dir}",
             f"--ray-client-server-port={client}", f"--dashboard-agent-listen-port={agent}",
             f"--dashboard-agent-grpc-port={agent_grpc}", f"--runtime-env-agent-port={env_agent}",
             f"--metrics-export-port={metrics}", f"--node-manager-port={node_manager}",
             f"--object-manager-port={object_manager}", "--disable-usage-stats", "--block"],
            env=env, stdout=head_log, stderr=subprocess.STDOUT, start_new_session=True)
    output_dir = tmp_path / "run"
    try:
        wait_for_port(dashboard, head, timeout_s=180)
        overrides = [
            "policy.model=tiny:gpt2", "weights.mode=uniform", "orchestrator.path=''", "data.eval_prompts=''",
            *[f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
              for k, name in enumerate(("helpful", "harmless", "humor"))],
            "algorithm.steps=2", "algorithm.prompt_batch_size=2", "rollout.num_samples=2", "rollout.max_new_tokens=8",
            "run.progress=false", f"run.output_dir={output_dir}",
        ]
        submit = subprocess.run(
            [str(VENV_BIN / "ray"), "job", "submit", "--address", f"http://127.0.0.1:{dashboard}", "--working-dir", ".",
             "--runtime-env-json", json.dumps({"excludes": EXCLUDES}), "--",
             "python", "-m", "pro_rl.cli", "run", "configs/tiny/pro_morlhf.yaml", *overrides],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        log = submit.stdout + submit.stderr
        assert submit.returncode == 0, log[-5000:]
        assert "succeeded" in log
        records = read_metrics(output_dir / "metrics.jsonl")
        assert [record["step"] for record in records] == [1, 2]
        assert all("reward/total/mean" in record and "time/step_s" in record for record in records)
        assert (output_dir / "final" / "policy" / "config.json").is_file()
    finally:
        stop_head(head)
        shutil.rmtree(temp_dir, ignore_errors=True)
