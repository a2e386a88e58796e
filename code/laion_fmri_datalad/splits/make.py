"""The split script: twelve train/test splits for each of the six pools, as JSON.

    python code/make_splits.py --metadata stimuli/task-images_metadata.csv \\
        --embeddings stimuli/task-images_desc-CLIP_embeddings.h5 --out derivatives/splits

Pools: ``shared`` (the shared images that are not OOD) and each subject's full pool (those
plus the subject's unique images). Splits: ``random_0..4`` (seeded 80/20),
``cluster_k5_0..4`` (k-means, k=5, on the pool's CLIP embeddings; cluster i held out),
``tau`` (see :func:`algorithms.tau_split`) and ``ood`` (the OOD shared images as test, with
their types). Writes ``<out>/<pool>/<name>.json`` in upstream's schema. Deterministic: the
same inputs give byte-identical files.
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

from . import algorithms as alg

N_RANDOM = 5
K = 5
KMEANS_SEED = 0
TAU_SEED = 0
SPLIT_NAMES = (
    [f"random_{i}" for i in range(N_RANDOM)]
    + [f"cluster_k{K}_{i}" for i in range(K)]
    + ["tau", "ood"]
)
OOD_PREFIX = "shared_4rep_OOD_"


def ood_type(name: str) -> str:
    return name.removeprefix(OOD_PREFIX).split("_", 1)[0]


def pools(metadata: pd.DataFrame) -> dict[str, list[str]]:
    shared = metadata[(metadata["unique_or_shared"] == "shared") & (metadata["dataset"] != "OOD")]
    result = {"shared": shared["image_name"].tolist()}
    for subject in sorted(p for p in metadata["participant"].unique() if p.startswith("sub-")):
        own = metadata[metadata["participant"] == subject]["image_name"].tolist()
        result[subject] = result["shared"] + own
    return result


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _split(name: str, pool: str, splitter: str, params: dict[str, Any], ids: list[str],
           test: set[str]) -> dict[str, Any]:  # fmt: skip
    train_ids = [i for i in ids if i not in test]
    test_ids = [i for i in ids if i in test]
    return {
        "name": name,
        "pool": pool,
        "splitter": splitter,
        "params": params,
        "n_train": len(train_ids),
        "n_test": len(test_ids),
        "variants": [{"variant_id": 0, "train_ids": train_ids, "test_ids": test_ids}],
    }


def pool_splits(pool: str, ids: list[str], vectors: dict[str, np.ndarray], metadata: pd.DataFrame,
                ood: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """The twelve splits of one pool."""
    out = []
    params: dict[str, Any]
    for i in range(N_RANDOM):
        test = {ids[j] for j in alg.random_split(len(ids), seed=i)}
        params = {"seed": i, "test_fraction": alg.TEST_FRACTION}
        out.append(_split(f"random_{i}", pool, "random", params, ids, test))
    embedded = [i for i in ids if i in vectors]
    x = alg.unit_rows(np.array([vectors[i] for i in embedded]))
    labels = alg.kmeans(x, K, seed=KMEANS_SEED)
    sizes = [int(s) for s in np.bincount(labels, minlength=K)]
    for c in range(K):
        test = {embedded[j] for j in np.flatnonzero(labels == c)}
        params = {
            "k": K, "held_out_cluster": c, "seed": KMEANS_SEED, "embedding": "CLIP",
            "features": "unit-normalised", "cluster_sizes": sizes,
            "no_embedding_in_train": len(ids) - len(embedded),
        }  # fmt: skip
        out.append(_split(f"cluster_k{K}_{c}", pool, "kmeans", params, ids, test))
    dataset_of = dict(zip(metadata["image_name"], metadata["dataset"], strict=True))
    found = alg.tau_split(x, [str(dataset_of[i]) for i in embedded], seed=TAU_SEED)
    params = {
        "tau": _round(found.tau), "tau_quantile": found.tau_quantile,
        "metric": "cosine", "embedding": "CLIP", "mmd2": _round(found.mmd2),
        "mmd2_random_split": _round(found.mmd2_random_split),
        "kernel": "rbf", "bandwidth": _round(found.bandwidth), "balanced_by": "dataset",
        "n_components": found.n_components, "seed": TAU_SEED,
        "test_fraction": alg.TEST_FRACTION, "no_embedding_in_train": len(ids) - len(embedded),
    }  # fmt: skip
    out.append(_split("tau", pool, "tau", params, ids, {embedded[j] for j in found.test}))
    types = {name: ood_type(name) for name in ood}
    counts = {t: sum(1 for v in types.values() if v == t) for t in sorted(set(types.values()))}
    ood_split = _split(
        "ood", pool, "ood", {"types": counts, "test_types": types}, ids + ood, set(ood)
    )
    out.append(ood_split)
    return out


def read_embeddings(path: Path) -> dict[str, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as h5:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_ids"][()]]
        values = np.asarray(h5["embedding"][()], dtype=np.float64)
        valid = np.asarray(h5["valid"][()], dtype=bool)
    return {n: v for n, v, ok in zip(names, values, valid, strict=True) if ok}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    metadata = pd.read_csv(args.metadata)
    vectors = read_embeddings(args.embeddings)
    ood = metadata[metadata["dataset"] == "OOD"]["image_name"].tolist()
    for pool, ids in pools(metadata).items():
        for split in pool_splits(pool, ids, vectors, metadata, ood):
            write_json(args.out / pool / f"{split['name']}.json", split)
        print(f"{pool}: {len(ids)} images, {len(SPLIT_NAMES)} splits", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
