"""SGA, DPO variant (SGA eq. 9): DPO on prompts conditioned on the chosen response's scores + λ·MSE of the score
head; the reference is the initial policy (``policy.model``, e.g. an ``sga_sft`` run's ``final/policy``, whose head
is trained further; a plain LM gets a fresh head). Writes ``final/policy/`` and ``report.md``.
"""

from __future__ import annotations

from pipelines import RunResult
from pipelines import sga_sft
from pro_rl.config import ProRLConfig


def run(config: ProRLConfig) -> RunResult:
    return sga_sft.run(config, variant="dpo")
