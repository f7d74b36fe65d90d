"""Shared fixtures of the Ray tests: one local Ray cluster per test session, tiny RL configs, a tiny orchestrator.

The cluster starts lazily — only tests that ask for ``ray_cluster`` pay its 6–9 s — and the pipelines reuse it
(``pipelines.rl_stages.connect_ray`` calls ``ray.init`` only when Ray is not initialised yet). Its workers get
``tests/pipelines`` on their ``PYTHONPATH`` so reward functions written for tests (``reward_functions.py``) load
inside reward actors as ``reward_functions:<name>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, List

import pytest
import torch

# One intra-op thread in the test process and in the processes it starts (subprocess drivers inherit
# OMP_NUM_THREADS): tiny models gain nothing from a second one, the session's Ray actors need the machine's other
# core (with 2 threads, the in-driver pipeline tests ran 3 times slower on a busy 2-core machine: 65 s against 22 s),
# and a run compared with its resumed copy in another process sums in the same order.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_REWARD_FUNCTIONS_DIR = REPO_ROOT / "tests" / "pipelines"
TINY_RL_CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
OBJECTIVES = ("helpful", "harmless", "humor")


def python_path_with_test_functions() -> str:
    """``PYTHONPATH`` for processes (Ray workers, subprocess drivers) that must import ``reward_functions``."""
    return os.pathsep.join(filter(None, [str(TEST_REWARD_FUNCTIONS_DIR), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture(scope="session")
def ray_cluster():
    """A local two-CPU Ray cluster for the whole session (``address="local"``: never a cluster started elsewhere)."""
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": python_path_with_test_functions()}})
        started = True
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def tiny_orchestrator_dir(tmp_path_factory) -> Path:
    """An untrained tiny orchestrator (xlm-roberta, K=3 labels) saved like a trained one."""
    from pro_rl.config import ModelConfig
    from pro_rl.models import build_orchestrator

    directory = tmp_path_factory.mktemp("tiny_orchestrator")
    model, tokenizer = build_orchestrator(ModelConfig(model="tiny:xlm-roberta"), list(OBJECTIVES))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_tiny_policy(directory, noise_seed=None) -> Path:
    """A random tiny gpt2 policy saved like a trained one in ``directory``; with ``noise_seed``, its weights moved by
    seeded noise (0.05 · N(0, 1)), so that two saved policies differ."""
    import torch

    from pro_rl.config import ModelConfig
    from pro_rl.models.builders import build_policy

    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    if noise_seed is not None:
        generator = torch.Generator().manual_seed(noise_seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


@pytest.fixture(scope="session")
def tiny_policy_saver() -> Callable[..., Path]:
    """``save_tiny_policy`` for tests (conftest modules are not importable under ``--import-mode=importlib``)."""
    return save_tiny_policy


MOSLIM_HEADS = {"helpful": 3, "harmless": 2, "humor": 3}  # the toy world's MOSLIM_LEVELS


@pytest.fixture(scope="session")
def tiny_moslim_classifier_dir(tmp_path_factory) -> Path:
    """An untrained tiny MOSLIM multi-head classifier (the toy world's heads) saved like a trained one, its
    tokenizer trained on toy-world prompts."""
    from pro_rl.config import ModelConfig
    from pro_rl.data.toy_world import shipped_dir
    from pro_rl.models.multi_head import build_multi_head_classifier

    directory = tmp_path_factory.mktemp("moslim_classifier")
    texts = [json.loads(line)["prompt"] for line in (shipped_dir() / "prompts.jsonl").read_text().splitlines()[:200]]
    model, tokenizer = build_multi_head_classifier(ModelConfig(model="tiny:gpt2"), MOSLIM_HEADS, texts)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_rl_overrides(output_dir, *extra: str, steps: int = 2, helpful: str = "tiny:gpt2") -> List[str]:
    """Overrides of ``configs/tiny/pro_morlhf.yaml`` for a run with no trained artefacts.

    Random tiny policy; ``helpful`` is scored by ``helpful`` (default: an untrained tiny reward model, whose scores
    differ between responses, so the policy gets a gradient even from noise), harmless and humor by the toy world's
    ground-truth functions; uniform weights; 2 prompts × 2 samples × 8 tokens per step; no held-out evaluation.
    ``extra`` overrides come last and win.
    """
    return [
        "policy.model=tiny:gpt2",
        f"reward_models.0.model={helpful}",
        "reward_models.1.model=pro_rl.data.toy_world:harmless_reward",
        "reward_models.2.model=pro_rl.data.toy_world:humor_reward",
        "weights.mode=uniform",
        f"run.output_dir={output_dir}",
        "run.progress=false",
        "run.checkpoint_every=0",
        "data.eval_prompts=''",
        "orchestrator.path=''",
        f"algorithm.steps={steps}",
        "algorithm.prompt_batch_size=2",
        "rollout.num_samples=2",
        "rollout.max_new_tokens=8",
        *extra,
    ]


@pytest.fixture
def rl_overrides() -> Callable[..., List[str]]:
    """``tiny_rl_overrides`` for tests (conftest modules are not importable under ``--import-mode=importlib``)."""
    return tiny_rl_overrides


def write_marker(path) -> None:
    Path(path).write_text("pwned")


class WritesMarker:
    """Unpickling this calls ``write_marker``: what a crafted checkpoint file would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (write_marker, (self.marker,))


@pytest.fixture
def plant_malicious_pickle(tmp_path):
    """``plant(path, key)`` saves ``{key: <object whose unpickling writes a marker file>}`` at ``path`` (torch.save)
    and returns the marker's path, which must never come to exist."""
    import torch

    def plant(path: Path, key: str) -> Path:
        marker = tmp_path / "marker"
        torch.save({key: WritesMarker(marker)}, path)
        return marker

    return plant
