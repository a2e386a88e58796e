"""The reference encoding model: ridge regression from a stimulus embedding to voxel responses,
the regularisation chosen per voxel by cross-validation on the training images only.

Pure NumPy and deterministic (same inputs, same bytes): one SVD of the training features
gives the ridge solution for every alpha at once; the folds are contiguous blocks of the
training rows in their given order. Accuracy on the test images is Pearson r and the
coefficient of determination R² per voxel, and R² over the noise ceiling (the fraction of
the explainable variance the model explains, GLMsingle's NC being in percent).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ..errors import UsageError

Floats = npt.NDArray[np.float64]
ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-2, 5, 15))
FOLDS = 5


@dataclass(frozen=True)
class EncodingResult:
    """Per-voxel test accuracy and the alpha chosen for each voxel."""

    pearson_r: Floats
    r2: Floats
    alpha: Floats
    n_train: int
    n_test: int

    def r2_over_ceiling(self, noise_ceiling_percent: Floats) -> Floats:
        """R² divided by the noise ceiling (NaN where the ceiling is not positive)."""
        ceiling = np.asarray(noise_ceiling_percent, dtype=np.float64) / 100.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ceiling > 0, self.r2 / ceiling, np.nan)


def _standardise(train: Floats, test: Floats) -> tuple[Floats, Floats]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0] = 1.0
    return (train - mean) / scale, (test - mean) / scale


def _ridge_predictions(x_fit: Floats, y_fit: Floats, x_new: Floats, alphas: Floats) -> Floats:
    """Predictions for ``x_new`` of ridge fits on (``x_fit``, ``y_fit``) for every alpha:
    ``(n_alphas, n_new, n_voxels)``, from one SVD."""
    u, s, vt = np.linalg.svd(x_fit, full_matrices=False)
    uty = u.T @ y_fit  # (k, voxels)
    projected = x_new @ vt.T  # (n_new, k)
    out = np.empty((len(alphas), x_new.shape[0], y_fit.shape[1]))
    for i, alpha in enumerate(alphas):
        out[i] = projected @ ((s / (s**2 + alpha))[:, None] * uty)
    return out


def _r2(truth: Floats, predicted: Floats) -> Floats:
    residual = ((truth - predicted) ** 2).sum(axis=-2)
    total = ((truth - truth.mean(axis=-2, keepdims=True)) ** 2).sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1.0 - residual / total, np.nan)


def _pearson(truth: Floats, predicted: Floats) -> Floats:
    a = truth - truth.mean(axis=0)
    b = predicted - predicted.mean(axis=0)
    denominator = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=0) / denominator, np.nan)


def fit_and_test(
    features_train: npt.ArrayLike,
    responses_train: npt.ArrayLike,
    features_test: npt.ArrayLike,
    responses_test: npt.ArrayLike,
    alphas: tuple[float, ...] = ALPHAS,
    folds: int = FOLDS,
) -> EncodingResult:
    """Fit on the training images (alpha per voxel by ``folds``-fold CV on them alone, then
    refit on all of them), predict the test images, and score each voxel."""
    x_train = np.asarray(features_train, dtype=np.float64)
    y_train = np.asarray(responses_train, dtype=np.float64)
    x_test = np.asarray(features_test, dtype=np.float64)
    y_test = np.asarray(responses_test, dtype=np.float64)
    if x_train.shape[0] != y_train.shape[0] or x_test.shape[0] != y_test.shape[0]:
        raise UsageError(
            f"features and responses disagree on the number of images: train "
            f"{x_train.shape[0]} vs {y_train.shape[0]}, test {x_test.shape[0]} vs {y_test.shape[0]}"
        )
    if x_train.shape[0] < 2 * folds or x_test.shape[0] < 3:
        raise UsageError(
            f"{x_train.shape[0]} training and {x_test.shape[0]} test images are too few for "
            f"{folds}-fold ridge; need at least {2 * folds} and 3"
        )
    grid = np.asarray(alphas, dtype=np.float64)
    edges = np.linspace(0, x_train.shape[0], folds + 1).astype(int)
    scores = np.zeros((len(grid), y_train.shape[1]))
    for start, stop in pairwise(edges):
        held = np.zeros(x_train.shape[0], dtype=bool)
        held[start:stop] = True
        x_fit, x_held = _standardise(x_train[~held], x_train[held])
        y_mean = y_train[~held].mean(axis=0)
        predicted = _ridge_predictions(x_fit, y_train[~held] - y_mean, x_held, grid) + y_mean
        scores += np.nan_to_num(_r2(y_train[held], predicted), nan=-np.inf)
    best = np.argmax(scores, axis=0)
    x_fit, x_new = _standardise(x_train, x_test)
    y_mean = y_train.mean(axis=0)
    predicted_all = _ridge_predictions(x_fit, y_train - y_mean, x_new, grid) + y_mean
    predicted = predicted_all[best, :, np.arange(y_train.shape[1])].T
    return EncodingResult(
        pearson_r=_pearson(y_test, predicted),
        r2=_r2(y_test, predicted),
        alpha=grid[best],
        n_train=int(x_train.shape[0]),
        n_test=int(x_test.shape[0]),
    )
