"""MOSLIM (multi-objective, single reward model, intensity-conditioned): the multi-head classification loss and
the reward mapping.

Multi-head reward model (MOSLIM §2.2, eqs. 6–8). One sequence classifier whose Σ_k n_k logits are split into K
consecutive slices, one per objective ("head") in the head layout's order; head k's softmax S_k = softmax(z_k)
(eq. 7) is a distribution over that objective's n_k intensity classes. Each head is trained with cross-entropy
against its one-hot intensity label (eqs. 6, 8). A row may carry no label for a head (UltraFeedback rows have no
harmlessness score, UltraSafety rows no helpfulness score): such entries are masked out. The paper gives no
aggregate of the K head losses; here the total is the mean of the per-head losses over the heads that have at least
one label in the batch, each head loss being its mean over its labelled rows (so K and the label sparsity do not
scale the loss).

Labels are class *indices* 0..n_k−1 (intensity class n ↔ index n−1); −1 means "no label".
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

NO_LABEL = -1


def head_slices(heads: Mapping[str, int]) -> Dict[str, slice]:
    """The logit columns of each head: {objective: slice(start, start + n_k)} in layout order."""
    slices, start = {}, 0
    for objective, levels in heads.items():
        if int(levels) < 1:
            raise ValueError(f"head '{objective}' needs at least one intensity class, got {levels}")
        slices[objective] = slice(start, start + int(levels))
        start += int(levels)
    return slices


def split_head_logits(logits: Tensor, heads: Mapping[str, int]) -> Dict[str, Tensor]:
    """Split (B, Σ n_k) logits into {objective: (B, n_k)} slices, checking the width matches the layout."""
    total = sum(int(levels) for levels in heads.values())
    if logits.dim() != 2 or logits.shape[1] != total:
        raise ValueError(f"logits {tuple(logits.shape)} do not match the head layout {dict(heads)} (Σ n_k = {total})")
    return {objective: logits[:, columns] for objective, columns in head_slices(heads).items()}


def head_probabilities_from_logits(logits: Tensor, heads: Mapping[str, int]) -> Dict[str, Tensor]:
    """S_k = softmax(z_k) per head (MOSLIM eq. 7): {objective: (B, n_k)}, each row summing to 1."""
    return {objective: torch.softmax(head.float(), dim=-1) for objective, head in split_head_logits(logits, heads).items()}


def multi_head_loss(logits: Tensor, labels: Tensor, heads: Mapping[str, int]) -> Tuple[Tensor, Dict[str, Tensor]]:
    """Masked per-head cross-entropy (MOSLIM eq. 6) and its aggregate (see the module docstring).

    Args:
        logits: (B, Σ n_k) classifier outputs, heads in ``heads`` order.
        labels: (B, K) long class indices 0..n_k−1, ``NO_LABEL`` (−1) where a row has no label for a head.
        heads: ordered {objective: n_k}.

    Returns:
        (loss, per_head_losses): the scalar mean of the per-head losses over heads with ≥ 1 label, and
        {objective: scalar} for those heads only (a head without labels in the batch is absent).
        A batch without any label raises ``ValueError`` (there is nothing to learn from).
    """
    if labels.dim() != 2 or labels.shape != (logits.shape[0], len(heads)):
        raise ValueError(f"labels {tuple(labels.shape)} must be (B, K) = ({logits.shape[0]}, {len(heads)})")
    per_head: Dict[str, Tensor] = {}
    for column, (objective, head_logits) in enumerate(split_head_logits(logits, heads).items()):
        head_labels = labels[:, column]
        labelled = head_labels != NO_LABEL
        if bool((head_labels[labelled] >= head_logits.shape[1]).any() or (head_labels < NO_LABEL).any()):
            raise ValueError(f"labels of head '{objective}' must lie in 0..{head_logits.shape[1] - 1} or be {NO_LABEL}")
        if labelled.any():
            per_head[objective] = F.cross_entropy(head_logits[labelled].float(), head_labels[labelled])
    if not per_head:
        raise ValueError("no row of the batch carries a label for any head")
    return torch.stack(list(per_head.values())).mean(), per_head


def multi_head_predictions(logits: Tensor, heads: Mapping[str, int]) -> Tensor:
    """(B, K) long: the argmax class index of each head."""
    return torch.stack([head.argmax(dim=-1) for head in split_head_logits(logits, heads).values()], dim=1)


def intensity_accuracy(predictions: Tensor, labels: Tensor, heads: Mapping[str, int]) -> Dict[str, float]:
    """Per-head and per-intensity accuracy over the labelled entries (MOSLIM Table 1, Fig. 4).

    Args:
        predictions: (N, K) predicted class indices; labels: (N, K) class indices, −1 = no label.

    Returns:
        ``{"<objective>": accuracy over its labelled rows, "<objective>/<n>": accuracy over the rows whose true class
        is n (1-based), i.e. that class's recall}``; a head or class without labelled rows is absent.
    """
    if predictions.shape != labels.shape or labels.dim() != 2 or labels.shape[1] != len(heads):
        raise ValueError(f"predictions {tuple(predictions.shape)} and labels {tuple(labels.shape)} must both be "
                         f"(N, {len(heads)})")
    accuracy: Dict[str, float] = {}
    for column, (objective, levels) in enumerate(heads.items()):
        truth, predicted = labels[:, column], predictions[:, column]
        labelled = truth != NO_LABEL
        if not labelled.any():
            continue
        accuracy[objective] = (predicted[labelled] == truth[labelled]).double().mean().item()
        for index in range(int(levels)):
            rows = truth == index
            if rows.any():
                accuracy[f"{objective}/{index + 1}"] = (predicted[rows] == index).double().mean().item()
    return accuracy


# ---------------------------------------------------------------- reward mapping (MOSLIM §3.2, eq. 11)
#
# Eq. 11 turns the K heads' class probabilities into one scalar reward for a prompt's tags (targets):
#     r = (1/k) Σ_i mask_i (p_i[target_i] − μ_i[target_i]) / σ_i[target_i]
# where μ_i[c], σ_i[c] are running statistics of head i's probability of intensity class c, and mask_i is 1 when the
# prompt tags objective i. Here it is split into the two parts the RL loop already has:
#     R_i = (p_i[target_i] − μ_i[target_i]) / σ_i[target_i]   (0 where untagged; ``targeted_zscores``)
#     w_i = mask_i / Σ_j mask_j                                 (``tag_weights``)
# so that the loop's own scalarisation Σ_i w_i R_i is eq. 11 (``moslim_reward``). Reading of "k": the paper calls k
# "the total number of preference dimensions"; with masks, the average is taken over the tagged objectives
# (k = Σ mask), so a prompt with one tag gets a reward on the same scale as a prompt with three.
# Statistics (``RunningIntensityStats``): every scored response updates every class of every head (p_i[c] is
# defined whatever the tags), count-based (Chan et al.'s parallel merge, via ``RunningNormaliser``) or with an
# exponential momentum; σ = running std + ε, and 1 + ε until a head has seen two responses.
# Targets are intensity classes 1..n_i, 0 = untagged.

UNTAGGED = 0


def _check_targets(targets: Tensor, probabilities: Mapping[str, Tensor]) -> None:
    rows = next(iter(probabilities.values())).shape[0] if probabilities else 0
    if targets.dim() != 2 or targets.shape != (rows, len(probabilities)):
        raise ValueError(f"targets {tuple(targets.shape)} must be (N, K) = ({rows}, {len(probabilities)})")
    for column, (objective, head) in enumerate(probabilities.items()):
        if bool(((targets[:, column] < UNTAGGED) | (targets[:, column] > head.shape[1])).any()):
            raise ValueError(f"targets of head '{objective}' must lie in 1..{head.shape[1]} or be {UNTAGGED} (untagged)")


def targeted_zscores(probabilities: Mapping[str, Tensor], targets: Tensor, means: Mapping[str, Tensor],
                     stds: Mapping[str, Tensor]) -> Tensor:
    """R_i = (p_i[target_i] − μ_i[target_i]) / σ_i[target_i] per response and head; 0 where the head is untagged.

    Args:
        probabilities: {objective: (N, n_i)} head probabilities, heads in objective order.
        targets: (N, K) long, the targeted intensity class 1..n_i of each head, 0 = untagged.
        means, stds: {objective: (n_i,)} running mean and std (σ > 0) of each class probability.

    Returns:
        (N, K) float32 reward matrix.
    """
    _check_targets(targets, probabilities)
    columns = []
    for column, (objective, head) in enumerate(probabilities.items()):
        target = targets[:, column]
        index = (target - 1).clamp(min=0)
        chosen = head.double().gather(1, index[:, None]).squeeze(1)
        mean, std = means[objective].double()[index], stds[objective].double()[index]
        columns.append(torch.where(target > UNTAGGED, (chosen - mean) / std, torch.zeros_like(chosen)))
    return torch.stack(columns, dim=1).float()


def tag_weights(targets: Tensor) -> Tensor:
    """w_i = mask_i / Σ_j mask_j (eq. 11's average over the tagged heads): (N, K) targets → (N, K) float32 weights;
    a row without tags gets zeros."""
    mask = (targets > UNTAGGED).float()
    return mask / mask.sum(dim=1, keepdim=True).clamp(min=1.0)


def moslim_reward(probabilities: Mapping[str, Tensor], targets: Tensor, means: Mapping[str, Tensor],
                  stds: Mapping[str, Tensor]) -> Tensor:
    """MOSLIM eq. 11, r = (1/Σ mask) Σ_i mask_i (p_i[target_i] − μ_i[target_i]) / σ_i[target_i]: (N,) float32.

    Arguments as ``targeted_zscores``; equal to ``scalarise(targeted_zscores(...), tag_weights(targets))``.
    """
    from pro_rl.algorithms.scalarisation import scalarise

    return scalarise(targeted_zscores(probabilities, targets, means, stds), tag_weights(targets))


class _MomentumMoments:
    """Exponential moving mean/variance of C columns: the first batch sets them, later ones blend in with
    ``momentum`` (new = momentum · old + (1 − momentum) · batch)."""

    def __init__(self, columns: int, momentum: float):
        self.momentum, self.count = momentum, 0
        self.mean = torch.zeros(columns, dtype=torch.float64)
        self.var = torch.zeros(columns, dtype=torch.float64)

    def update(self, values: Tensor) -> None:
        batch = values.detach().to(device="cpu", dtype=torch.float64)
        mean, var = batch.mean(dim=0), batch.var(dim=0, unbiased=False)
        keep = self.momentum if self.count else 0.0
        self.mean, self.var = keep * self.mean + (1 - keep) * mean, keep * self.var + (1 - keep) * var
        self.count += batch.shape[0]

    @property
    def std(self) -> Tensor:
        return self.var.sqrt() if self.count >= 2 else torch.ones_like(self.mean)

    def state_dict(self) -> dict:
        return {"count": self.count, "mean": self.mean.tolist(), "var": self.var.tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        self.mean = torch.tensor(state["mean"], dtype=torch.float64)
        self.var = torch.tensor(state["var"], dtype=torch.float64)


class RunningIntensityStats:
    """Running mean and std of each head's probability of each intensity class (the μ, σ of MOSLIM eq. 11).

    Args:
        heads: ordered {objective: n_i}.
        epsilon: added to the std (σ = std + ε).
        momentum: 0 for the count-based mean/variance over every response seen; in (0, 1) for an exponential
            moving average with that momentum.
    """

    def __init__(self, heads: Mapping[str, int], epsilon: float = 1e-6, momentum: float = 0.0):
        from pro_rl.algorithms.normalisation import RunningNormaliser

        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        self.heads, self.epsilon, self.momentum = {k: int(n) for k, n in heads.items()}, float(epsilon), float(momentum)
        self._moments = {objective: RunningNormaliser(n) if momentum == 0.0 else _MomentumMoments(n, momentum)
                         for objective, n in self.heads.items()}

    def update(self, probabilities: Mapping[str, Tensor]) -> None:
        """Merge a batch {objective: (N, n_i)}; rows with a non-finite probability in a head are left out of it."""
        for objective, moments in self._moments.items():
            head = probabilities[objective]
            if head.dim() != 2 or head.shape[1] != self.heads[objective]:
                raise ValueError(f"head '{objective}' probabilities {tuple(head.shape)} must be (N, {self.heads[objective]})")
            finite = head[torch.isfinite(head).all(dim=1)]
            if finite.shape[0]:
                moments.update(finite)

    def means(self) -> Dict[str, Tensor]:
        """{objective: (n_i,) float64} running means (zeros before any update)."""
        return {objective: moments.mean.clone() for objective, moments in self._moments.items()}

    def stds(self) -> Dict[str, Tensor]:
        """{objective: (n_i,) float64} σ = running std + ε (1 + ε before a head has seen two responses)."""
        return {objective: moments.std + self.epsilon for objective, moments in self._moments.items()}

    def state_dict(self) -> dict:
        """JSON-serialisable state (plain numbers and lists), the head layout included."""
        return {"heads": dict(self.heads), "epsilon": self.epsilon, "momentum": self.momentum,
                "moments": {objective: moments.state_dict() for objective, moments in self._moments.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned; a different head layout or momentum is a ``ValueError``."""
        if dict(state["heads"]) != self.heads or float(state["momentum"]) != self.momentum:
            raise ValueError(f"saved intensity statistics are for heads {state['heads']} with momentum "
                             f"{state['momentum']}, not {self.heads} with momentum {self.momentum}")
        self.epsilon = float(state["epsilon"])
        for objective, moments in self._moments.items():
            moments.load_state_dict(state["moments"][objective])
