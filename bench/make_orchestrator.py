"""Save an untrained orchestrator of xlm-roberta-base's shapes (K labels), for GPU runs without hub access.

    python -m bench.make_orchestrator [OUTPUT_DIR] [OBJECTIVE,OBJECTIVE,...]
"""

import argparse

from pro_rl.config.schema import ModelConfig
from pro_rl.models import build_orchestrator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.make_orchestrator", description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="runs/single_gpu_orchestrator")
    parser.add_argument("objectives", nargs="?", default="helpful,harmless,humor", help="comma-separated names")
    args = parser.parse_args()
    spec = ModelConfig(model="tiny:xlm-roberta", tiny_hidden_size=768, tiny_layers=12, tiny_heads=12)
    model, tokenizer = build_orchestrator(spec, args.objectives.split(","))
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    print(f"orchestrator ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters) saved to {args.output}")


if __name__ == "__main__":
    main()
