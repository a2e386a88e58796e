"""Train/test splitters on a pool of images (DESIGN §2.10): the shuffled k-fold partition
(and keeping duplicate images in one fold), k-means clusters held out, and the ``tau``
split (a test set distributed like the training set, yet at least ``tau`` away from it).
Pure numpy, deterministic for a given input and seed.

The pairwise passes (nearest neighbours, the ``< tau`` graph, the MMD kernel) work on
blocks of rows in float32, in place, so the pooled pool (24,681 images) takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
TEST_FRACTION = 0.2
BLOCK = 1024


def n_test_of(n: int) -> int:
    return round(TEST_FRACTION * n)


# ---------------------------------------------------------------------------- random


def kfold_partition(n: int, k: int, seed: int) -> list[Ints]:
    """The ``k`` folds of one shuffle of ``range(n)`` with ``numpy.random.default_rng(seed)``,
    split with ``numpy.array_split`` (the first ``n % k`` folds one larger). Each fold's
    indices are in shuffled order; index ``i`` stands for the ``i``-th image of the sorted
    pool."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.asarray(fold, dtype=np.intp) for fold in np.array_split(order, k)]


def duplicate_groups(x: npt.ArrayLike) -> Ints:
    """Per row, the smallest index of the rows identical to it (itself when unique)."""
    data = np.ascontiguousarray(np.asarray(x))
    if len(data) == 0:
        return np.zeros(0, dtype=np.intp)
    _, first, inverse = np.unique(data, axis=0, return_index=True, return_inverse=True)
    return np.asarray(first[np.ravel(inverse)], dtype=np.intp)


def keep_duplicates_together(folds: list[Ints], group: Ints) -> tuple[list[Ints], int]:
    """Move the members of each group of duplicates (``group[i]``: the group of index
    ``i``, e.g. from :func:`duplicate_groups`) into one fold, keeping every fold's size.

    A group split over folds goes to the fold holding most of it (ties: the lowest fold);
    each member moved in swaps places with the first image of that fold (in fold order)
    that has no duplicate. Returns the folds and the number of images moved (a swap moves
    two)."""
    fold_of = np.empty(len(group), dtype=np.intp)
    for f, fold in enumerate(folds):
        fold_of[fold] = f
    sizes = np.bincount(group, minlength=len(group))
    has_duplicate = sizes[group] > 1
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(has_duplicate).tolist():
        members.setdefault(int(group[i]), []).append(i)
    order = [list(fold.tolist()) for fold in folds]
    moved = 0
    for g in sorted(members):
        where = fold_of[members[g]]
        if len(set(where.tolist())) == 1:
            continue
        target = int(np.argmax(np.bincount(where, minlength=len(folds))))
        for i in members[g]:
            source = int(fold_of[i])
            if source == target:
                continue
            partner = next(j for j in order[target] if not has_duplicate[j])
            order[target][order[target].index(partner)] = i
            order[source][order[source].index(i)] = partner
            fold_of[i], fold_of[partner] = target, source
            moved += 2
    return [np.asarray(f, dtype=np.intp) for f in order], moved


# ---------------------------------------------------------------------------- unit rows, distances


def unit_rows(x: npt.ArrayLike) -> Floats:
    data = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    return data / np.where(norms == 0, 1.0, norms)


def cosine_distances(a: Floats, b: Floats) -> Floats:
    """Cosine distances between the rows of ``a`` and ``b`` (already unit-normalised)."""
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def nearest_neighbour_distance(x: Floats, block: int = BLOCK) -> Floats:
    """Each (unit) row's cosine distance to its nearest other row."""
    data = np.asarray(x, dtype=np.float32)
    out = np.empty(len(data))
    for start in range(0, len(data), block):
        similarity = data[start : start + block] @ data.T
        rows = np.arange(len(similarity))
        similarity[rows, rows + start] = -np.inf
        out[start : start + block] = similarity.max(axis=1)
    return np.clip(1.0 - out, 0.0, 2.0)


def components(x: Floats, tau: float, block: int = BLOCK) -> Ints:
    """Connected components of the graph joining (unit) rows closer than ``tau``: each
    row's label is the smallest index in its component."""
    data = np.asarray(x, dtype=np.float32)
    threshold = np.float32(1.0 - tau)
    rows_list, cols_list = [np.zeros(0, dtype=np.intp)], [np.zeros(0, dtype=np.intp)]
    for start in range(0, len(data), block):
        r, c = np.nonzero(data[start : start + block] @ data.T > threshold)
        keep = r + start < c
        rows_list.append(r[keep] + start)
        cols_list.append(c[keep])
    rows, cols = np.concatenate(rows_list), np.concatenate(cols_list)
    labels = np.arange(len(data))
    while True:  # propagate the smallest label along edges until nothing changes
        before = labels.copy()
        low = np.minimum(labels[rows], labels[cols])
        np.minimum.at(labels, rows, low)
        np.minimum.at(labels, cols, low)
        labels = labels[labels]  # jump to the representative's label
        if np.array_equal(labels, before):
            return labels.astype(np.intp)


