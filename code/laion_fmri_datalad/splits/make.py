"""The split script: the published split set (DESIGN §2.10) regenerated from the bucket.

    python code/make_splits.py --metadata stimuli/task-images_metadata.csv \\
        --embeddings stimuli/task-images_desc-CLIP_embeddings.h5 \\
        --out derivatives/splits/regenerated

Pools: ``shared`` (the regular shared images, OOD excluded), one per subject (those plus
the subject's unique images, whose owner comes from the ``pNN`` code table of
``imagenames``), and ``pooled`` (the regular images of all subjects). Splits, with
upstream's splitter names and parameters:

* ``random_0..4`` (``random_kfold``): the folds of one shuffled 5-fold partition of the
  sorted pool (seed 42); fold i is the test set. Subject pools are revision 2: duplicate
  images (identical CLIP embeddings) are kept in one fold.
* ``cluster_k5_0..4`` (``kmeans_cluster_holdout``): k-means (k 5, seed 2026, n_init 10;
  5 for sub-05, as upstream) on the pool's unit-normalised CLIP embeddings; cluster i held
  out. Clusters are numbered by size, largest 0.
* ``tau`` (``min_nn_stochastic``): see :func:`algorithms.tau_split`.
* ``ood`` (``ood_holdout``): train the whole regular pool, test every OOD image; the
  types are listed in ``params.ood_types`` and filtered at load time.

``pooled`` has ``tau`` and ``cluster_k5_0..4`` only. Writes ``<out>/<pool>/<name>.json``
(``{name, pool, splitter, params, n_train, n_test, variants}``, ``pool`` a descriptive
label, image names sorted). Deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..layout.imagenames import PARTICIPANT_CODES, ood_type, owner_of
from . import algorithms as alg

K_FOLDS = 5
RANDOM_SEED = 42
K = 5
KMEANS_SEED = 2026
KMEANS_N_INIT = 10
KMEANS_N_INIT_BY_POOL = {"sub-05": 5}  # upstream's split construction (its split scripts)
TAU_SEED = 0
RANDOM_NAMES = [f"random_{i}" for i in range(K_FOLDS)]
CLUSTER_NAMES = [f"cluster_k{K}_{i}" for i in range(K)]
SPLIT_NAMES = [*RANDOM_NAMES, *CLUSTER_NAMES, "tau", "ood"]
POOLED = "pooled"
POOLED_SPLITS = [*CLUSTER_NAMES, "tau"]
SUBJECT_POOLS = sorted(PARTICIPANT_CODES.values())
POOLS = ["shared", *SUBJECT_POOLS, POOLED]
REVISION_RULE = "duplicates (identical CLIP embeddings) kept in one fold"
TAU_METHOD = "min_nn_components + greedy_mmd"


def splits_of(pool: str) -> list[str]:
    """The split names a pool has."""
    return POOLED_SPLITS if pool == POOLED else SPLIT_NAMES


def is_ood(name: str, dataset: str) -> bool:
    return dataset == "OOD" or ood_type(name) is not None


def pools(metadata: pd.DataFrame) -> dict[str, list[str]]:
    """Each pool's image names, sorted: ``shared``, the subjects, ``pooled``."""
    rows = list(zip(metadata["image_name"], metadata["dataset"], strict=True))
    regular = [name for name, dataset in rows if not is_ood(str(name), str(dataset))]
    shared = sorted(n for n in regular if owner_of(n) is None)
    owned: dict[str, list[str]] = {}
    for name in regular:
        owner = owner_of(name)
        if owner is not None:
            owned.setdefault(owner, []).append(name)
    _check_participants(metadata)
    result = {"shared": shared}
    for subject in sorted(owned):
        result[subject] = sorted(shared + owned[subject])
    if owned:
        result[POOLED] = sorted(regular)
    return result


def _check_participants(metadata: pd.DataFrame) -> None:
    """A metadata row naming a subject other than the one its ``pNN`` code gives is an
    error: the pools would disagree with the trial tables."""
    if "participant" not in metadata.columns:
        return
    for name, participant in zip(metadata["image_name"], metadata["participant"], strict=True):
        owner = owner_of(str(name))
        given = str(participant)
        if owner is not None and given.startswith("sub-") and given != owner:
            raise ValueError(f"{name!r}: participant {given} in the metadata, {owner} by its code")


def ood_images(metadata: pd.DataFrame) -> list[str]:
    rows = zip(metadata["image_name"], metadata["dataset"], strict=True)
    return sorted(str(name) for name, dataset in rows if is_ood(str(name), str(dataset)))


def pool_label(pool: str, n: int) -> str:
    """The descriptive ``pool`` field (the directory is the pool id)."""
    if pool == "shared":
        return f"shared regular images, OOD excluded ({n} images)"
    if pool == POOLED:
        return f"pooled regular images of all subjects ({n} images)"
    return f"{pool} full pool ({n} images: shared regular + {pool}'s unique)"


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _split(
    name: str, label: str, splitter: str, params: dict[str, Any], ids: list[str], test: set[str]
) -> dict[str, Any]:
    train_ids = [i for i in ids if i not in test]
    test_ids = [i for i in ids if i in test]
    return {
        "name": name,
        "pool": label,
        "splitter": splitter,
        "params": params,
        "n_train": len(train_ids),
        "n_test": len(test_ids),
        "variants": [{"variant_id": 0, "train_ids": train_ids, "test_ids": test_ids}],
    }


