"""What a MORA run reads: the prompts it mines, the held-out prompts it evaluates on, the warm-up rows, and the
ground truth of detection when the world has one.

``mora.world: capped`` takes all of them from the capped toy world (``pro_rl.data.mora_world``, version recorded):
the world is written with ``mora.world_seed`` into a temporary directory and read before the run directory is
touched; ``write_world_copy`` writes the same files into ``<run>/world`` for the record. ``mora.world: data`` reads
``data.prompts``, ``data.eval_prompts`` and ``data.sft`` (rendered like every pipeline's prompts) and has no truth.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from pro_rl.config.schema import ProRLConfig
from pro_rl.data import mora_world
from pro_rl.data.canonical import data_limits, load_prompts, read_jsonl
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.training.sft import sft_rows


@dataclass
class MoraInputs:
    """The prompts (rendered), the warm-up rows, and what is known of the world."""

    prompts: List[str]  # the prompts pre-sampled and mined (``mora.presample_prompts`` of them)
    eval_prompts: List[str]  # the held-out prompts every trained policy is evaluated on
    warmup_rows: List[dict]  # {"prompt", "response"} rows of the SFT warm-up
    world: Dict[str, object]  # the capped world's record (version, seed, sizes), or {"name": "data"}
    single_truth: Optional[List[bool]] = None  # per prompt: truly single-reward (capped world only)
    eval_single_truth: Optional[List[bool]] = None  # the same for the held-out prompts
    phrases: Dict[str, str] = field(default_factory=dict)  # objective -> the phrase that names its intent


def first(rows: List, count: int) -> List:
    """The first ``count`` rows (all when ``count`` is 0)."""
    return rows[:count] if count else rows


def load_mora_inputs(config: ProRLConfig) -> MoraInputs:
    """Read (and for the capped world, generate) the inputs of a MORA run, checking that there are prompts."""
    mora = config.mora
    if mora.world == "capped":
        with tempfile.TemporaryDirectory(prefix="mora-world-") as directory:
            paths = mora_world.write_world(directory, seed=mora.world_seed)
            prompts = [row["prompt"] for row in read_jsonl(paths["prompts"])]
            eval_prompts = [row["prompt"] for row in read_jsonl(paths["eval_prompts"])]
            warmup = [{"prompt": prompt, "response": response} for prompt, response in sft_rows(str(paths["sft"]))]
            world = json.loads(Path(paths["world"]).read_text())
        prompts, eval_prompts = first(prompts, mora.presample_prompts), first(eval_prompts, mora.eval_prompts)
        return MoraInputs(prompts, eval_prompts, warmup, world,
                          [mora_world.truly_single_reward(prompt) for prompt in prompts],
                          [mora_world.truly_single_reward(prompt) for prompt in eval_prompts],
                          dict(mora_world.INTENT_PHRASES))
    limits = data_limits(config.data)
    prompts = render_prompts(config, load_prompts(config.data.prompts, **limits)["prompt"])
    eval_prompts = render_prompts(config, load_prompts(config.data.eval_prompts, **limits)["prompt"])
    warmup = [{"prompt": prompt, "response": response} for prompt, response in sft_rows(config.data.sft)] \
        if config.data.sft else []
    return MoraInputs(first(prompts, mora.presample_prompts), first(eval_prompts, mora.eval_prompts), warmup,
                      {"name": "data", "prompts": config.data.prompts}, phrases=dict(mora_world.INTENT_PHRASES))


def write_world_copy(config: ProRLConfig, output_dir: Path) -> Optional[Path]:
    """The capped world's files in ``<run>/world`` (same seed, same bytes as the ones read); None for 'data'."""
    if config.mora.world != "capped":
        return None
    return Path(mora_world.write_world(output_dir / "world", seed=config.mora.world_seed)["world"]).parent
