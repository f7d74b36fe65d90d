"""Config sections of SGA (``sga:``) and MOSLIM (``moslim:``); ``schema.py`` puts them into ``ProRLConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

from pro_rl.config.fields import AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, PROBABILITY, Range, _field, _section
from pro_rl.config.sections import ModelConfig, TrainingConfig

SGA_SCORE_SOURCES = ("auto", "helpsteer2", "ultrafeedback", "scores", "reward_models", "toy_world")


@dataclass
class MoslimConfig(ModelConfig):
    """MOSLIM: one multi-head intensity classifier as the reward model, tag-conditioned prompts (MOSLIM §2.2-3.2)."""

    model: str = _field("", "Backbone of the multi-head classifier the moslim_reward_model pipeline trains (sequence classifier with Σ levels labels).")
    levels: Dict[str, int] = _field({}, "Objective -> number of intensity classes n_k, in objective order (empty: the toy world's MOSLIM_LEVELS).")
    data: str = _field("", "Classifier training rows {prompt, response, labels: {objective: class 1..n_k or null}}, or pairs with 'scores' mapped by data_type (empty: generated from the toy world).")
    data_adapter: str = _field("auto", "Dataset adapter of data when it holds pairs with scores: auto, canonical, ultrafeedback, ...")
    data_type: int = _field(1, "Appendix B DataType 1-4: how raw scores map to intensity classes.", Range(1, 4))
    reward_model: str = _field("", "Directory of a trained multi-head classifier (RL pipeline 'moslim').")
    min_tags: int = _field(1, "Fewest objectives tagged in an RL prompt (MOSLIM §3.2).", AT_LEAST_ONE)
    max_tags: int = _field(3, "Most objectives tagged in an RL prompt (MOSLIM §3.2).", AT_LEAST_ONE)
    on_bad_tag: str = _field("error", "Bad tag in prompt data: 'error' names the row; 'skip' drops it, counted in the metrics.")
    stats_eps: float = _field(1e-6, "ε added to the running standard deviation of eq. 11.", POSITIVE)
    stats_momentum: float = _field(0.0, "Momentum of the running mean/std per head and intensity (0: count-based mean over all batches).", FRACTION)
    batch_size: int = _field(16, "Sequences per scoring forward pass of the classifier.", AT_LEAST_ONE)
    training: TrainingConfig = _section(lambda: TrainingConfig(learning_rate=1e-5, batch_size=32), "How the multi-head classifier is trained.")
    toy_rows: int = _field(3000, "Classifier rows generated from the toy world when data is empty.", AT_LEAST_ONE)
    score_scales: Dict[str, List[float]] = _field({}, "Objective -> [low, high] of its raw score for data_type mapping (empty: 1-5, or 0-1 for harmless/harmlessness/safety).")


@dataclass
class SgaConfig:
    """SGA (Self-Guided Alignment): a dual-head policy (LM + score head) trained with eq. 7 (sga_sft) or eq. 9 (sga_dpo)."""

    lam: float = _field(1000.0, "λ, the weight of the score head's MSE (eqs. 7 and 9; paper: 1000; the released code's DPO variant: 0.9).", POSITIVE)
    dpo_weight: float = _field(1.0, "Weight of the DPO loss in sga_dpo (paper eq. 9: 1; the released code: 0.1 with lam 0.9).", POSITIVE)
    dpo_beta: float = _field(0.1, "β of the score-conditioned DPO loss (SGA Table 6).", POSITIVE)
    head_hidden_size: int = _field(1024, "Hidden width of the score head's MLP.", AT_LEAST_ONE)
    head_layers: int = _field(3, "Linear layers of the score head's MLP (SGA Table 6: 3).", AT_LEAST_ONE)
    score_source: str = _field("auto", "Score targets of the chosen responses: auto (by data adapter), helpsteer2 (s/4), ultrafeedback ((s-1)/4), scores (canonical, in [0, 1]), reward_models (sigmoid of z-scored reward_models scores), toy_world (ground truth).")
    snap_grid: int = _field(0, "Inference: snap predicted scores to multiples of 1/snap_grid (4 = HelpSteer2's annotation grid; 0: off).", NON_NEGATIVE)
    temperature: float = _field(0.6, "Inference sampling temperature of an SGA policy (SGA Table 6: 0.6).", NON_NEGATIVE)
    top_p: float = _field(0.9, "Inference nucleus top-p of an SGA policy (SGA Table 6: 0.9).", PROBABILITY)
    training: TrainingConfig = _section(lambda: TrainingConfig(learning_rate=1e-5, batch_size=16, epochs=2.0, max_length=1024, eval_fraction=0.05), "How the SGA policy is trained (SGA Table 6: lr 1e-5, 2 epochs, max length 1024; LoRA via policy.lora_*).")
