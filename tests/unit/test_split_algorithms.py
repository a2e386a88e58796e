"""Train/test splitters (k-fold, k-means, tau) and the pure parts of the split script."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.layout.imagenames import ood_type
from laion_fmri_datalad.splits import algorithms as alg
from laion_fmri_datalad.splits.make import (
    K_FOLDS,
    POOLED_SPLITS,
    SPLIT_NAMES,
    K,
    _round,
    _split,
    pool_splits,
    pools,
)

Floats = npt.NDArray[np.float64]


def gaussian(n: int, dim: int, seed: int) -> Floats:
    return np.random.default_rng(seed).normal(size=(n, dim))


def brute_cosine(a: Floats, b: Floats) -> Floats:
    out = np.empty((len(a), len(b)))
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            out[i, j] = 1.0 - float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return out


def brute_components(x: Floats, tau: float) -> list[int]:
    """Union-find over every pair closer than tau; each label the smallest index."""
    parent = list(range(len(x)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    d = brute_cosine(x, x)
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            if d[i, j] < tau:
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(len(x))]


def on_circle(degrees: list[float]) -> Floats:
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


# ---------------------------------------------------------------------------- random


@pytest.mark.parametrize(
    ("n", "n_test"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (5, 1), (10, 2), (12, 2), (13, 3), (100, 20), (1492, 298)],
)
def test_n_test_of_is_a_rounded_fifth(n: int, n_test: int) -> None:
    assert alg.n_test_of(n) == n_test


@pytest.mark.parametrize("n", [7, 50, 1121, 5833])
def test_kfold_partition_is_array_split_of_one_shuffle(n: int) -> None:
    order = np.arange(n)
    np.random.default_rng(42).shuffle(order)  # the published recipe, written out
    expected = [fold.tolist() for fold in np.array_split(order, 5)]
    assert [f.tolist() for f in alg.kfold_partition(n, 5, 42)] == expected


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (1121, [225, 224, 224, 224, 224]),
        (5833, [1167, 1167, 1167, 1166, 1166]),
        (4, [1, 1, 1, 1, 0]),
    ],
)
def test_kfold_partition_covers_the_pool_once_with_design_fold_sizes(
    n: int, sizes: list[int]
) -> None:
    folds = alg.kfold_partition(n, 5, 42)
    assert [len(f) for f in folds] == sizes
    assert sorted(np.concatenate(folds).tolist()) == list(range(n))


def test_duplicate_groups_point_at_the_first_identical_row() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [0.0, 1.0], [1.0, 0.0]])
    assert alg.duplicate_groups(x).tolist() == [0, 1, 0, 3, 1, 0]
    assert alg.duplicate_groups(np.zeros((0, 2))).tolist() == []


def test_keep_duplicates_together_moves_a_split_group_and_keeps_fold_sizes() -> None:
    folds = [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6, 7])]
    group = np.arange(8)
    group[[4, 6]] = 0  # 0, 4 and 6 are one image: folds 0, 1, 2 -> the lowest, fold 0
    group[7] = 5  # 5 and 7: folds 1 and 2, one each -> fold 1
    moved_folds, moved = alg.keep_duplicates_together(folds, group)
    assert [len(f) for f in moved_folds] == [3, 3, 2]
    fold_of = {i: f for f, fold in enumerate(moved_folds) for i in fold.tolist()}
    assert fold_of[0] == fold_of[4] == fold_of[6] == 0
    assert fold_of[5] == fold_of[7] == 1
    assert sorted(fold_of) == list(range(8))
    assert moved == 6  # three swaps: 4 <-> 1, 6 <-> 2, 7 <-> 3


def test_keep_duplicates_together_leaves_folds_without_split_groups() -> None:
    folds = alg.kfold_partition(30, 5, 42)
    group = np.arange(30)
    same = folds[2][:3]
    group[same] = same[0]  # a group inside one fold
    kept, moved = alg.keep_duplicates_together(folds, group)
    assert moved == 0 and [f.tolist() for f in kept] == [f.tolist() for f in folds]


# ---------------------------------------------------------------------------- unit rows, distances


def test_unit_rows_normalises_rows_and_leaves_zero_rows() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]])
    assert np.allclose(alg.unit_rows(x), [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosine_distances_match_a_direct_computation(seed: int) -> None:
    a, b = gaussian(7, 5, seed), gaussian(11, 5, seed + 100)
    got = alg.cosine_distances(alg.unit_rows(a), alg.unit_rows(b))
    assert got.shape == (7, 11)
    assert np.allclose(got, brute_cosine(a, b), atol=1e-12)


def test_cosine_distances_of_identical_and_opposite_rows() -> None:
    x = alg.unit_rows(np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]))
    d = alg.cosine_distances(x, x)
    assert np.allclose(np.diag(d), 0.0)
    assert d[0, 1] == pytest.approx(2.0)
    assert d[0, 2] == pytest.approx(1.0)
    assert d.min() >= 0.0 and d.max() <= 2.0


@pytest.mark.parametrize("block", [1, 3, 7, 40, 2048])
def test_nearest_neighbour_distance_matches_brute_force(block: int) -> None:
    x = gaussian(40, 6, 5)
    d = brute_cosine(x, x)
    np.fill_diagonal(d, np.inf)
    got = alg.nearest_neighbour_distance(alg.unit_rows(x), block=block)
    assert np.allclose(got, d.min(axis=1), atol=1e-12)


def test_nearest_neighbour_distance_of_a_duplicate_is_zero() -> None:
    x = alg.unit_rows(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    got = alg.nearest_neighbour_distance(x, block=2)
    assert got[:2] == pytest.approx([0.0, 0.0])
    assert got[2] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- components

# 1 - cos(10 deg) = 0.0152, 1 - cos(5 deg) = 0.0038, 1 - cos(80 deg) = 0.83
CIRCLE_CASES = [
    # a chain 0-10-20 joined step by step, a pair 90-95, a loner at 180
    ([0, 10, 20, 90, 95, 180], 0.02, [0, 0, 0, 3, 3, 5]),
    # the same points shuffled: each label is the smallest index of its component
    ([180, 95, 20, 90, 0, 10], 0.02, [0, 1, 2, 1, 2, 2]),
    # a tau below every gap but 5 degrees: only the pair joins
    ([0, 10, 20, 90, 95, 180], 0.01, [0, 1, 2, 3, 3, 5]),
    # a tau above every gap but 180-95: all but the loner join
    ([0, 10, 20, 90, 95, 180], 0.9, [0, 0, 0, 0, 0, 5]),
    # a long chain listed backwards: the label has to travel along every edge
    ([70, 60, 50, 40, 30, 20, 10, 0], 0.02, [0] * 8),
    # nothing closer than tau=0
    ([0, 10, 20], 0.0, [0, 1, 2]),
]


@pytest.mark.parametrize(("degrees", "tau", "labels"), CIRCLE_CASES)
@pytest.mark.parametrize("block", [1, 2, 2048])
def test_components_of_points_on_a_circle(
    degrees: list[float], tau: float, labels: list[int], block: int
) -> None:
    assert alg.components(on_circle(degrees), tau, block=block).tolist() == labels


@pytest.mark.parametrize(("seed", "tau"), [(0, 0.3), (1, 0.5), (2, 0.2)])
def test_components_match_union_find(seed: int, tau: float) -> None:
    x = alg.unit_rows(gaussian(60, 4, seed))
    assert alg.components(x, tau, block=16).tolist() == brute_components(x, tau)


# ---------------------------------------------------------------------------- k-means


def blobs(sizes: list[int], seed: int = 0) -> tuple[Floats, list[int]]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [0.0, 50.0, 0.0], [0.0, 0.0, 50.0]])
    points, truth = [], []
    for b, size in enumerate(sizes):
        points.append(centres[b] + rng.normal(scale=0.5, size=(size, 3)))
        truth += [b] * size
    return np.concatenate(points), truth


def test_kmeans_keeps_the_run_of_least_inertia() -> None:
    x = alg.unit_rows(gaussian(300, 6, 11))

    def inertia(labels: npt.NDArray[np.intp]) -> float:
        return float(sum(((x[labels == j] - x[labels == j].mean(0)) ** 2).sum() for j in range(5)))

    best = inertia(alg.kmeans(x, 5, seed=2026, n_init=10))
    singles = [inertia(alg.kmeans(x, 5, seed=s, n_init=1)) for s in range(10)]
    assert best <= min(singles) + 1e-6 or best <= np.median(singles)
    assert alg.kmeans(x, 5, seed=2026, n_init=10).tolist() == alg.kmeans(x, 5, 2026, 10).tolist()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kmeans_recovers_well_separated_blobs_labelled_by_size(seed: int) -> None:
    x, truth = blobs([10, 30, 20])
    order = np.random.default_rng(seed + 10).permutation(len(x))
    labels = alg.kmeans(x[order], 3, seed=seed)
    by_size = {1: 0, 2: 1, 0: 2}  # blob 1 is the largest (30), then blob 2 (20), blob 0 (10)
    assert labels.tolist() == [by_size[truth[i]] for i in order]


def test_kmeans_breaks_size_ties_by_first_member() -> None:
    x, truth = blobs([15, 15, 15, 15], seed=4)
    order = np.random.default_rng(7).permutation(len(x))
    labels = alg.kmeans(x[order], 4, seed=0)
    first_seen = list(dict.fromkeys(truth[i] for i in order))
    assert labels.tolist() == [first_seen.index(truth[i]) for i in order]


def test_kmeans_is_deterministic_for_a_seed() -> None:
    x = alg.unit_rows(gaussian(150, 5, 9))
    assert alg.kmeans(x, 5, seed=0).tolist() == alg.kmeans(x, 5, seed=0).tolist()
    assert sorted(set(alg.kmeans(x, 5, seed=0).tolist())) == [0, 1, 2, 3, 4]


def test_kmeans_labels_are_ordered_by_cluster_size() -> None:
    x = alg.unit_rows(gaussian(150, 5, 9))
    sizes = np.bincount(alg.kmeans(x, 5, seed=1), minlength=5).tolist()
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) == 150


# ---------------------------------------------------------------------------- MMD


def direct_mmd2(x: Floats, train: list[int], test: list[int], bandwidth: float) -> float:
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * bandwidth**2))
    return float(
        kernel[np.ix_(train, train)].mean()
        + kernel[np.ix_(test, test)].mean()
        - 2 * kernel[np.ix_(train, test)].mean()
    )


def test_mmd2_is_zero_for_the_same_set_and_small_for_one_distribution() -> None:
    x = gaussian(200, 3, 0)
    everything = np.arange(200)
    halves = (np.arange(0, 200, 2), np.arange(1, 200, 2))
    same, halved = alg.mmd2(x, [(everything, everything), halves], bandwidth=1.5)
    assert abs(same) < 1e-6
    assert 0.0 <= halved < 0.06  # the biased estimate of two samples of 100: about 2/100


def test_mmd2_is_larger_for_shifted_distributions() -> None:
    x = np.concatenate([gaussian(100, 3, 1), gaussian(100, 3, 2) + 2.0])
    mixed = (np.arange(0, 200, 2), np.arange(1, 200, 2))
    shifted = (np.arange(100), np.arange(100, 200))
    near, far = alg.mmd2(x, [mixed, shifted], bandwidth=1.5)
    assert far > 0.2
    assert far > 20 * near


@pytest.mark.parametrize("block", [7, 64, 1024])
def test_mmd2_matches_the_kernel_matrix_for_any_block(block: int) -> None:
    x = gaussian(60, 4, 3)
    train, test = list(range(0, 45)), list(range(45, 60))
    other_train, other_test = list(range(15, 60)), list(range(15))
    got = alg.mmd2(
        x,
        [(np.array(train), np.array(test)), (np.array(other_train), np.array(other_test))],
        bandwidth=2.0,
        block=block,
    )
    assert got[0] == pytest.approx(direct_mmd2(x, train, test, 2.0), abs=1e-5)
    assert got[1] == pytest.approx(direct_mmd2(x, other_train, other_test, 2.0), abs=1e-5)


def test_rbf_features_bandwidth_is_the_median_distance_rule() -> None:
    x = gaussian(80, 4, 6)
    features, bandwidth = alg.rbf_features(x, seed=0, n_features=64)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    assert bandwidth == pytest.approx(float(np.sqrt(np.median(d2[d2 > 0]) / 2.0)))
    assert features.shape == (80, 64)
    again, _ = alg.rbf_features(x, seed=0, n_features=64)
    assert np.array_equal(features, again)


# ---------------------------------------------------------------------------- tau split

TAU_CASES = [
    (120, 8, ["A"] * 80 + ["B"] * 40, 0),
    (120, 8, ["A"] * 80 + ["B"] * 40, 1),
    (90, 16, ["LAION", "THINGS", "NSD"] * 30, 0),
    (60, 4, ["only"] * 60, 2),
]


@pytest.mark.parametrize(("n", "dim", "strata", "seed"), TAU_CASES)
def test_tau_split_keeps_every_test_item_tau_away_from_training(
    n: int, dim: int, strata: list[str], seed: int
) -> None:
    raw = gaussian(n, dim, seed + 20)
    found = alg.tau_split(raw, strata, seed=seed)
    test = found.test.tolist()
    train = [i for i in range(n) if i not in set(test)]
    assert len(test) == alg.n_test_of(n)
    assert test == sorted(set(test))
    assert brute_cosine(raw[test], raw[train]).min() >= found.tau
    assert found.tau > 0.0
    assert found.tau_quantile in alg.QUANTILES
    assert found.bandwidth > 0.0
    assert 1 <= found.n_components <= n


def test_tau_split_takes_the_test_size_it_is_given() -> None:
    found = alg.tau_split(gaussian(100, 8, 21), ["A"] * 100, seed=0, n_test=23)
    assert len(found.test) == 23 and found.percentile == 100 * found.tau_quantile


@pytest.mark.parametrize(("n", "dim", "strata", "seed"), TAU_CASES)
def test_tau_split_gives_each_stratum_its_share(
    n: int, dim: int, strata: list[str], seed: int
) -> None:
    found = alg.tau_split(gaussian(n, dim, seed + 20), strata, seed=seed)
    n_test = alg.n_test_of(n)
    for group in set(strata):
        share = sum(s == group for s in strata) / n
        taken = sum(strata[i] == group for i in found.test.tolist())
        assert abs(taken - share * n_test) <= 1, group


def test_tau_split_leaves_the_largest_component_in_training() -> None:
    raw = gaussian(120, 8, 20)
    found = alg.tau_split(raw, ["A"] * 120, seed=0)
    labels = alg.components(alg.unit_rows(raw), found.tau)
    ids, counts = np.unique(labels, return_counts=True)
    biggest = int(ids[np.argmax(counts)])
    assert biggest not in set(labels[found.test].tolist())


def test_tau_split_is_deterministic_for_a_seed() -> None:
    raw = gaussian(100, 8, 30)
    strata = ["A", "B"] * 50
    first, second = alg.tau_split(raw, strata, seed=3), alg.tau_split(raw, strata, seed=3)
    assert first.test.tolist() == second.test.tolist()
    assert (first.tau, first.mmd2, first.bandwidth) == (second.tau, second.mmd2, second.bandwidth)


def test_tau_split_of_scaled_vectors_is_the_same() -> None:
    raw = gaussian(100, 8, 31)
    strata = ["A"] * 100
    scaled = raw * np.linspace(0.5, 3.0, 100)[:, None]
    assert alg.tau_split(raw, strata).test.tolist() == alg.tau_split(scaled, strata).test.tolist()


# ---------------------------------------------------------------------------- the split script


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("shared_4rep_OOD_shape_000.png", "shape"),
        ("shared_4rep_OOD_illusion-classic_003.jpg", "illusion-classic"),
        ("shared_4rep_OOD_gabor_9.png", "gabor"),
    ],
)
def test_ood_type_is_the_word_after_the_prefix(name: str, kind: str) -> None:
    assert ood_type(name) == kind


def metadata() -> pd.DataFrame:
    rows = [
        ("shared_12rep_LAION_cluster_3_i0.jpg", "LAION", "shared", "shared"),
        ("shared_12rep_THINGS+_kmeans_1_bat2.jpg", "THINGSplus", "shared", "shared"),
        ("shared_4rep_OOD_shape_000.png", "OOD", "shared", "shared"),
        ("shared_4rep_NSD_special100_7.jpg", "NSD", "shared", "shared"),
        ("unique_LAION_initial_cluster_4_i0_p04.jpg", "LAION", "sub-03", "unique"),
        ("unique_THINGS_toy_kettle_p01.jpg", "THINGS", "sub-01", "unique"),
        ("unique_LAION_new_cluster_9_i2_p01.jpg", "LAION", "sub-01", "unique"),
        ("unique_THINGS+_ferry3_p02.jpg", "THINGSplus", "sub-06", "unique"),
    ]
    return pd.DataFrame(rows, columns=["image_name", "dataset", "participant", "unique_or_shared"])


def test_pools_take_owners_from_the_code_table_and_sort_names() -> None:
    shared = sorted(
        [
            "shared_12rep_LAION_cluster_3_i0.jpg",
            "shared_12rep_THINGS+_kmeans_1_bat2.jpg",
            "shared_4rep_NSD_special100_7.jpg",
        ]
    )
    sub01 = ["unique_LAION_new_cluster_9_i2_p01.jpg", "unique_THINGS_toy_kettle_p01.jpg"]
    assert pools(metadata()) == {
        "shared": shared,
        "sub-01": sorted([*shared, *sub01]),
        "sub-03": sorted([*shared, "unique_LAION_initial_cluster_4_i0_p04.jpg"]),  # p04
        "sub-06": sorted([*shared, "unique_THINGS+_ferry3_p02.jpg"]),  # p02
        "pooled": sorted(
            [
                *shared,
                *sub01,
                "unique_LAION_initial_cluster_4_i0_p04.jpg",
                "unique_THINGS+_ferry3_p02.jpg",
            ]
        ),
    }


def test_pools_refuse_a_participant_that_contradicts_the_code() -> None:
    table = metadata()
    table.loc[4, "participant"] = "sub-04"  # p04 is sub-03, not sub-04
    with pytest.raises(ValueError, match="participant sub-04 in the metadata, sub-03 by its code"):
        pools(table)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(0.123456789, 0.123457), (123456789.0, 123457000.0), (1e-9, 1e-9), (0.5, 0.5)],
)
def test_round_keeps_six_significant_digits(value: float, rounded: float) -> None:
    assert _round(value) == rounded


def test_split_keeps_the_pool_order_on_both_sides() -> None:
    out = _split("x", "a label", "random", {"seed": 0}, ["d", "a", "c", "b"], {"c", "d"})
    assert out["variants"] == [{"variant_id": 0, "train_ids": ["a", "b"], "test_ids": ["d", "c"]}]
    assert (out["n_train"], out["n_test"]) == (2, 2)
    assert (out["name"], out["pool"], out["splitter"]) == ("x", "a label", "random")


def _pool_inputs() -> tuple[list[str], dict[str, Any], pd.DataFrame, list[str]]:
    ids = sorted(f"unique_LAION_initial_cluster_{i}_i0_p01.jpg" for i in range(60))
    vectors = {name: v for name, v in zip(ids, gaussian(60, 6, 40), strict=True)}
    vectors[ids[7]] = vectors[ids[3]].copy()  # a duplicate image
    table = pd.DataFrame({"image_name": ids, "dataset": ["LAION", "THINGS"] * 30})
    ood = ["shared_4rep_OOD_gabor_001.png", "shared_4rep_OOD_shape_000.png"]
    return ids, vectors, table, ood


def test_pool_splits_follow_the_published_algorithms_and_params() -> None:
    ids, vectors, table, ood = _pool_inputs()
    splits = pool_splits("sub-01", ids, vectors, table, ood)
    assert [s["name"] for s in splits] == SPLIT_NAMES
    order = np.random.default_rng(42).permutation(60)
    folds = [sorted(ids[j] for j in fold) for fold in np.array_split(order, 5)]
    together = [f for f in folds if (ids[3] in f) != (ids[7] in f)]
    for i, split in enumerate(splits[:K_FOLDS]):
        assert split["splitter"] == "random_kfold"
        assert {k: split["params"][k] for k in ("method", "k", "seed", "fold", "revision")} == {
            "method": "shuffled_5fold_cv",
            "k": 5,
            "seed": 42,
            "fold": i,
            "revision": 2,
        }
        test = split["variants"][0]["test_ids"]
        assert (ids[3] in test) == (ids[7] in test)  # the duplicates share a fold
        if not together:
            assert test == folds[i]
    assert splits[0]["params"]["n_moved"] == (2 if together else 0)
    for split in splits[:-1]:
        variant: dict[str, Any] = split["variants"][0]
        assert sorted(variant["train_ids"] + variant["test_ids"]) == ids, split["name"]
        assert not set(variant["train_ids"]) & set(variant["test_ids"]), split["name"]
    clusters = splits[K_FOLDS : K_FOLDS + K]
    assert sum(s["n_test"] for s in clusters) == 60
    assert {s["splitter"] for s in clusters} == {"kmeans_cluster_holdout"}
    assert clusters[2]["params"] == {
        "method": "kmeans_clip_k5_holdout",
        "feature_space": "CLIP",
        "n_clusters": 5,
        "seed": 2026,
        "n_init": 10,
        "held_out_cluster": 2,
    }
    tau = splits[-2]
    assert tau["splitter"] == "min_nn_stochastic" and tau["n_test"] == 12
    assert {"tau", "percentile", "mmd2"} <= set(tau["params"]["adaptive_selection"])
    ood_split = splits[-1]
    assert ood_split["splitter"] == "ood_holdout"
    assert ood_split["params"] == {"method": "ood_dataset_holdout", "ood_types": ["gabor", "shape"]}
    assert ood_split["variants"][0]["test_ids"] == ood
    assert ood_split["variants"][0]["train_ids"] == ids


def test_shared_random_splits_have_no_revision_and_pooled_has_six_splits() -> None:
    ids, vectors, table, ood = _pool_inputs()
    shared = pool_splits("shared", ids, vectors, table, ood)
    assert "revision" not in shared[0]["params"]
    pooled = pool_splits("pooled", ids, vectors, table, ood)
    assert [s["name"] for s in pooled] == POOLED_SPLITS
    sub05 = pool_splits("sub-05", ids, vectors, table, ood)
    assert sub05[K_FOLDS]["params"]["n_init"] == 5  # upstream's restarts for sub-05
