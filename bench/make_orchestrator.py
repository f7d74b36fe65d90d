"""Save an untrained orchestrator of xlm-roberta-base's shapes (K labels), for GPU runs without hub access."""

import sys

from pro_rl.config.schema import ModelConfig
from pro_rl.models import build_orchestrator

if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else "runs/single_gpu_orchestrator"
    objectives = sys.argv[2].split(",") if len(sys.argv) > 2 else ["helpful", "harmless", "humor"]
    spec = ModelConfig(model="tiny:xlm-roberta", tiny_hidden_size=768, tiny_layers=12, tiny_heads=12)
    model, tokenizer = build_orchestrator(spec, objectives)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    print(f"orchestrator ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters) saved to {output}")