# ---------------------------------------------------------------------------- k-means


def _kmeans_once(
    x: Floats, k: int, rng: np.random.Generator, iterations: int
) -> tuple[Ints, float]:
    n = len(x)
    squared = (x**2).sum(1)
    centres = [int(rng.integers(n))]
    d2 = np.maximum(squared - 2 * x @ x[centres[0]] + squared[centres[0]], 0.0)
    for _ in range(1, k):  # k-means++ seeding
        total = d2.sum()
        pick = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres.append(pick)
        d2 = np.minimum(d2, np.maximum(squared - 2 * x @ x[pick] + squared[pick], 0.0))
    c = x[centres].copy()
    labels = np.full(n, -1, dtype=np.intp)
    for _ in range(iterations):
        distances = (c**2).sum(1)[None, :] - 2 * x @ c.T
        new = np.argmin(distances, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=k)
        sums = np.stack([np.bincount(labels, weights=col, minlength=k) for col in x.T], axis=1)
        empty = counts == 0
        c = np.where(empty[:, None], c, sums / np.maximum(counts, 1)[:, None])
    inertia = float(np.maximum(squared + distances[np.arange(n), labels], 0.0).sum())
    return labels, inertia


def kmeans(x: Floats, k: int, seed: int = 0, n_init: int = 10, iterations: int = 300) -> Ints:
    """Lloyd's k-means with k-means++ seeding, ``n_init`` runs from one
    ``numpy.random.default_rng(seed)``, the run of least inertia kept (ties: the first).
    Labels ordered by cluster size (largest 0), ties by first member, so the numbering
    does not depend on the seeding."""
    rng = np.random.default_rng(seed)
    best: tuple[Ints, float] | None = None
    for _ in range(n_init):
        found = _kmeans_once(x, k, rng, iterations)
        if best is None or found[1] < best[1]:
            best = found
    assert best is not None
    labels = best[0]
    n = len(x)
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == j)[0] if sizes[j] else n for j in range(k)])
    rank = sorted(range(k), key=lambda j: (-sizes[j], first[j]))
    remap = np.empty(k, dtype=np.intp)
    remap[rank] = np.arange(k)
    return remap[labels]


# ---------------------------------------------------------------------------- MMD


def rbf_features(x: Floats, seed: int, n_features: int = 256) -> tuple[Floats, float]:
    """Random Fourier features of an RBF kernel with the median-distance bandwidth."""
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(len(x), 1000), replace=False)]
    d2 = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
    bandwidth = float(np.sqrt(np.median(d2[d2 > 0]) / 2.0))
    w = rng.normal(size=(x.shape[1], n_features)) / bandwidth
    b = rng.uniform(0, 2 * np.pi, size=n_features)
    return np.sqrt(2.0 / n_features) * np.cos(x @ w + b), bandwidth


def mmd2(
    x: Floats, splits: list[tuple[Ints, Ints]], bandwidth: float, block: int = BLOCK
) -> list[float]:
    """Squared maximum mean discrepancy (RBF kernel, biased) between train and test of each
    split, from one blockwise pass over the kernel matrix."""
    n = len(x)
    indicators = np.zeros((n, 2 * len(splits)), dtype=np.float32)
    for s, (train, test) in enumerate(splits):
        indicators[train, 2 * s] = 1.0 / len(train)
        indicators[test, 2 * s + 1] = 1.0 / len(test)
    data = np.asarray(x, dtype=np.float32)
    # exp(-(|a|^2 + |b|^2 - 2 a.b) / 2h^2) = e(a) e(b) exp(a.b / h^2): one exp per pair
    edge = np.exp(-(data.astype(np.float64) ** 2).sum(1) / (2 * bandwidth**2))
    weighted = (indicators * edge[:, None]).astype(np.float32)
    scale = np.float32(1.0 / bandwidth**2)
    product = np.zeros_like(indicators, dtype=np.float64)
    for start in range(0, n, block):
        kernel = data[start : start + block] @ data.T  # becomes the kernel, in place
        kernel *= scale
        np.exp(kernel, out=kernel)
        product[start : start + block] = (kernel @ weighted) * edge[start : start + block, None]
    quadratic = indicators.astype(np.float64).T @ product  # (2S, 2S)
    return [
        float(
            quadratic[2 * s, 2 * s]
            + quadratic[2 * s + 1, 2 * s + 1]
            - 2 * quadratic[2 * s, 2 * s + 1]
        )
        for s in range(len(splits))
    ]


