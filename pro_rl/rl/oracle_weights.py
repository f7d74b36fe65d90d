"""``weights.mode: oracle``: the true weights w*(x) of each prompt, from a world that knows them.

``weights.function`` names a ``module:function`` that takes a list of rendered prompts and returns one
``{objective: weight}`` dict per prompt (the toy world's: ``pro_rl.data.toy_world_oracle:true_prompt_weights``).
The RL loop then scalarises with w* itself: the ceiling a router could reach. Ray-free; the driver calls it.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from pro_rl.models.builders import load_function


def oracle_weights(function_spec: str, prompts: Sequence[str], objectives: Sequence[str]) -> torch.Tensor:
    """(B, K) float64 weights of ``prompts`` from ``function_spec``, columns in ``objectives`` order.

    Raises a one-line ``ValueError`` when the function returns another number of rows, other objective names, or a
    row off the simplex.
    """
    rows = list(load_function(function_spec)(list(prompts)))
    if len(rows) != len(prompts):
        raise ValueError(f"weights.function '{function_spec}' returned {len(rows)} weight rows for {len(prompts)} prompts")
    matrix = []
    for index, row in enumerate(rows):
        if set(row) != set(objectives):
            raise ValueError(f"weights.function '{function_spec}': row {index} names {sorted(row)}, "
                             f"expected the objectives {sorted(objectives)}")
        values = [float(row[name]) for name in objectives]
        if not all(math.isfinite(v) and v >= 0 for v in values) or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
            raise ValueError(f"weights.function '{function_spec}': row {index} {values} is not on the simplex")
        matrix.append(values)
    return torch.tensor(matrix, dtype=torch.float64).reshape(len(prompts), len(objectives))