def random_splits(
    pool: str, ids: list[str], vectors: dict[str, np.ndarray], label: str
) -> list[dict[str, Any]]:
    folds = alg.kfold_partition(len(ids), K_FOLDS, RANDOM_SEED)
    extra: dict[str, Any] = {}
    if pool in SUBJECT_POOLS:
        group = _duplicate_groups(ids, vectors)
        folds, moved = alg.keep_duplicates_together(folds, group)
        extra = {"revision": 2, "revision_rule": REVISION_RULE, "n_moved": moved}
    out = []
    for i, fold in enumerate(folds):
        params = {"method": "shuffled_5fold_cv", "k": K_FOLDS, "seed": RANDOM_SEED, "fold": i}
        test = {ids[j] for j in fold.tolist()}
        out.append(_split(f"random_{i}", label, "random_kfold", {**params, **extra}, ids, test))
    return out


def _duplicate_groups(ids: list[str], vectors: dict[str, np.ndarray]) -> alg.Ints:
    """Per image, the first image with an identical CLIP embedding (itself when none;
    images without a valid embedding have no duplicate)."""
    group = np.arange(len(ids), dtype=np.intp)
    embedded = [j for j, name in enumerate(ids) if name in vectors]
    if embedded:
        found = alg.duplicate_groups(np.array([vectors[ids[j]] for j in embedded]))
        group[embedded] = np.asarray(embedded, dtype=np.intp)[found]
    return group


def cluster_splits(
    pool: str, ids: list[str], embedded: list[str], x: alg.Floats, label: str
) -> list[dict[str, Any]]:
    n_init = KMEANS_N_INIT_BY_POOL.get(pool, KMEANS_N_INIT)
    labels = alg.kmeans(x, K, seed=KMEANS_SEED, n_init=n_init)
    out = []
    for c in range(K):
        params: dict[str, Any] = {
            "method": "kmeans_clip_k5_holdout",
            "feature_space": "CLIP",
            "n_clusters": K,
            "seed": KMEANS_SEED,
            "n_init": n_init,
            "held_out_cluster": c,
        }
        if len(ids) > len(embedded):
            params["no_embedding_in_train"] = len(ids) - len(embedded)
        test = {embedded[j] for j in np.flatnonzero(labels == c).tolist()}
        out.append(_split(f"cluster_k{K}_{c}", label, "kmeans_cluster_holdout", params, ids, test))
    return out


def tau_split(
    ids: list[str], embedded: list[str], x: alg.Floats, dataset_of: dict[str, str], label: str
) -> dict[str, Any]:
    strata = [dataset_of[i] for i in embedded]
    found = alg.tau_split(x, strata, seed=TAU_SEED, n_test=alg.n_test_of(len(ids)))
    params: dict[str, Any] = {
        "method": TAU_METHOD,
        "criterion": "MMD-matched greedily, balanced by dataset",
        "adaptive_selection": {
            "criterion": "largest_feasible_percentile",
            "tier": "balanced",
            "tau": _round(found.tau),
            "percentile": found.percentile,
            "mmd2": _round(found.mmd2),
            "mmd2_random": _round(found.mmd2_random_split),
            "ratio_to_random": _round(found.mmd2 / found.mmd2_random_split)
            if found.mmd2_random_split > 0
            else None,
        },
        "metric": "cosine",
        "feature_space": "CLIP",
        "kernel": "rbf",
        "bandwidth": _round(found.bandwidth),
        "n_components": found.n_components,
        "seed": TAU_SEED,
        "test_fraction": alg.TEST_FRACTION,
    }
    if len(ids) > len(embedded):
        params["no_embedding_in_train"] = len(ids) - len(embedded)
    test = {embedded[j] for j in found.test.tolist()}
    return _split("tau", label, "min_nn_stochastic", params, ids, test)


def ood_split(ids: list[str], ood: list[str], label: str) -> dict[str, Any]:
    types = sorted({t for t in map(ood_type, ood) if t is not None})
    params = {"method": "ood_dataset_holdout", "ood_types": types}
    return _split("ood", label, "ood_holdout", params, sorted(ids + ood), set(ood))


def pool_splits(
    pool: str,
    ids: list[str],
    vectors: dict[str, np.ndarray],
    metadata: pd.DataFrame,
    ood: list[str],
) -> list[dict[str, Any]]:
    """The splits of one pool, in :func:`splits_of` order."""
    label = pool_label(pool, len(ids))
    embedded = [i for i in ids if i in vectors]
    x = alg.unit_rows(np.array([vectors[i] for i in embedded]))
    dataset_of = {
        str(n): str(d) for n, d in zip(metadata["image_name"], metadata["dataset"], strict=True)
    }
    out = [] if pool == POOLED else random_splits(pool, ids, vectors, label)
    out += cluster_splits(pool, ids, embedded, x, label)
    out.append(tau_split(ids, embedded, x, dataset_of, label))
    if pool != POOLED:
        out.append(ood_split(ids, ood, label))
    return out


def read_embeddings(path: Path) -> dict[str, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as h5:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_ids"][()]]
        values = np.asarray(h5["embedding"][()], dtype=np.float64)
        valid = np.asarray(h5["valid"][()], dtype=bool)
    return {n: v for n, v, ok in zip(names, values, valid, strict=True) if ok}


def json_text(data: dict[str, Any]) -> str:
    """Upstream's layout: two-space indentation and a final newline."""
    return json.dumps(data, indent=2) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json_text(data))
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    metadata = pd.read_csv(args.metadata)
    vectors = read_embeddings(args.embeddings)
    ood = ood_images(metadata)
    for pool, ids in pools(metadata).items():
        splits = pool_splits(pool, ids, vectors, metadata, ood)
        for split in splits:
            write_json(args.out / pool / f"{split['name']}.json", split)
        print(f"{pool}: {len(ids)} images, {len(splits)} splits", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