# ---------------------------------------------------------------------------- tau


@dataclass(frozen=True)
class TauSplit:
    test: Ints
    tau: float
    tau_quantile: float
    mmd2: float
    mmd2_random_split: float  # of a seeded random 80/20 split of the same images, for scale
    bandwidth: float
    n_components: int

    @property
    def percentile(self) -> float:
        return round(100 * self.tau_quantile, 6)


QUANTILES = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0)


def tau_split(
    x: npt.ArrayLike, strata: list[str], seed: int = 0, n_test: int | None = None
) -> TauSplit:
    """A test set of ``n_test`` rows (default 20 %) whose embedding distribution matches
    the training set's (greedy MMD minimisation with random Fourier features, balanced
    across ``strata``) while every test image is at least ``tau`` (cosine distance) from
    every training image.

    Images closer than ``tau`` must fall on the same side, so the test set is a union of
    connected components of the ``< tau`` graph. ``tau`` is the largest quantile of the
    nearest-neighbour distance distribution (from 90 % down) at which components outside
    the largest one can still make up the test set, each stratum within its share."""
    data = unit_rows(x)
    n = len(data)
    n_test = n_test_of(n) if n_test is None else n_test
    nn = nearest_neighbour_distance(data)
    labels_of = np.asarray(strata)
    groups = sorted(set(strata))
    quota = {g: round(n_test * float(np.mean(labels_of == g))) for g in groups}
    quota[groups[-1]] += n_test - sum(quota.values())
    features, bandwidth = rbf_features(data, seed)
    for q in QUANTILES:
        tau = float(np.quantile(nn, q))
        comp = components(data, tau)
        test = _greedy(features, comp, labels_of, quota)
        if test is not None:
            train = np.setdiff1d(np.arange(n), test)
            random_test = np.sort(np.random.default_rng(seed).permutation(n)[:n_test])
            random_train = np.setdiff1d(np.arange(n), random_test)
            score, baseline = mmd2(data, [(train, test), (random_train, random_test)], bandwidth)
            return TauSplit(test, tau, q, score, baseline, bandwidth, len(set(comp.tolist())))
    raise ValueError("no tau split exists for this pool (every quantile failed)")


def _greedy(
    features: Floats, comp: Ints, strata: npt.NDArray[np.str_], quota: dict[str, int]
) -> Ints | None:
    """Components added one at a time, each the one that brings the test set's mean
    feature closest to the training set's (``|a(T + f) - b(A - T - f)|^2`` expanded, so a
    step is one product of the candidates' features with two vectors)."""
    ids, inverse, sizes = np.unique(comp, return_inverse=True, return_counts=True)
    biggest = int(np.argmax(sizes))
    total = features.sum(axis=0)
    comp_features = np.zeros((len(ids), features.shape[1]))
    np.add.at(comp_features, inverse, features)
    names = sorted(quota)
    per_stratum = np.zeros((len(ids), len(names)), dtype=np.intp)
    for s, name in enumerate(names):
        np.add.at(per_stratum[:, s], inverse[strata == name], 1)
    comp_size = per_stratum.sum(axis=1)
    need = np.array([quota[name] for name in names])
    available = np.ones(len(ids), dtype=bool)
    available[biggest] = False
    taken = np.zeros(len(names), dtype=np.intp)
    test_sum = np.zeros(features.shape[1])
    f_squared = (comp_features**2).sum(axis=1)
    f_total = comp_features @ total
    total_squared = float(total @ total)
    n_test = int(need.sum())
    n = len(features)
    chosen: list[int] = []
    while taken.sum() < n_test:
        fits = available & np.all(taken + per_stratum <= need, axis=1)
        if not fits.any():
            return None
        candidates = np.flatnonzero(fits)
        count = taken.sum() + comp_size[candidates]
        a = 1.0 / count
        b = np.where(n - count > 0, 1.0 / np.maximum(n - count, 1), 0.0)
        u = a + b  # the vector is u (T + f) - b A
        f_test = comp_features[candidates] @ test_sum
        test_squared = float(test_sum @ test_sum)
        test_total = float(test_sum @ total)
        gap = (
            u**2 * (f_squared[candidates] + 2 * f_test + test_squared)
            - 2 * u * b * (f_total[candidates] + test_total)
            + b**2 * total_squared
        )
        # among the best, prefer components that fill the quota fastest
        best = candidates[int(np.argmin(gap - 1e-12 * comp_size[candidates]))]
        chosen.append(int(best))
        available[best] = False
        taken += per_stratum[best]
        test_sum += comp_features[best]
    return np.flatnonzero(np.isin(inverse, chosen))
