"""A direct solver for the hint spreading's linear system: a weighted grid Laplacian plus a
positive diagonal, symmetric positive definite.

Ordered by grid lines, the matrix is block tridiagonal (each line's own tridiagonal block, tied
to the next line by a diagonal one), so a block Cholesky factorisation solves it exactly with
dense lines-sized products only: no sparse-matrix library (SciPy's alone was 78 MB of the built
app). Blocks run along the shorter side of the grid: the work grows with the block's size
squared times the number of pixels.
"""

from __future__ import annotations

import numpy as np
import torch


class GridSolver:
    """Factorises diag(diagonal) - W once, W the symmetric neighbour weights of a (height, width)
    grid (`horizontal` (height, width - 1) between left and right neighbours, `vertical`
    (height - 1, width) between upper and lower ones); `solve` then answers any right-hand side.
    Unknowns are numbered row by row, as `np.arange(height * width).reshape(height, width)`."""

    def __init__(self, diagonal: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray):
        height, width = diagonal.shape
        self.shape = (height, width)
        self.transposed = width > height
        if self.transposed:  # lines along the shorter side: the vertical pairs become the line's own
            diagonal, horizontal, vertical = diagonal.T, vertical.T, horizontal.T
        lines, size = diagonal.shape
        diagonal = torch.from_numpy(np.ascontiguousarray(diagonal, np.float64))
        along = torch.from_numpy(np.ascontiguousarray(horizontal, np.float64))
        across = torch.from_numpy(np.ascontiguousarray(vertical, np.float64))
        self.across = across
        # S_0 = D_0, S_i = D_i - A[i, i-1] S_{i-1}^-1 A[i-1, i], with A[i, i-1] = -diag(across[i-1]):
        # the Schur complements, each factorised as L_i L_i^T.
        self.factors: list[torch.Tensor] = []
        for line in range(lines):
            block = torch.diag(diagonal[line])
            if size > 1:
                block -= torch.diag(along[line], 1) + torch.diag(along[line], -1)
            if line:
                weights = across[line - 1]
                block -= weights[:, None] * torch.cholesky_inverse(self.factors[-1]) * weights[None, :]
            self.factors.append(torch.linalg.cholesky(block))

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """x with A x = rhs, for rhs (count,) or (count, k); float64."""
        height, width = self.shape
        single = rhs.ndim == 1
        columns = torch.from_numpy(np.asarray(rhs, np.float64).reshape(height, width, -1))
        if self.transposed:
            columns = columns.transpose(0, 1)
        columns = columns.contiguous()
        lines = columns.shape[0]
        forward = []  # L_i y_i = b_i + diag(across[i-1]) L_{i-1}^-T y_{i-1}
        for line in range(lines):
            value = columns[line]
            if line:
                back = torch.linalg.solve_triangular(self.factors[line - 1].T, forward[-1], upper=True)
                value = value + self.across[line - 1][:, None] * back
            forward.append(torch.linalg.solve_triangular(self.factors[line], value, upper=False))
        solution = [None] * lines  # L_i^T x_i = y_i + L_i^-1 diag(across[i]) x_{i+1}
        for line in reversed(range(lines)):
            value = forward[line]
            if line + 1 < lines:
                value = value + torch.linalg.solve_triangular(
                    self.factors[line], self.across[line][:, None] * solution[line + 1], upper=False)
            solution[line] = torch.linalg.solve_triangular(self.factors[line].T, value, upper=True)
        result = torch.stack(solution)
        if self.transposed:
            result = result.transpose(0, 1)
        result = result.reshape(height * width, -1).numpy()
        return result[:, 0] if single else result
