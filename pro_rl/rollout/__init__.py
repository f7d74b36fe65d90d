"""Rollout engines: n sampled responses per prompt behind one interface (transformers ``generate`` or vLLM)."""

from pro_rl.rollout.base import RolloutEngine, Rollouts, SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine

__all__ = ["HFRolloutEngine", "RolloutEngine", "Rollouts", "SamplingSettings"]
