"""Measuring helpers shared by the benchmarks: machine and load, CPU seconds of a process tree, medians, GPU timing.

CPU seconds come from ``/proc/<pid>/stat`` (user + system clock ticks) of a root process and every process below
it, summed per command name, so that a pipeline's driver, Ray daemons and actor workers are all counted. On a loaded
machine wall clock depends on the CPU share a process gets; CPU seconds do not.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Sequence

from pro_rl.training.metrics import StageTimer

REPO = Path(__file__).resolve().parents[1]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``"1.23 0.98 0.70"``."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> Dict[str, str]:
    """``uname -a``, CPU count, load average, commit (marked when the tree has uncommitted changes), Python."""
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    return {"uname": uname.stdout.strip(), "nproc": str(os.cpu_count()), "load_average": load_average(),
            "commit": commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else ""),
            "python": platform.python_version()}


def finish(info: Dict[str, str], report: Callable[[], str], json_path: str, results) -> None:
    """The end of a benchmark: the load at the end into ``info``, the report printed, and with ``json_path``
    ``{"machine": info, "results": results}`` written there."""
    info["load_average_at_end"] = load_average()
    print(report())
    if json_path:
        Path(json_path).write_text(json.dumps({"machine": info, "results": results}, indent=2))


def median_after_warmup(values: Sequence[float], warmup: int) -> float:
    """Median of ``values`` without the first ``warmup`` (NaN when nothing is left)."""
    kept = list(values)[warmup:]
    return statistics.median(kept) if kept else float("nan")


def _stat(stat_path: str) -> tuple[str, int, int]:
    """(command name, parent pid, user + system clock ticks) from a /proc/<pid>[/task/<tid>]/stat file."""
    with open(stat_path, "rb") as handle:
        text = handle.read()
    name, fields = text[text.index(b"(") + 1:text.rindex(b")")], text.rsplit(b")", 1)[1].split()
    return name.decode(errors="replace"), int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree_cpu_seconds(root: int) -> Dict[str, float]:
    """CPU seconds used so far by ``root`` ("driver") and every process below it, summed per command name
    (``ray::PolicyActo``, ``raylet``, ``gcs_server``, ...: Ray's daemons and actor workers when ``root`` is the
    driver that started the local cluster)."""
    children, stats = defaultdict(list), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = _stat(f"/proc/{entry}/stat")
            except (OSError, IndexError, ValueError):
                continue
            children[stats[int(entry)][1]].append(int(entry))
    seconds: Dict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            name = "driver" if pid == root else stats[pid][0]
            seconds[name] += stats[pid][2] / os.sysconf("SC_CLK_TCK")
        stack.extend(children.get(pid, ()))
    return dict(seconds)


class TreeCpuSampler(threading.Thread):
    """Samples (steps logged so far, CPU seconds of this process tree) every ``interval`` seconds while a pipeline
    runs, so CPU seconds per step can be read off the steady-state window. Its own CPU time is subtracted."""

    def __init__(self, metrics_path: Path, interval: float = 0.1):
        super().__init__(daemon=True)
        self.metrics_path, self.interval = metrics_path, interval
        self.samples: List[tuple[int, Dict[str, float], float]] = []  # (steps logged, CPU s per name, wall clock)
        self.stopped = threading.Event()

    def run(self) -> None:
        own = f"/proc/self/task/{threading.get_native_id()}/stat"
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stopped.wait(self.interval):
            try:
                steps = sum(1 for line in self.metrics_path.read_text().splitlines() if "time/step_s" in line)
            except OSError:
                steps = 0
            cpu = process_tree_cpu_seconds(os.getpid())
            cpu["driver"] = cpu.get("driver", 0.0) - _stat(own)[2] / tick
            self.samples.append((steps, cpu, time.perf_counter()))

    def per_step(self, warmup: int) -> tuple[float, float, Dict[str, float]]:
        """(CPU seconds, wall seconds, CPU seconds per process name) per step, from the first sample after step
        ``warmup`` to the first sample after the last step."""
        start = next((s for s in self.samples if s[0] >= warmup), None)
        last = max((s[0] for s in self.samples), default=0)
        end = next((s for s in self.samples if s[0] == last), None)
        if start is None or end is None or end[0] <= start[0]:
            return float("nan"), float("nan"), {}
        steps = end[0] - start[0]
        by_name = {name: max(0.0, end[1][name] - start[1].get(name, 0.0)) / steps for name in end[1]}
        return sum(by_name.values()), (end[2] - start[2]) / steps, by_name


def cpu_by_process(runs: Sequence[dict], smallest: float = 0.001) -> str:
    """Each process name's CPU seconds per step (median over runs), largest first."""
    names = {name for run in runs for name in run["cpu_s_per_step_by_process"]}
    medians = {name: statistics.median(run["cpu_s_per_step_by_process"].get(name, 0.0) for run in runs)
               for name in names}
    return ", ".join(f"{name} {value:.3f}" for name, value in sorted(medians.items(), key=lambda item: -item[1])
                     if value >= smallest)


def synchronize() -> None:
    """Wait for queued CUDA work (no-op without CUDA), so that wall-clock intervals include it."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


@contextmanager
def synchronized_stage(timer: StageTimer, name: str) -> Iterator[None]:
    """``timer.stage(name)`` with the device synchronised before the clock starts and before it stops."""
    synchronize()
    with timer.stage(name):
        yield
        synchronize()
