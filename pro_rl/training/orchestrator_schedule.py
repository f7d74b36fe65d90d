"""Model selection for orchestrator training: keep the weights with the lowest held-out KL.

The targets w* = softmax(r⁺/τ) (PRO eq. 7) come from learned reward models and carry their noise, and D_rm is small,
so a few passes over it can start to fit the noise of the training targets. With ``orchestrator.eval_every`` > 0
the loop evaluates every that many steps; ``HeldOutSelection`` wraps the evaluation, remembers the weights (an
in-memory copy) whenever the held-out ``eval/kl`` (KL(targets ‖ f(x)) on the held-out pairs, the quantity eq. 8
minimises) improves by more than ``orchestrator.select_min_delta``, and ``restore`` puts the best weights back after
the last step. It is early stopping without stopping: every step still runs (the loop's step count and its
resumable data order stay as they are), only the returned model is the best one seen. The selection sees only the
held-out pairs' targets, never the ground-truth w* of the evaluation prompts.

Simplification: the remembered weights live in memory, so a run resumed from a checkpoint selects only among the
evaluations after the resume.
"""

from __future__ import annotations

import logging
from typing import Callable, Dict, Optional

import torch

logger = logging.getLogger("pro_rl.training")
SELECTION_METRIC = "eval/kl"


class HeldOutSelection:
    """Tracks the held-out KL of each evaluation and the weights of the best one.

    ``module``: the model being trained (its ``state_dict`` is copied on improvement); ``min_delta``: how much lower
    than the best so far a KL must be to count as an improvement.
    """

    def __init__(self, module: torch.nn.Module, min_delta: float = 0.0):
        self.module = module
        self.min_delta = min_delta
        self.best_value: Optional[float] = None
        self.best_state: Optional[Dict[str, torch.Tensor]] = None
        self.evaluations = 0
        self.best_evaluation = 0

    def observe(self, values: Dict[str, float]) -> bool:
        """Record one evaluation's values; returns whether it is the new best (its weights are then copied)."""
        value = values.get(SELECTION_METRIC)
        if value is None:
            return False
        self.evaluations += 1
        if self.best_value is not None and value >= self.best_value - self.min_delta:
            return False
        self.best_value, self.best_evaluation = value, self.evaluations
        self.best_state = {name: tensor.detach().clone() for name, tensor in self.module.state_dict().items()}
        return True

    def tracking(self, evaluate: Callable[[], Dict[str, float]]) -> Callable[[], Dict[str, float]]:
        """``evaluate`` that also reports each result to ``observe``."""

        def evaluate_and_observe() -> Dict[str, float]:
            values = evaluate()
            self.observe(values)
            return values

        return evaluate_and_observe

    def restore(self, last: Dict[str, float], evaluate: Callable[[], Dict[str, float]]) -> Dict[str, float]:
        """After the last step (whose evaluation is ``last``): load the best weights when an earlier evaluation was
        better and return a fresh evaluation of them (with ``eval/selected_evaluation``, 1-based); else ``last``."""
        if self.best_state is None or self.best_evaluation == self.evaluations:
            return {**last, "eval/selected_evaluation": float(self.evaluations)}
        self.module.load_state_dict(self.best_state)
        logger.info("orchestrator: restored the weights of evaluation %d of %d (held-out KL %.4f, last %.4f)",
                    self.best_evaluation, self.evaluations, self.best_value, last.get(SELECTION_METRIC, float("nan")))
        values = evaluate()
        return {**values, "eval/selected_evaluation": float(self.best_evaluation)}
