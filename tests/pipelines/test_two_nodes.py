"""A tiny RLOO run on a simulated 2-node Ray cluster (``ray.cluster_utils.Cluster``) whose 2-rank policy group is
placed ``STRICT_SPREAD``: one rank per node, one gloo group across them.

The cluster runs in a subprocess: the test session's own Ray cluster (``ray_cluster``) may already be connected in
this process, and a process joins one cluster at a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

DRIVER = """
import json, sys
import ray
from ray.cluster_utils import Cluster
from ray.util.placement_group import placement_group_table
import pipelines
from pipelines import rl_stages

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
cluster.add_node(num_cpus=1)
ray.init(address=cluster.address, log_to_driver=False)
update, seen = rl_stages.update, {}

def recording_update(roles, *args, **kwargs):
    table = placement_group_table(roles.placement.groups["policy"])
    seen["policy_nodes"] = [table["bundles_to_node_id"][index] for index in range(len(roles.policy.ranks))]
    seen["strategy"] = table["strategy"]
    seen["cluster_nodes"] = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
    return update(roles, *args, **kwargs)

rl_stages.update = recording_update
result = pipelines.run(sys.argv[1], sys.argv[2:])
seen["steps"] = result.metrics["step"]
print("RESULT " + json.dumps(seen))
ray.shutdown()
cluster.shutdown()
"""


@pytest.mark.slow
def test_a_policy_group_spans_two_simulated_nodes(rl_overrides, tmp_path):
    overrides = rl_overrides(tmp_path / "run", "resources.policy.replicas=2",
                             "resources.policy.placement=STRICT_SPREAD", "trainer.group_timeout_s=60", steps=2)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("RAY_ADDRESS", None)

    done = subprocess.run([sys.executable, "-c", DRIVER, str(REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"),
                           *overrides], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)

    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    seen = json.loads(lines[-1][len("RESULT "):])
    assert seen["strategy"] == "STRICT_SPREAD"
    assert len(seen["cluster_nodes"]) == 2
    assert sorted(seen["policy_nodes"]) == sorted(seen["cluster_nodes"])  # rank 0 on one node, rank 1 on the other
    assert seen["steps"] == 2
    assert (tmp_path / "run" / "final" / "policy" / "config.json").is_file()
