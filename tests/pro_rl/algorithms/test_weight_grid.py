import pytest

from pro_rl.algorithms.weight_grid import equal_weights, weight_grid


def _on_simplex(point):
    return all(w >= 0 for w in point) and sum(point) == pytest.approx(1.0)


def test_two_objective_grid_has_eleven_points_in_steps_of_a_tenth():
    grid = weight_grid(2)
    assert len(grid) == 11
    assert [w1 for w1, _ in grid] == pytest.approx([i / 10 for i in range(11)])
    assert all(_on_simplex(point) for point in grid)


def test_three_objective_grid_has_thirteen_distinct_points():
    grid = weight_grid(3)
    assert len(grid) == 13 and len(set(grid)) == 13
    assert all(_on_simplex(point) for point in grid)
    for point in [(1.0, 0.0, 0.0), (0.5, 0.0, 0.5), (0.6, 0.2, 0.2), (0.2, 0.2, 0.6), (0.4, 0.2, 0.4)]:
        assert point in grid
    assert equal_weights(3) in grid


def test_other_sizes():
    assert weight_grid(1) == [(1.0,)]
    assert len(weight_grid(4)) == 4 + 6 + 1
    with pytest.raises(ValueError):
        weight_grid(0)
