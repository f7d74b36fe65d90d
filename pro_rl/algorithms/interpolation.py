"""Weight interpolation of Rewarded Soups (Ramé et al. 2023): θ(w) = Σ_k w_k θ_k.

K policies, each fine-tuned for one objective from the same initialisation, are averaged parameter-wise with the
user's weights w on the simplex. Floating tensors are combined in float64 and cast back to their dtype; non-floating
tensors (integer buffers such as position ids or masks) must be equal in all state dicts and are copied.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Sequence

import torch
from torch import Tensor


def interpolate_state_dicts(state_dicts: Sequence[Mapping[str, Tensor]], weights: Sequence[float]) -> Dict[str, Tensor]:
    """θ = Σ_k w_k θ_k over K state dicts with the same keys and shapes.

    Args:
        state_dicts: K state dicts (``module.state_dict()``).
        weights: K weights, each >= 0, summing to 1.

    Returns:
        A new state dict with the keys of the first one.
    """
    if len(state_dicts) == 0 or len(state_dicts) != len(weights):
        raise ValueError(f"need one weight per state dict, got {len(state_dicts)} state dicts and {len(weights)} weights")
    if any(w < 0 for w in weights) or not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        raise ValueError(f"weights {list(weights)} are not on the simplex (entries >= 0 summing to 1)")
    keys = list(state_dicts[0].keys())
    for index, state_dict in enumerate(state_dicts[1:], start=1):
        if set(state_dict.keys()) != set(keys):
            differing = sorted(set(state_dict.keys()) ^ set(keys))
            raise ValueError(f"state dict {index} has different keys than state dict 0: {differing[:5]}")
    merged: Dict[str, Tensor] = {}
    for key in keys:
        tensors: List[Tensor] = [state_dict[key] for state_dict in state_dicts]
        shapes = {tuple(tensor.shape) for tensor in tensors}
        if len(shapes) != 1:
            raise ValueError(f"'{key}' has different shapes across state dicts: {sorted(shapes)}")
        if not tensors[0].is_floating_point():
            if any(not torch.equal(tensor, tensors[0]) for tensor in tensors[1:]):
                raise ValueError(f"non-floating tensor '{key}' differs across state dicts and cannot be interpolated")
            merged[key] = tensors[0].clone()
            continue
        total = sum(float(w) * tensor.detach().to(torch.float64) for w, tensor in zip(weights, tensors))
        merged[key] = total.to(tensors[0].dtype)
    return merged
