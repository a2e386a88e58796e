"""Train/test splitters on a pool of images: seeded random, k-means clusters held out, and
the ``tau`` split (a test set distributed like the training set, yet at least ``tau`` away
from it). Pure numpy, deterministic for a given input and seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
TEST_FRACTION = 0.2


def n_test_of(n: int) -> int:
    return round(TEST_FRACTION * n)


def random_split(n: int, seed: int) -> Ints:
    """Indices of a seeded 20 % test set, sorted."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n_test_of(n)])


def unit_rows(x: npt.ArrayLike) -> Floats:
    data = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    return data / np.where(norms == 0, 1.0, norms)


def kmeans(x: Floats, k: int, seed: int = 0, iterations: int = 100) -> Ints:
    """Lloyd's k-means with k-means++ seeding; labels ordered by cluster size (largest 0),
    ties by first member, so the numbering does not depend on the seeding order."""
    rng = np.random.default_rng(seed)
    n = len(x)
    centres = [x[int(rng.integers(n))]]
    for _ in range(1, k):
        d2 = np.min([np.sum((x - c) ** 2, axis=1) for c in centres], axis=0)
        centres.append(x[int(rng.choice(n, p=d2 / d2.sum()))])
    c = np.array(centres)
    labels = np.zeros(n, dtype=np.intp)
    for _ in range(iterations):
        d2 = (x**2).sum(1)[:, None] - 2 * x @ c.T + (c**2).sum(1)[None, :]
        new = np.argmin(d2, axis=1)
        for j in range(k):
            members = x[new == j]
            c[j] = members.mean(axis=0) if len(members) else x[int(rng.integers(n))]
        if np.array_equal(new, labels):
            break
        labels = new
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == j)[0] if sizes[j] else n for j in range(k)])
    rank = sorted(range(k), key=lambda j: (-sizes[j], first[j]))
    remap = np.empty(k, dtype=np.intp)
    remap[rank] = np.arange(k)
    return remap[labels]


def cosine_distances(a: Floats, b: Floats) -> Floats:
    """Cosine distances between the rows of ``a`` and ``b`` (already unit-normalised)."""
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def nearest_neighbour_distance(x: Floats, block: int = 2048) -> Floats:
    """Each (unit) row's cosine distance to its nearest other row."""
    out = np.empty(len(x))
    for start in range(0, len(x), block):
        d = cosine_distances(x[start : start + block], x)
        d[np.arange(len(d)), np.arange(start, start + len(d))] = np.inf
        out[start : start + block] = d.min(axis=1)
    return out


def components(x: Floats, tau: float, block: int = 2048) -> Ints:
    """Connected components of the graph joining (unit) rows closer than ``tau``: each
    row's label is the smallest index in its component."""
    rows_list, cols_list = [], []
    for start in range(0, len(x), block):
        r, c = np.nonzero(cosine_distances(x[start : start + block], x) < tau)
        keep = r + start < c
        rows_list.append(r[keep] + start)
        cols_list.append(c[keep])
    rows, cols = np.concatenate(rows_list), np.concatenate(cols_list)
    labels = np.arange(len(x))
    while True:  # propagate the smallest label along edges until nothing changes
        before = labels.copy()
        low = np.minimum(labels[rows], labels[cols])
        np.minimum.at(labels, rows, low)
        np.minimum.at(labels, cols, low)
        labels = labels[labels]  # jump to the representative's label
        if np.array_equal(labels, before):
            return labels.astype(np.intp)


def rbf_features(x: Floats, seed: int, n_features: int = 256) -> tuple[Floats, float]:
    """Random Fourier features of an RBF kernel with the median-distance bandwidth."""
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(len(x), 1000), replace=False)]
    d2 = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
    bandwidth = float(np.sqrt(np.median(d2[d2 > 0]) / 2.0))
    w = rng.normal(size=(x.shape[1], n_features)) / bandwidth
    b = rng.uniform(0, 2 * np.pi, size=n_features)
    return np.sqrt(2.0 / n_features) * np.cos(x @ w + b), bandwidth


