"""Stage directories of a MORA run, and the records that let a resumed run skip finished stages.

Every stage of ``pro_rl.training.mora`` (warm-up, presample, detect, rewrite, selfplay-<seed>, pairs-<seed>,
dpo-<arm>-<seed>, eval-<arm>-<seed>, ...) works in ``<run>/stages/<name>/``: it writes its data there (JSONL rows,
a ``final/policy``) and, once done, ``stage.json`` with the values it reports. Under ``run.resume: auto`` a stage
whose ``stage.json`` exists is not run again: its values come from the record and its data from its files. A stage
killed midway has no record and runs again (a DPO stage continues from its last checkpoint). A record also holds the
digest of the settings the stage ran with (``run_dir.settings_digest``: the whole config but where the run lives, how it
resumes and how many seeds it has), and a stage is reused only under the same settings: change a setting (the DPO
mode, ``mora.with_original``, a threshold) and a resumed run computes every stage again. A SIGINT/SIGTERM stops
the run at the next stage boundary (a DPO stage: at its next step, with a checkpoint), resumable with ``run.resume:
auto`` (``pro_rl.training.interrupts``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Dict, List

from pro_rl.data.canonical import read_jsonl
from pro_rl.training import interrupts
from pro_rl.training.wic_stages import STAGE_RECORD

logger = logging.getLogger("pro_rl.training")


class MoraStages:
    """The stages of one MORA run under ``<output_dir>/stages``; ``resume``: reuse the finished ones."""

    def __init__(self, output_dir: Path, resume: bool, digest: str = ""):
        self.root = output_dir / "stages"
        self.resume = resume
        self.digest = digest  # ``settings_digest`` of the run's config
        self.reused: List[str] = []  # names of the stages taken from an earlier run's records
        self.ran: List[str] = []  # names of the stages this run computed

    def directory(self, name: str) -> Path:
        return self.root / name

    def finished(self, name: str) -> bool:
        """True when resuming and stage ``name`` left its record, made under the same settings."""
        record = self.directory(name) / STAGE_RECORD
        return self.resume and record.is_file() and json.loads(record.read_text()).get("digest", "") == self.digest

    def run(self, name: str, compute: Callable[[Path], Dict[str, object]]) -> Dict[str, object]:
        """The values of stage ``name``: from its record when it finished earlier (resume), else
        ``compute(stage_dir)``, which writes the stage's files and returns its (JSON-serialisable) values; the
        record is written only after ``compute`` returns."""
        stage_dir = self.directory(name)
        if self.finished(name):
            logger.info("mora: stage %s finished earlier, reused", name)
            self.reused.append(name)
            return json.loads((stage_dir / STAGE_RECORD).read_text())["values"]
        interrupts.raise_if_requested()  # Ctrl-C / SIGTERM during a stage stop the run before the next one
        stage_dir.mkdir(parents=True, exist_ok=True)
        (stage_dir / STAGE_RECORD).unlink(missing_ok=True)
        logger.info("mora: stage %s", name)
        values = compute(stage_dir)
        (stage_dir / STAGE_RECORD).write_text(json.dumps({"values": values, "digest": self.digest}, indent=2) + "\n")
        self.ran.append(name)
        return values

    def rows(self, name: str, filename: str) -> List[dict]:
        """The JSONL rows stage ``name`` wrote into ``filename``."""
        return read_jsonl(self.directory(name) / filename)

    def policy(self, name: str) -> str:
        """The policy directory stage ``name`` saved."""
        return str(self.directory(name) / "final" / "policy")
