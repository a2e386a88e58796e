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
