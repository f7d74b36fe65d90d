"""The preference-weight grids of test-time evaluation (RiC / PRO Figure 2).

- K = 2: w1 = 0, 0.1, ..., 1 and w2 = 1 − w1 (11 points, RiC's grid).
- K = 3: a fixed 13-point set — the 3 corners (1, 0, 0), the 3 edge midpoints (0.5, 0.5, 0), the centre
  (1/3, 1/3, 1/3), the 3 points leaning to one objective (0.6, 0.2, 0.2) and the 3 points leaning away from one
  objective (0.2, 0.4, 0.4). RiC's own 13-point set is not written down in its paper; this one covers the corners,
  the edges and the interior symmetrically.
- Other K: the K corners, the K(K−1)/2 edge midpoints and the centre.

Every point lies on the simplex (entries >= 0, summing to 1 up to float rounding).
"""

from __future__ import annotations

from itertools import combinations, permutations
from typing import List, Tuple

WeightPoint = Tuple[float, ...]


def _unique_permutations(values: Tuple[float, ...]) -> List[WeightPoint]:
    seen: List[WeightPoint] = []
    for point in permutations(values):
        if point not in seen:
            seen.append(point)
    return sorted(seen, reverse=True)


def weight_grid(num_objectives: int) -> List[WeightPoint]:
    """The evaluation grid for K objectives (see the module docstring)."""
    if num_objectives < 1:
        raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
    if num_objectives == 1:
        return [(1.0,)]
    if num_objectives == 2:
        return [(round(i / 10, 1), round(1 - i / 10, 1)) for i in range(11)]
    corners = [tuple(1.0 if k == j else 0.0 for k in range(num_objectives)) for j in range(num_objectives)]
    midpoints = [tuple(0.5 if k in pair else 0.0 for k in range(num_objectives))
                 for pair in combinations(range(num_objectives), 2)]
    centre = [tuple(1.0 / num_objectives for _ in range(num_objectives))]
    if num_objectives == 3:
        return corners + midpoints + centre + _unique_permutations((0.6, 0.2, 0.2)) + _unique_permutations((0.2, 0.4, 0.4))
    return corners + midpoints + centre


def equal_weights(num_objectives: int) -> WeightPoint:
    """The equal-weight point (1/K, ..., 1/K) of the equal-weight table."""
    return tuple(1.0 / num_objectives for _ in range(num_objectives))
