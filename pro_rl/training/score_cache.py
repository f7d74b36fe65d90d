"""A disk cache of reward-model scores of the orchestrator's pairs, so a second orchestrator run does not re-score.

Scoring D_rm's preferred responses with K reward models is the slow part of an orchestrator run (minutes per
model on CPU), and it gives the same numbers whenever the same model reads the same texts the same way. The cache
key is a SHA-256 of:

- the reward model's weights: the content hash of every weights file in its directory (``*.safetensors``,
  ``*.bin``), memoised per process by (path, size, mtime);
- the texts: every prompt and response as given (already rendered in the run's ``data.prompt_format``);
- how they are read: the scoring length (``reward_model_record.scoring_length``), ``label_index``,
  ``response_only``, ``data.prompt_format`` and ``TEXT_LAYOUT`` (bumped when the prompt/response join changes).

Only reward models saved in a directory are cached; ``module:function`` rewards and ``tiny:`` specs are scored
every time. Entries live in ``run.score_cache_dir`` (default ``~/.cache/pro_rl/scores``; empty: no cache) as
``<key>.json`` with the scores and what they are of, written atomically; a hit or a miss is one INFO log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pro_rl.models.reward_model_record import scoring_length
from pro_rl.models.scoring import RewardScorer

logger = logging.getLogger("pro_rl.training")
TEXT_LAYOUT = 2  # version of how a prompt and a response become one text (2: join_prompt_response)
WEIGHT_SUFFIXES = (".safetensors", ".bin")
_FILE_HASHES: Dict[Tuple[str, int, int], str] = {}


def weights_digest(directory: Path) -> Optional[str]:
    """SHA-256 over the weights files of a model directory (None when it has none)."""
    files = sorted(path for path in Path(directory).iterdir() if path.suffix in WEIGHT_SUFFIXES and path.is_file())
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if memo not in _FILE_HASHES:
            with path.open("rb") as handle:
                _FILE_HASHES[memo] = hashlib.file_digest(handle, "sha256").hexdigest()
        digest.update(f"{path.name}:{_FILE_HASHES[memo]}\n".encode())
    return digest.hexdigest()


def texts_digest(prompts: Sequence[str], responses: Sequence[str]) -> str:
    """SHA-256 of the (prompt, response) pairs, each part length-prefixed so no two lists collide."""
    digest = hashlib.sha256()
    for prompt, response in zip(prompts, responses):
        for text in (prompt, response):
            data = text.encode()
            digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def cache_key(spec, source: str, prompts: Sequence[str], responses: Sequence[str],
              prompt_format: str) -> Optional[str]:
    """The key of ``spec``'s scores of the pairs (None when the model is not a directory with weights)."""
    if not source or not Path(source).is_dir():
        return None
    weights = weights_digest(Path(source))
    if weights is None:
        return None
    parts = {"weights": weights, "texts": texts_digest(prompts, responses), "count": len(prompts),
             "max_length": scoring_length(spec, source), "label_index": spec.label_index,
             "response_only": spec.response_only, "prompt_format": prompt_format, "layout": TEXT_LAYOUT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_directory(setting: str) -> Optional[Path]:
    """``run.score_cache_dir`` as a path (``~`` expanded), or None when caching is off (empty)."""
    return Path(setting).expanduser() if setting else None


def cached_scores(spec, prompts: Sequence[str], responses: Sequence[str], cache_dir: Optional[Path],
                  prompt_format: str, score: Callable[[], List[float]]) -> List[float]:
    """The scores of ``spec`` on the pairs: from the cache when present, else ``score()``, then stored."""
    key = cache_key(spec, spec.model, prompts, responses, prompt_format) if cache_dir else None
    if key is None:
        return score()
    path = cache_dir / f"{key}.json"
    if path.is_file():
        scores = json.loads(path.read_text())["scores"]
        logger.info("score cache hit: '%s' on %d pairs (%s)", spec.name, len(scores), path)
        return scores
    logger.info("score cache miss: scoring '%s' on %d pairs (storing %s)", spec.name, len(prompts), path)
    scores = score()
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"objective": spec.name, "model": str(spec.model), "count": len(scores),
                                     "scores": scores}))
    temporary.replace(path)
    return scores


def reward_scores(config, spec, prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
    """One objective's scores of the orchestrator's pairs, through the cache of ``run.score_cache_dir``."""
    prompt_format = getattr(config.data, "prompt_format", "auto")

    def score() -> List[float]:
        return RewardScorer(spec, device=config.run.device).score(prompts, responses)

    return cached_scores(spec, prompts, responses, cache_directory(config.run.score_cache_dir), prompt_format, score)
