"""The reference encoding model recovers a planted linear model, chooses alpha on the
training images alone, and gives the same bytes for the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

from laion_fmri_datalad.analysis.encoding import Floats, fit_and_test
from laion_fmri_datalad.errors import UsageError

Arrays = tuple[Floats, Floats, Floats, Floats, Floats]


def planted(seed: int, n_train: int = 240, n_test: int = 60, noise: float = 1.0) -> Arrays:
    """Responses = features @ weights + noise, with voxel SNR rising from 0 to 2."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_train + n_test, 32))
    weights = rng.standard_normal((32, 50)) / np.sqrt(32)
    snr = np.linspace(0, 2, 50)
    signal = features @ weights * snr
    responses = signal + noise * rng.standard_normal(signal.shape)
    explainable = snr**2 / (snr**2 + noise**2)  # the ceiling of R² per voxel
    return (
        features[:n_train],
        responses[:n_train],
        features[n_train:],
        responses[n_train:],
        explainable,
    )


def test_recovers_the_planted_model() -> None:
    x_train, y_train, x_test, y_test, ceiling = planted(0)
    result = fit_and_test(x_train, y_train, x_test, y_test)
    assert np.corrcoef(result.r2, ceiling)[0, 1] >= 0.9
    best = ceiling > 0.7
    assert np.all(result.r2[best] >= 0.5 * ceiling[best])
    assert np.all(result.pearson_r[best] > 0.6)
    assert abs(float(np.mean(result.r2[:3]))) < 0.2  # no signal planted there
    ratio = result.r2_over_ceiling(ceiling * 100)
    assert np.nanmedian(ratio[best]) > 0.7


def test_alpha_is_chosen_on_training_images_only() -> None:
    x_train, y_train, x_test, y_test, _ = planted(1)
    first = fit_and_test(x_train, y_train, x_test, y_test)
    scrambled = np.random.default_rng(5).permutation(y_test)
    second = fit_and_test(x_train, y_train, x_test, scrambled)
    assert np.array_equal(first.alpha, second.alpha)  # the test set never moves alpha
    assert not np.allclose(first.r2, second.r2)


def test_same_inputs_same_bytes() -> None:
    x_train, y_train, x_test, y_test, _ = planted(2)
    a = fit_and_test(x_train, y_train, x_test, y_test)
    b = fit_and_test(x_train, y_train, x_test, y_test)
    assert a.r2.tobytes() == b.r2.tobytes() and a.pearson_r.tobytes() == b.pearson_r.tobytes()


def test_too_few_images_is_one_line() -> None:
    x_train, y_train, x_test, y_test, _ = planted(3, n_train=6, n_test=2)
    with pytest.raises(UsageError, match="too few"):
        fit_and_test(x_train, y_train, x_test, y_test)


def test_ridge_at_every_alpha_and_the_chosen_alphas_agree_with_scikit_learn() -> None:
    """The one-SVD solution equals scikit-learn's Ridge (centred responses, standardised
    features, no intercept) at every alpha of the grid, and the cross-validated choice
    equals a per-voxel grid search with scikit-learn's Ridge over the same folds."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    from laion_fmri_datalad.analysis.encoding import ALPHAS, _fold, _predict, _standardise

    x_train, y_train, x_test, y_test, _ = planted(7, n_train=60, n_test=20)
    x_fit, x_new = _standardise(x_train, x_test)
    y_mean = y_train.mean(axis=0)
    fold = _fold(x_fit, x_new, np.zeros(len(x_fit), dtype=bool))
    ours = _predict(fold, y_train - y_mean, np.asarray(ALPHAS))
    for i, alpha in enumerate(ALPHAS):
        theirs = Ridge(alpha=alpha, fit_intercept=False, solver="svd").fit(x_fit, y_train - y_mean)
        np.testing.assert_allclose(ours[i], theirs.predict(x_new), rtol=1e-7, atol=1e-9)

    scores = np.zeros((len(ALPHAS), y_train.shape[1]))
    for fit_rows, held_rows in KFold(5).split(x_train):  # contiguous blocks, as ours
        x_f, x_h = _standardise(x_train[fit_rows], x_train[held_rows])
        mean = y_train[fit_rows].mean(axis=0)
        for i, alpha in enumerate(ALPHAS):
            model = Ridge(alpha=alpha, fit_intercept=False, solver="svd")
            predicted = model.fit(x_f, y_train[fit_rows] - mean).predict(x_h) + mean
            truth = y_train[held_rows]
            residual = ((truth - predicted) ** 2).sum(axis=0)
            total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
            scores[i] += 1 - residual / total
    expected = np.asarray(ALPHAS)[np.argmax(scores, axis=0)]
    result = fit_and_test(x_train, y_train, x_test, y_test)
    np.testing.assert_array_equal(result.alpha, expected)


def test_a_fit_in_blocks_of_voxels_equals_one_fit_of_all() -> None:
    """The whole brain is fitted a block of voxels at a time: the same per-voxel result."""
    from laion_fmri_datalad.analysis.encoding import RidgeCV

    x_train, y_train, x_test, y_test, _ = planted(3, n_train=60, n_test=20)
    whole = fit_and_test(x_train, y_train, x_test, y_test)
    model = RidgeCV.prepare(x_train, x_test)
    parts = [
        model.fit_block(y_train[:, c : c + 7], y_test[:, c : c + 7])
        for c in range(0, y_train.shape[1], 7)
    ]
    np.testing.assert_allclose(np.concatenate([p[0] for p in parts]), whole.pearson_r, rtol=1e-10)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts]), whole.r2, rtol=1e-10)
    assert np.array_equal(np.concatenate([p[2] for p in parts]), whole.alpha)
