"""The hint spreading's direct solver against a dense solve of the same system."""

import numpy as np
import pytest

from autochrome.engine.grid_solver import GridSolver


def _dense(diagonal, horizontal, vertical):
    height, width = diagonal.shape
    index = np.arange(height * width).reshape(height, width)
    matrix = np.diag(diagonal.ravel()).astype(np.float64)
    for left, right, weight in zip(index[:, :-1].ravel(), index[:, 1:].ravel(), horizontal.ravel()):
        matrix[left, right] = matrix[right, left] = -weight
    for upper, lower, weight in zip(index[:-1].ravel(), index[1:].ravel(), vertical.ravel()):
        matrix[upper, lower] = matrix[lower, upper] = -weight
    return matrix


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (5, 9), (9, 5), (12, 12)])
def test_solves_the_grid_system_exactly(shape):
    rng = np.random.default_rng(sum(shape))
    height, width = shape
    horizontal, vertical = rng.random((height, width - 1)), rng.random((height - 1, width))
    diagonal = np.zeros(shape)
    diagonal[:, :-1] += horizontal
    diagonal[:, 1:] += horizontal
    diagonal[:-1] += vertical
    diagonal[1:] += vertical
    diagonal += 1e-6  # the spreading's fade: nearly singular, as on a real photo far from any hint
    diagonal.flat[rng.choice(diagonal.size, max(1, diagonal.size // 10), replace=False)] += 100.0  # hint cells
    rhs = rng.normal(size=(height * width, 3))
    expected = np.linalg.solve(_dense(diagonal, horizontal, vertical), rhs)
    solver = GridSolver(diagonal, horizontal, vertical)
    np.testing.assert_allclose(solver.solve(rhs), expected, rtol=1e-7, atol=1e-7 * np.abs(expected).max())
    np.testing.assert_allclose(solver.solve(rhs[:, 1]), expected[:, 1], rtol=1e-7, atol=1e-7 * np.abs(expected).max())
