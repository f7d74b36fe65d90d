"""Rollout engines: n sampled responses per prompt behind one interface (transformers ``generate`` or vLLM)."""

from pro_rl.rollout.base import RolloutEngine, RolloutPlacement, Rollouts, SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.rollout.vllm_engine import VLLMRolloutEngine

__all__ = ["HFRolloutEngine", "RolloutEngine", "RolloutPlacement", "Rollouts", "SamplingSettings",
           "VLLMRolloutEngine"]
