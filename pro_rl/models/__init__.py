"""Model builders (policy, reward model, orchestrator, critic; tiny versions built from configs) and scoring."""

from pro_rl.models.builders import (
    build_critic,
    build_orchestrator,
    build_policy,
    build_reward_model,
    is_function_spec,
    is_tiny,
    load_function,
    load_policy,
    disable_dropout,
    load_tokenizer,
)
from pro_rl.models.scoring import OrchestratorPredictor, RewardScorer, predict_weights, reward_model_scores
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.models.multi_head import build_multi_head_classifier, head_probabilities, load_multi_head_classifier
from pro_rl.models.sga import SGAPolicy, ScoreHead, is_sga_policy, load_sga_policy, save_sga_policy, sense_scores

__all__ = [
    "OrchestratorPredictor", "RewardScorer", "build_critic", "build_orchestrator", "build_policy", "build_reward_model",
    "is_function_spec", "is_tiny", "load_function", "load_policy", "disable_dropout", "load_tokenizer", "predict_weights", "reward_model_scores",
    "train_tiny_tokenizer",
    "build_multi_head_classifier", "head_probabilities", "load_multi_head_classifier",
    "SGAPolicy", "ScoreHead", "is_sga_policy", "load_sga_policy", "save_sga_policy", "sense_scores",
]
