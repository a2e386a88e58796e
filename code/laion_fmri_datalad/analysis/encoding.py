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


@dataclass(frozen=True)
class _Fold:
    held: npt.NDArray[np.bool_]
    u: Floats
    s: Floats
    projected: Floats  # the held-out (or test) features in the SVD's basis


def _fold(x_fit: Floats, x_new: Floats, held: npt.NDArray[np.bool_]) -> _Fold:
    u, s, vt = np.linalg.svd(x_fit, full_matrices=False)
    return _Fold(held, u, s, x_new @ vt.T)


def _predict(fold: _Fold, y_fit: Floats, alphas: Floats) -> Floats:
    """``(n_alphas, n_new, n_voxels)`` ridge predictions of one fold for every alpha."""
    uty = fold.u.T @ y_fit
    out = np.empty((len(alphas), fold.projected.shape[0], y_fit.shape[1]))
    for i, alpha in enumerate(alphas):
        out[i] = fold.projected @ ((fold.s / (fold.s**2 + alpha))[:, None] * uty)
    return out


@dataclass(frozen=True)
class RidgeCV:
    """The features' side of the fit, computed once (one SVD per fold and one for the
    final fit) and applied to any block of voxels: voxels are fitted independently, so a
    job fits the whole brain a block at a time, its memory set by the block."""

    folds: list[_Fold]
    final: _Fold
    alphas: Floats
    n_train: int
    n_test: int

    @classmethod
    def prepare(
        cls,
        features_train: npt.ArrayLike,
        features_test: npt.ArrayLike,
        alphas: tuple[float, ...] = ALPHAS,
        folds: int = FOLDS,
    ) -> RidgeCV:
        x_train = np.asarray(features_train, dtype=np.float64)
        x_test = np.asarray(features_test, dtype=np.float64)
        if x_train.shape[0] < 2 * folds or x_test.shape[0] < 3:
            raise UsageError(
                f"{x_train.shape[0]} training and {x_test.shape[0]} test images are too few "
                f"for {folds}-fold ridge; need at least {2 * folds} and 3"
            )
        edges = np.linspace(0, x_train.shape[0], folds + 1).astype(int)
        prepared = []
        for start, stop in pairwise(edges):
            held = np.zeros(x_train.shape[0], dtype=bool)
            held[start:stop] = True
            x_fit, x_held = _standardise(x_train[~held], x_train[held])
            prepared.append(_fold(x_fit, x_held, held))
        x_fit, x_new = _standardise(x_train, x_test)
        final = _fold(x_fit, x_new, np.zeros(x_train.shape[0], dtype=bool))
        return cls(
            prepared,
            final,
            np.asarray(alphas, dtype=np.float64),
            int(x_train.shape[0]),
            int(x_test.shape[0]),
        )

    def fit_block(
        self, responses_train: npt.ArrayLike, responses_test: npt.ArrayLike
    ) -> tuple[Floats, Floats, Floats]:
        """Pearson r, R² and the chosen alpha of a block of voxels."""
        y_train = np.asarray(responses_train, dtype=np.float64)
        y_test = np.asarray(responses_test, dtype=np.float64)
        if y_train.shape[0] != self.n_train or y_test.shape[0] != self.n_test:
            raise UsageError(
                f"features and responses disagree on the number of images: train "
                f"{self.n_train} vs {y_train.shape[0]}, test {self.n_test} vs {y_test.shape[0]}"
            )
        scores = np.zeros((len(self.alphas), y_train.shape[1]))
        for fold in self.folds:
            y_mean = y_train[~fold.held].mean(axis=0)
            predicted = _predict(fold, y_train[~fold.held] - y_mean, self.alphas) + y_mean
            scores += np.nan_to_num(_r2(y_train[fold.held], predicted), nan=-np.inf)
        best = np.argmax(scores, axis=0)
        y_mean = y_train.mean(axis=0)
        predicted_all = _predict(self.final, y_train - y_mean, self.alphas) + y_mean
        predicted = predicted_all[best, :, np.arange(y_train.shape[1])].T
        return _pearson(y_test, predicted), _r2(y_test, predicted), self.alphas[best]


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
    x_train = np.asarray(features_train)
    x_test = np.asarray(features_test)
    n_y_train = np.shape(responses_train)[0]
    n_y_test = np.shape(responses_test)[0]
    if x_train.shape[0] != n_y_train or x_test.shape[0] != n_y_test:
        raise UsageError(
            f"features and responses disagree on the number of images: train "
            f"{x_train.shape[0]} vs {n_y_train}, test {x_test.shape[0]} vs {n_y_test}"
        )
    model = RidgeCV.prepare(x_train, x_test, alphas, folds)
    r, r2, alpha = model.fit_block(responses_train, responses_test)
    return EncodingResult(r, r2, alpha, model.n_train, model.n_test)
