import itertools

import numpy as np
import pytest
import torch

from pro_rl.algorithms.pareto import hypervolume, pareto_mask


def test_pareto_mask_maximise_keeps_duplicates():
    points = [[1, 5], [2, 4], [3, 3], [2, 2], [1, 5], [0, 6]]
    # (2, 2) is dominated by (2, 4) and (3, 3); the two copies of (1, 5) do not dominate each other
    assert pareto_mask(points).tolist() == [True, True, True, False, True, True]


def test_pareto_mask_minimise_and_tensor_input():
    points = torch.tensor([[1.0, 1.0], [2.0, 2.0], [0.0, 3.0]])
    # minimising: (2, 2) is dominated by (1, 1)
    mask = pareto_mask(points, maximise=False)
    assert mask.dtype == bool
    assert mask.tolist() == [True, False, True]


def test_hypervolume_2d_staircase():
    points = [[1, 3], [2, 2], [3, 1]]
    # slices along x: [2, 3] height 1, [1, 2] height 2, [0, 1] height 3 -> 1 + 2 + 3 = 6
    assert hypervolume(points, [0, 0]) == pytest.approx(6.0)
    # reference (0.5, 0.5): [2, 3] * 0.5 + [1, 2] * 1.5 + [0.5, 1] * 2.5 = 0.5 + 1.5 + 1.25 = 3.25
    assert hypervolume(points, [0.5, 0.5]) == pytest.approx(3.25)


def test_hypervolume_ignores_dominated_and_non_improving_points():
    # (1, 1) is dominated; (0, 5) ties the reference in x; (-1, 10) is below it -> still 6
    points = [[1, 3], [2, 2], [3, 1], [1, 1], [0, 5], [-1, 10]]
    assert hypervolume(points, [0, 0]) == pytest.approx(6.0)
    assert hypervolume([[-1.0, -1.0]], [0.0, 0.0]) == 0.0


def test_hypervolume_3d_by_inclusion_exclusion():
    points = [[3, 2, 1], [1, 3, 2], [2, 1, 3]]
    # boxes 6 + 6 + 6; pairwise intersections (1,2,1), (2,1,1), (1,1,2) = 2 each; triple (1,1,1) = 1
    # 18 - 6 + 1 = 13
    assert hypervolume(points, [0, 0, 0]) == pytest.approx(13.0)


def test_hypervolume_4d():
    # (1,1,1,2) and (2,1,1,1): 2 + 2 - 1 = 3
    assert hypervolume(np.array([[1, 1, 1, 2], [2, 1, 1, 1]]), np.zeros(4)) == pytest.approx(3.0)


def _inclusion_exclusion(points, reference):
    total = 0.0
    for size in range(1, len(points) + 1):
        for subset in itertools.combinations(points, size):
            corner = np.min(subset, axis=0)
            total += (-1) ** (size + 1) * np.prod(np.clip(corner - reference, 0, None))
    return total


@pytest.mark.parametrize("num_objectives", [3, 4])
def test_hypervolume_matches_inclusion_exclusion_on_random_points(num_objectives):
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 1, size=(6, num_objectives))
    reference = np.full(num_objectives, 0.1)
    assert hypervolume(points, reference) == pytest.approx(_inclusion_exclusion(points, reference), rel=1e-9)


def test_hypervolume_reference_shape_checked():
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [0, 0, 0])
