"""KL estimators between the policy and the reference model, and the KL-coefficient controllers.

Per-token estimators of KL(pi || pi_ref) from samples of pi (Schulman, "Approximating KL divergence"):

- k1 = log pi - log pi_ref                                   (unbiased, can be negative)
- k2 = 1/2 (log pi - log pi_ref)^2                           (biased, low variance)
- k3 = exp(log pi_ref - log pi) - (log pi_ref - log pi) - 1  (unbiased, non-negative)

The penalty beta * KL enters the per-token reward of PPO (PRO eq. 9 with the usual RLHF KL term). ``beta`` is held by
a fixed controller or by the adaptive proportional controller of Ziegler et al. (2019), which RiC's MORLHF uses
(init 0.2, target 3).
"""

from __future__ import annotations

import torch
from torch import Tensor

KL_ESTIMATORS = ("k1", "k2", "k3")


def kl_penalty(logprobs: Tensor, ref_logprobs: Tensor, estimator: str = "k1") -> Tensor:
    """Per-token KL estimate between policy and reference.

    Args:
        logprobs: (B, T) log pi(y_t | x, y_<t) of the sampled tokens under the policy.
        ref_logprobs: (B, T) the same under the reference model.
        estimator: "k1", "k2" or "k3" (see the module docstring).

    Returns:
        (B, T) per-token estimate; padded positions are not masked here.
    """
    if logprobs.shape != ref_logprobs.shape:
        raise ValueError(
            f"logprobs {tuple(logprobs.shape)} and ref_logprobs {tuple(ref_logprobs.shape)} must have the same shape"
        )
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio**2
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"unknown KL estimator {estimator!r}; expected one of {KL_ESTIMATORS}")


class FixedKLController:
    """A constant KL coefficient; ``update`` does nothing."""

    def __init__(self, kl_coef: float):
        self.value = float(kl_coef)

    def update(self, current_kl: float, n_steps: int) -> None:
        """Keep the coefficient unchanged (same signature as ``AdaptiveKLController.update``)."""

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = float(state["value"])


class AdaptiveKLController:
    """Proportional KL controller of Ziegler et al. (2019).

    After each batch: ``error = clip(current_kl / target - 1, -0.2, 0.2)`` and
    ``value *= 1 + error * n_steps / horizon``, which drives the measured KL toward ``target``.

    Args:
        init_kl_coef: starting coefficient beta.
        target: the KL (in nats per sequence, as measured by the caller) to aim for.
        horizon: number of steps over which a 20% error changes beta by a factor of about e^0.2.
    """

    def __init__(self, init_kl_coef: float = 0.2, target: float = 3.0, horizon: int = 10000):
        if target <= 0:
            raise ValueError(f"target KL must be > 0, got {target}")
        if horizon <= 0:
            raise ValueError(f"horizon must be > 0, got {horizon}")
        self.value = float(init_kl_coef)
        self.target = float(target)
        self.horizon = int(horizon)

    def update(self, current_kl: float, n_steps: int) -> None:
        """Adjust the coefficient after ``n_steps`` samples with mean KL ``current_kl``."""
        error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_steps / self.horizon

    def state_dict(self) -> dict:
        return {"value": self.value, "target": self.target, "horizon": self.horizon}

    def load_state_dict(self, state: dict) -> None:
        self.value = float(state["value"])
        self.target = float(state["target"])
        self.horizon = int(state["horizon"])
