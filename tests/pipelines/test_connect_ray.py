"""``pipelines.rl_stages.connect_ray``: the local cluster a run starts listens on 127.0.0.1 only.

Runs in a subprocess: the session's test cluster is already up in this process, and ``connect_ray`` would reuse it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, psutil, ray
from types import SimpleNamespace
from pipelines.rl_stages import connect_ray

connect_ray(SimpleNamespace(resources=SimpleNamespace(ray_address="", num_cpus=1)))

@ray.remote
def node_ip():
    return ray.util.get_node_ip_address()

processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
listening = []
for process in processes:
    try:
        listening += [c.laddr.ip for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    except psutil.Error:
        pass
print(json.dumps({"node": ray.get(node_ip.remote()), "listening": listening,
                  "env_restored": "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ}))
ray.shutdown()
"""


@pytest.mark.slow
def test_a_local_cluster_binds_every_port_to_the_loopback_address():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "HOME": str(Path.home())})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["node"] == "127.0.0.1"
    assert report["listening"], "found no listening socket of the Ray processes"
    assert {ip.removeprefix("::ffff:") for ip in report["listening"]} == {"127.0.0.1"}
    assert report["env_restored"]