def mmd2(x: Floats, splits: list[tuple[Ints, Ints]], bandwidth: float,
         block: int = 1024) -> list[float]:  # fmt: skip
    """Squared maximum mean discrepancy (RBF kernel, biased) between train and test of each
    split, from one blockwise pass over the kernel matrix."""
    n = len(x)
    indicators = np.zeros((n, 2 * len(splits)), dtype=np.float32)
    for s, (train, test) in enumerate(splits):
        indicators[train, 2 * s] = 1.0 / len(train)
        indicators[test, 2 * s + 1] = 1.0 / len(test)
    data = x.astype(np.float32)
    norms = (data**2).sum(1)
    product = np.zeros_like(indicators, dtype=np.float64)
    for start in range(0, n, block):
        chunk = data[start : start + block]
        d2 = norms[start : start + block, None] - 2 * chunk @ data.T + norms[None, :]
        kernel = np.exp(-np.maximum(d2, 0) / np.float32(2 * bandwidth**2))
        product[start : start + block] = kernel @ indicators
    quadratic = indicators.astype(np.float64).T @ product  # (2S, 2S)
    return [
        float(
            quadratic[2 * s, 2 * s]
            + quadratic[2 * s + 1, 2 * s + 1]
            - 2 * quadratic[2 * s, 2 * s + 1]
        )
        for s in range(len(splits))
    ]


@dataclass(frozen=True)
class TauSplit:
    test: Ints
    tau: float
    tau_quantile: float
    mmd2: float
    mmd2_random_split: float  # of a seeded random 80/20 split of the same images, for scale
    bandwidth: float
    n_components: int


QUANTILES = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0)


def tau_split(x: npt.ArrayLike, strata: list[str], seed: int = 0) -> TauSplit:
    """A 20 % test set whose embedding distribution matches the training set's (greedy MMD
    minimisation with random Fourier features, balanced across ``strata``) while every test
    image is at least ``tau`` (cosine distance) from every training image.

    Images closer than ``tau`` must fall on the same side, so the test set is a union of
    connected components of the ``< tau`` graph. ``tau`` is the largest quantile of the
    nearest-neighbour distance distribution (from 90 % down) at which components outside
    the largest one can still make up the test set, each stratum within its share."""
    data = unit_rows(x)
    n = len(data)
    n_test = n_test_of(n)
    nn = nearest_neighbour_distance(data)
    labels_of = np.asarray(strata)
    groups = sorted(set(strata))
    quota = {g: round(n_test * float(np.mean(labels_of == g))) for g in groups}
    quota[groups[-1]] += n_test - sum(quota.values())
    for q in QUANTILES:
        tau = float(np.quantile(nn, q))
        comp = components(data, tau)
        found = _greedy(data, comp, labels_of, quota, seed)
        if found is not None:
            test, bandwidth = found
            train = np.setdiff1d(np.arange(n), test)
            random_test = random_split(n, seed)
            random_train = np.setdiff1d(np.arange(n), random_test)
            score, baseline = mmd2(data, [(train, test), (random_train, random_test)], bandwidth)
            return TauSplit(test, tau, q, score, baseline, bandwidth, len(set(comp.tolist())))
    raise ValueError("no tau split exists for this pool (every quantile failed)")


def _greedy(
    x: Floats, comp: Ints, strata: npt.NDArray[np.str_], quota: dict[str, int], seed: int
) -> tuple[Ints, float] | None:
    ids, inverse, sizes = np.unique(comp, return_inverse=True, return_counts=True)
    biggest = int(np.argmax(sizes))
    features, bandwidth = rbf_features(x, seed)
    total = features.sum(axis=0)
    # per component: feature sum and count per stratum (a component may mix strata)
    comp_features = np.zeros((len(ids), features.shape[1]))
    np.add.at(comp_features, inverse, features)
    names = sorted(quota)
    per_stratum = np.zeros((len(ids), len(names)), dtype=np.intp)
    for s, name in enumerate(names):
        np.add.at(per_stratum[:, s], inverse[strata == name], 1)
    need = np.array([quota[name] for name in names])
    available = np.ones(len(ids), dtype=bool)
    available[biggest] = False
    taken = np.zeros(len(names), dtype=np.intp)
    test_sum = np.zeros(features.shape[1])
    n_test = int(need.sum())
    n = len(x)
    chosen: list[int] = []
    while taken.sum() < n_test:
        fits = available & np.all(taken + per_stratum <= need, axis=1)
        if not fits.any():
            return None
        candidates = np.flatnonzero(fits)
        count = taken.sum() + per_stratum[candidates].sum(axis=1)
        mean_test = (test_sum + comp_features[candidates]) / count[:, None]
        mean_train = (total - test_sum - comp_features[candidates]) / (n - count)[:, None]
        gap = ((mean_test - mean_train) ** 2).sum(axis=1)
        # among the best, prefer components that fill the quota fastest
        best = candidates[int(np.argmin(gap - 1e-12 * per_stratum[candidates].sum(axis=1)))]
        chosen.append(int(best))
        available[best] = False
        taken += per_stratum[best]
        test_sum += comp_features[best]
    test = np.flatnonzero(np.isin(inverse, chosen))
    return test, bandwidth
