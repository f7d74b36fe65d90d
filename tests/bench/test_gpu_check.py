"""bench/gpu_wheels.sh's per-call layout and bench/gpu_check.sh's plumbing, on a CPU, in seconds.

A wheel built here is laid out by ``gpu_wheels.sh --files`` with a room smaller than the wheel, so it travels in two
parts over two calls; ``gpu_check.sh --dry-run`` then assembles it (sha256 against the manifest), resolves it with
``pip install --dry-run`` for cp312 manylinux, and runs the other steps as commands injected through
``GPU_CHECK_DRY_<STEP>``: one fails, one outlasts its ``--step-timeout``, and the check goes on after both and says
so in ``summary.json``; a step the budget cannot hold is skipped and said so. Without one call's parts, the dry
run's install fails, the check itself stops before its first step (exit 3), and ``--stash`` names the call still
missing.
"""

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = os.urandom(6000)  # incompressible, so the wheel stays larger than the room of one call


def probe_wheel(folder: Path) -> Path:
    """A pure-Python wheel ``gpucheckprobe`` 1.0 that pip accepts for any platform."""
    path = folder / "gpucheckprobe-1.0-py3-none-any.whl"
    files = {"gpucheckprobe/__init__.py": b"VALUE = 1\n", "gpucheckprobe/payload.bin": PAYLOAD,
             "gpucheckprobe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: gpucheckprobe\nVersion: 1.0\n",
             "gpucheckprobe-1.0.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},,\n" for name in [*files, "gpucheckprobe-1.0.dist-info/RECORD"])
    files["gpucheckprobe-1.0.dist-info/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def run(script: str, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, **environment}
    return subprocess.run(["bash", str(ROOT / "bench" / script), *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def laid_out(tmp_path):
    """(carried folder, the wheel's bytes): the probe wheel and a small sdist over two calls of 5000 bytes."""
    files = tmp_path / "files"
    files.mkdir()
    wheel = probe_wheel(files)
    (files / "gpucheckprobe_src-1.0.tar.gz").write_bytes(b"not unpacked by the dry run")
    carried = tmp_path / "carried"
    layout = run("gpu_wheels.sh", "--files", str(files), "--dir", str(carried), "--room-bytes", "5000")
    assert layout.returncode == 0, layout.stderr
    return carried, wheel.read_bytes()


def test_the_wheel_travels_in_parts_listed_in_every_calls_manifest(laid_out):
    carried, wheel = laid_out
    rows = [line.split("\t") for line in (carried / "MANIFEST.tsv").read_text().splitlines()[1:]]
    wheel_rows = [row for row in rows if row[1] == "gpucheckprobe-1.0-py3-none-any.whl"]
    assert len(wheel) > 5000 and len(wheel_rows) == 2  # over one call's room: two parts
    assert {row[0] for row in wheel_rows} == {"1", "2"}
    assert all(int(row[3]) <= 5000 and row[4] == hashlib.sha256(wheel).hexdigest() for row in wheel_rows)
    assert sorted(path.name for path in carried.glob("call-*")) == ["call-1", "call-2"]
    assert all((carried / f"call-{call}" / "MANIFEST.tsv").read_text() == (carried / "MANIFEST.tsv").read_text()
               for call in (1, 2))
    calls = json.loads((carried / "calls.json").read_text())["calls"]
    assert [call["command"] for call in calls] == ["bash bench/gpu_check.sh --stash-install", "bash bench/gpu_check.sh"]


def test_dry_run_goes_on_after_a_failed_and_a_timed_out_step(laid_out, tmp_path):
    carried, wheel = laid_out
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    result = run("gpu_check.sh", "--dry-run", "--carried", str(carried), "--out", str(out),
                 "--steps", "install,gpu_tests,throughput,pipeline", "--step-timeout", "throughput=2",
                 GPU_CHECK_SCRATCH=str(scratch), GPU_CHECK_DRY_GPU_TESTS="echo collected; exit 7",
                 GPU_CHECK_DRY_THROUGHPUT="sleep 60", GPU_CHECK_DRY_PIPELINE="echo '{}' > $GPU_CHECK_SCRATCH/"
                 "stage_breakdown.json")
    assert result.returncode == 1, result.stdout + result.stderr  # some step did not pass
    summary = json.loads((out / "summary.json").read_text())
    steps = {step["name"]: step for step in summary["steps"]}
    assert [step["name"] for step in summary["steps"]] == ["install", "gpu_tests", "throughput", "pipeline"]
    assert steps["install"]["status"] == "ok", steps["install"]["tail"]
    assert (scratch / "wheelhouse" / "whole" / "gpucheckprobe-1.0-py3-none-any.whl").read_bytes() == wheel
    assert any("Would install gpucheckprobe-1.0" in line for line in steps["install"]["tail"])
    assert (steps["gpu_tests"]["status"], steps["gpu_tests"]["rc"]) == ("failed", 7)
    assert steps["gpu_tests"]["tail"] == ["collected"]
    assert (steps["throughput"]["status"], steps["throughput"]["rc"]) == ("timed_out", 124)
    assert steps["throughput"]["timeout_s"] == 2 and steps["throughput"]["seconds"] < 10
    assert steps["pipeline"]["status"] == "ok" and summary["results"] == {"stage_breakdown": {}}
    assert summary["mode"] == "dry-run" and summary["budget_s"] == 560
    assert sorted(path.name for path in out.iterdir()) == [
        "01-install.log", "02-gpu_tests.log", "03-throughput.log", "04-pipeline.log", "summary.json"]


def test_a_missing_call_fails_the_install_stops_the_check_and_stash_names_it(laid_out, tmp_path):
    carried, _ = laid_out
    (carried / "call-2").rename(tmp_path / "not_carried")
    out = tmp_path / "out"
    result = run("gpu_check.sh", "--dry-run", "--carried", str(carried), "--out", str(out), "--steps", "install",
                 GPU_CHECK_SCRATCH=str(tmp_path / "scratch"))
    install = json.loads((out / "summary.json").read_text())["steps"][0]
    assert result.returncode == 1 and install["status"] == "failed"
    assert any("calls [2] were not carried" in line for line in install["tail"]), install["tail"]

    wheelhouse = tmp_path / "wheelhouse"  # the check itself (not a dry run): it stops before any step
    checked = run("gpu_check.sh", "--carried", str(carried), "--wheelhouse", str(wheelhouse), "--out", str(out),
                  GPU_CHECK_SCRATCH=str(tmp_path / "scratch"))
    assert checked.returncode == 3 and "calls [2] were not carried" in checked.stderr
    assert "stopping before the steps" in checked.stdout and not (out / "summary.json").exists()
    assert not list((carried / "call-1").iterdir()) and (wheelhouse / "MANIFEST.tsv").is_file()  # stashed

    stashed = run("gpu_check.sh", "--stash", "--carried", str(carried), "--wheelhouse", str(wheelhouse))
    assert stashed.returncode == 0, stashed.stderr
    assert "holds the parts of calls [1]; missing: [2]" in stashed.stdout


def test_a_step_the_budget_cannot_hold_is_skipped_and_said_so(tmp_path):
    out = tmp_path / "out"
    result = run("gpu_check.sh", "--dry-run", "--budget", "20", "--out", str(out), "--steps", "gpu_tests",
                 GPU_CHECK_SCRATCH=str(tmp_path / "scratch"), GPU_CHECK_DRY_GPU_TESTS="exit 0")
    step = json.loads((out / "summary.json").read_text())["steps"][0]
    assert result.returncode == 1 and (step["status"], step["seconds"]) == ("skipped", 0)
    assert step["tail"] == ["== gpu_tests: skipped, 20s of the budget left"]


@pytest.mark.parametrize("arguments, message", [
    (["--steps", "install,warp"], "no step 'warp' in --steps"),
    (["--step-timeout", "warp=3"], "no step 'warp'"),
    (["--budget", "soon"], "--budget takes whole seconds"),
])
def test_bad_arguments_are_refused_with_one_line(arguments, message):
    result = run("gpu_check.sh", "--dry-run", *arguments)
    assert result.returncode == 2 and message in result.stderr
