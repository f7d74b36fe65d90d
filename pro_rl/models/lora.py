"""Optional LoRA adapters (through peft) for the supervised stages: the SFT warm-up and PRO-WIC/RiC's stages.

With ``policy.lora_rank > 0`` only the low-rank adapters train (PRO-WIC on a 7B policy then fits on far fewer GPUs);
the saved policy has the adapters merged into its weights, so evaluation, RL and vLLM load it like any other
checkpoint. peft is the ``[lora]`` extra; a run that does not ask for LoRA never imports it.
"""

from __future__ import annotations

import torch

from pro_rl.config.schema import PolicyConfig


def with_lora(model: torch.nn.Module, policy: PolicyConfig) -> torch.nn.Module:
    """``model`` wrapped with trainable LoRA adapters of ``policy.lora_*``; the base weights are frozen."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        raise ImportError("policy.lora_rank > 0 needs peft: pip install 'pro-rl[lora]'") from error
    settings = LoraConfig(r=policy.lora_rank, lora_alpha=policy.lora_alpha, lora_dropout=policy.lora_dropout,
                          target_modules=list(policy.lora_target_modules) or None, task_type="CAUSAL_LM")
    return get_peft_model(model, settings)


def is_lora(model: torch.nn.Module) -> bool:
    return hasattr(model, "merge_and_unload") and hasattr(model, "peft_config")


def merged(model: torch.nn.Module) -> torch.nn.Module:
    """The plain transformers model with the adapters folded into its weights (in place: ends training)."""
    return model.merge_and_unload() if is_lora(model) else model
