"""Reading the splits of a clone (upstream's ``laion_fmri.splits`` names and semantics).

The JSON files live in the ``derivatives/splits`` subdataset, made by ``code/make_splits.py``
under ``datalad run``; they are in git, so installing the subdataset is all it takes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..choices import unknown
from ..errors import UsageError
from ..imagenames import owner_of
from ..loaders.dataset import Content, find_superdataset

SPLITS = "derivatives/splits"
Dataset = str | os.PathLike[str] | None


@dataclass(frozen=True)
class SplitVariant:
    variant_id: int
    train_ids: list[str]
    test_ids: list[str]


@dataclass(frozen=True)
class Split:
    name: str
    pool: str
    splitter: str
    params: dict[str, Any]
    n_train: int
    n_test: int
    variants: list[SplitVariant]

    @property
    def split_family(self) -> str:
        """``random``, ``cluster_k5``, ``tau`` or ``ood``."""
        return self.name.rsplit("_", 1)[0] if self.name[-1].isdigit() else self.name


def _root(dataset: Dataset, fetch: bool = True) -> Path:
    return Content(find_superdataset(dataset), fetch=fetch).ensure_installed(SPLITS)


def list_pools(dataset: Dataset = None) -> list[str]:
    root = _root(dataset)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_splits(dataset: Dataset = None) -> list[str]:
    from .make import SPLIT_NAMES

    names = {p.stem for p in (_root(dataset) / "shared").glob("*.json")}
    return [n for n in SPLIT_NAMES if n in names]


def list_ood_types(dataset: Dataset = None) -> list[str]:
    return sorted(load_split("ood", "shared", dataset).params["types"])


def load_split(name: str, pool: str, dataset: Dataset = None) -> Split:
    root = _root(dataset)
    pools = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if pool not in pools:
        raise unknown("pool", pool, pools)
    path = root / pool / f"{name}.json"
    if not path.is_file():
        raise unknown("split", name, sorted(p.stem for p in (root / pool).glob("*.json")))
    data = json.loads(path.read_text())
    variants = [
        SplitVariant(v["variant_id"], v["train_ids"], v["test_ids"]) for v in data["variants"]
    ]
    return Split(data["name"], data["pool"], data["splitter"], data["params"], data["n_train"],
                 data["n_test"], variants)  # fmt: skip


def get_train_test_ids(
    name: str,
    pool: str,
    variant_id: int = 0,
    ood_types: str | list[str] | None = None,
    dataset: Dataset = None,
) -> tuple[list[str], list[str]]:
    """Image names of the train and test sets; ``ood_types`` narrows the ``ood`` test set."""
    split = load_split(name, pool, dataset)
    found = [v for v in split.variants if v.variant_id == variant_id]
    if not found:
        raise unknown("variant_id", variant_id, [str(v.variant_id) for v in split.variants])
    train, test = list(found[0].train_ids), list(found[0].test_ids)
    if ood_types is not None:
        if split.name != "ood":
            raise UsageError(f"ood_types applies to the 'ood' split only, not {name!r}")
        wanted = [ood_types] if isinstance(ood_types, str) else list(ood_types)
        types: dict[str, str] = split.params["test_types"]
        known = sorted(split.params["types"])
        for t in wanted:
            if t not in known:
                raise unknown("OOD type", t, known)
        test = [i for i in test if types[i] in wanted]
    return train, test


def _labels(trials: Any) -> list[str]:
    if hasattr(trials, "columns"):
        if "label" not in trials.columns:
            raise UsageError("trials has no 'label' column; pass get_trial_info(session)")
        return [str(v) for v in trials["label"]]
    return [str(v) for v in trials]


def get_split_masks(
    trials: Any,
    name: str,
    pool: str,
    variant_id: int = 0,
    ood_types: str | list[str] | None = None,
    dataset: Dataset = None,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boolean train and test masks over ``trials`` (a trial table, or labels).

    A subject's pool applies to that subject's trials only: trials showing another
    subject's unique images are an error, not an all-False mask."""
    labels = _labels(trials)
    if pool.startswith("sub-"):
        owners = {owner for owner in map(owner_of, labels) if owner is not None}
        others = sorted(owners - {pool})
        if others:
            raise UsageError(
                f"these trials show unique images of {', '.join(others)}, but pool {pool!r} "
                f"is {pool}'s; use pool {others[0]!r} or 'shared'"
            )
    train, test = get_train_test_ids(name, pool, variant_id, ood_types, dataset)
    train_set, test_set = set(train), set(test)
    train_mask = np.array([label in train_set for label in labels], dtype=bool)
    test_mask = np.array([label in test_set for label in labels], dtype=bool)
    if labels and not (train_mask.any() or test_mask.any()):
        raise UsageError(
            f"no trial shows an image of pool {pool!r} (e.g. {labels[0]!r}); "
            "check the pool and the trials"
        )
    return train_mask, test_mask
