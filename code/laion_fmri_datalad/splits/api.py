"""Reading the splits of a clone (upstream's ``laion_fmri.splits`` names and semantics).

The ``derivatives/splits`` subdataset holds two split sets side by side, each as
``<set>/<pool>/<split>.json``:

* ``published/``: the files the dataset's authors publish, imported with
  ``laion-fmri-datalad splits import`` (annexed, SHA256 keys, their source recorded);
* ``regenerated/``: made from the bucket by ``code/make_splits.py`` under ``datalad run``
  (in git).

``source="auto"`` (the default) reads the published set when the clone has one and the
regenerated set otherwise; ``"published"`` and ``"regenerated"`` ask for one. A clone made
before the two sets existed has its regenerated files directly under
``derivatives/splits/<pool>/``; they are read as the regenerated set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..checks.choices import unknown
from ..errors import LaionFmriError, UsageError
from ..layout.discovery import find_superdataset
from ..layout.imagenames import ood_type, owner_of
from ..layout.names import SPLITS
from ..loaders.clone.content import Content

PUBLISHED = "published"
REGENERATED = "regenerated"
SOURCES = ("auto", PUBLISHED, REGENERATED)
SPLIT_ORDER = (
    [f"random_{i}" for i in range(5)] + [f"cluster_k5_{i}" for i in range(5)] + ["tau", "ood"]
)
Dataset = str | os.PathLike[str] | None
OodTypes = str | Iterable[str] | None


class SplitFormatError(LaionFmriError, ValueError):
    """A split file that is not in the published format."""


@dataclass(frozen=True)
class SplitVariant:
    variant_id: int
    train_ids: list[str]
    test_ids: list[str]

    def all_ids(self) -> list[str]:
        """Train then test image names."""
        return [*self.train_ids, *self.test_ids]


@dataclass(frozen=True)
class Split:
    """One split of one pool. ``pool`` is the pool id (the directory, e.g. ``sub-03``);
    ``label`` is the file's descriptive ``pool`` text; ``source`` the set it came from."""

    name: str
    pool: str
    splitter: str
    params: dict[str, Any]
    n_train: int
    n_test: int
    variants: list[SplitVariant]
    label: str = ""
    source: str = ""

    @property
    def split_family(self) -> str:
        """``random``, ``cluster_k5``, ``tau`` or ``ood``."""
        return self.name.rsplit("_", 1)[0] if self.name[-1].isdigit() else self.name

    @property
    def ood_types(self) -> list[str]:
        """The OOD types of an ``ood`` split: ``params.ood_types`` (older files: the keys of
        ``params.types``), else the types in the test images' names."""
        listed = self.params.get("ood_types")
        if listed is None and isinstance(self.params.get("types"), dict):
            listed = list(self.params["types"])
        if listed is None:
            listed = {t for v in self.variants for t in map(ood_type, v.test_ids) if t}
        return sorted(str(t) for t in listed)


def parse_split(data: Any, pool: str, source: str = "", where: str = "") -> Split:
    """A split from a file's JSON (compact or indented, any descriptive ``pool`` label)."""
    where = where or f"{pool} split"
    if not isinstance(data, dict):
        raise SplitFormatError(f"{where}: not a JSON object")
    missing = [k for k in ("name", "variants") if k not in data]
    if missing:
        raise SplitFormatError(f"{where}: no {', '.join(missing)} field")
    variants = []
    for v in data["variants"]:
        try:
            train, test = [str(i) for i in v["train_ids"]], [str(i) for i in v["test_ids"]]
            variants.append(SplitVariant(int(v.get("variant_id", 0)), train, test))
        except (KeyError, TypeError, ValueError) as exc:
            raise SplitFormatError(f"{where}: a variant without {exc}") from None
    if not variants:
        raise SplitFormatError(f"{where}: no variants")
    first = variants[0]
    return Split(
        name=str(data["name"]),
        pool=pool,
        splitter=str(data.get("splitter", "")),
        params=dict(data.get("params") or {}),
        n_train=int(data.get("n_train", len(first.train_ids))),
        n_test=int(data.get("n_test", len(first.test_ids))),
        variants=variants,
        label=str(data.get("pool", "")),
        source=source,
    )


def read_split(path: str | os.PathLike[str], source: str = "") -> Split:
    """One split file; its directory is the pool."""
    if not isinstance(path, str | os.PathLike):
        raise UsageError(f"path {path!r} is not allowed; give the path of a split file")
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SplitFormatError(f"{path}: not readable as JSON: {exc}") from None
    split = parse_split(data, path.parent.name, source, str(path))
    if split.name != path.stem:
        raise SplitFormatError(f"{path}: names split {split.name!r}, not {path.stem!r}")
    return split


def _pool_order(pool: str) -> tuple[int, str]:
    """Upstream's order: ``shared``, the subjects, ``pooled``, then anything else."""
    rank = 0 if pool == "shared" else 1 if pool.startswith("sub-") else 2 if pool == "pooled" else 3
    return rank, pool


def pools_in(directory: Path) -> list[str]:
    """The pool directories of one split set (those holding ``*.json``), in upstream's order
    (``list_pools()``: shared, sub-01 ... sub-07, pooled)."""
    if not directory.is_dir():
        return []
    found = [
        p.name
        for p in directory.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.json"))
    ]
    return sorted(found, key=_pool_order)


def set_directory(splits_root: Path, source: str) -> Path:
    """Where a set lives (the older layout: the regenerated set at the top)."""
    older = source == REGENERATED and not pools_in(splits_root / REGENERATED)
    if older and "shared" in pools_in(splits_root):
        return splits_root
    return splits_root / source


def resolve_source(splits_root: Path, source: str) -> str:
    """``auto`` -> ``published`` when present, else ``regenerated``; a set asked for that
    is absent is an error saying how to get it."""
    if source not in SOURCES:
        raise unknown("split source", source, list(SOURCES))
    if source == "auto":
        return PUBLISHED if pools_in(splits_root / PUBLISHED) else REGENERATED
    if not pools_in(set_directory(splits_root, source)):
        how = (
            "import them with `laion-fmri-datalad splits import SOURCE`"
            if source == PUBLISHED
            else "make them with `laion-fmri-datalad splits make`"
        )
        raise UsageError(f"no {source} splits in {splits_root}; {how}")
    return source


class SplitSet:
    """One set of a clone's splits: its pools, its files (content fetched on demand)."""

    def __init__(self, dataset: Dataset = None, source: str = "auto", fetch: bool = True):
        self.content = Content(find_superdataset(dataset), fetch=fetch)
        root = self.content.ensure_installed(SPLITS)
        self.source = resolve_source(root, source)
        self.directory = set_directory(root, self.source)

    def pools(self) -> list[str]:
        return pools_in(self.directory)

    def names(self, pool: str) -> list[str]:
        self._check_pool(pool)
        found = {p.stem for p in (self.directory / pool).glob("*.json")}
        return [n for n in SPLIT_ORDER if n in found] + sorted(found - set(SPLIT_ORDER))

    def load(self, name: str, pool: str) -> Split:
        self._check_pool(pool)
        path = self.directory / pool / f"{name}.json"
        if not path.is_symlink() and not path.is_file():
            raise unknown("split", name, self.names(pool))
        self.content.ensure_present([path])
        return read_split(path, self.source)

    def _check_pool(self, pool: str) -> None:
        if pool not in self.pools():
            raise unknown("pool", pool, self.pools())


def list_pools(dataset: Dataset = None, source: str = "auto") -> list[str]:
    return SplitSet(dataset, source).pools()


def list_splits(dataset: Dataset = None, pool: str = "shared", source: str = "auto") -> list[str]:
    """The split names of ``pool`` (``pooled`` has ``cluster_k5_*`` and ``tau`` only)."""
    return SplitSet(dataset, source).names(pool)


def list_ood_types(dataset: Dataset = None, source: str = "auto") -> list[str]:
    return load_split("ood", "shared", dataset, source).ood_types


def load_split(name: str, pool: str, dataset: Dataset = None, source: str = "auto") -> Split:
    return SplitSet(dataset, source).load(name, pool)


def load_all_splits(pool: str, dataset: Dataset = None, source: str = "auto") -> dict[str, Split]:
    """Every split of ``pool``: ``{name: Split}``."""
    found = SplitSet(dataset, source)
    return {name: found.load(name, pool) for name in found.names(pool)}


def _wanted_types(split: Split, ood_types: OodTypes) -> list[str] | None:
    if ood_types is None:
        return None
    if split.name != "ood":
        raise UsageError(f"ood_types applies to the 'ood' split only, not {split.name!r}")
    wanted = [ood_types] if isinstance(ood_types, str) else list(ood_types)
    known = split.ood_types
    for t in wanted:
        if t not in known:
            raise unknown("OOD type", t, known)
    return wanted


def get_train_test_ids(
    name: str,
    pool: str,
    variant_id: int = 0,
    ood_types: OodTypes = None,
    dataset: Dataset = None,
    source: str = "auto",
) -> tuple[list[str], list[str]]:
    """Image names of the train and test sets; ``ood_types`` narrows the ``ood`` test set
    to the images of those types (the type is read from each name)."""
    split = load_split(name, pool, dataset, source)
    found = [v for v in split.variants if v.variant_id == variant_id]
    if not found:
        raise unknown("variant_id", variant_id, [str(v.variant_id) for v in split.variants])
    train, test = list(found[0].train_ids), list(found[0].test_ids)
    wanted = _wanted_types(split, ood_types)
    if wanted is not None:
        test = [i for i in test if ood_type(i) in wanted]
    return train, test


def _labels(trials: Any) -> list[str]:
    if hasattr(trials, "columns"):
        if "label" not in trials.columns:
            raise UsageError("trials has no 'label' column; pass get_trial_info(session)")
        return [str(v) for v in trials["label"]]
    if isinstance(trials, str) or not isinstance(trials, Iterable):
        raise UsageError(
            f"trials {trials!r} is not allowed; pass get_trial_info(session) or a list of labels"
        )
    return [str(v) for v in trials]


def _text(value: object, what: str, example: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{what} {value!r} is not allowed; give a name like {example!r}")
    return value


def get_split_masks(
    trials: Any,
    name: str,
    pool: str,
    variant_id: int = 0,
    ood_types: OodTypes = None,
    dataset: Dataset = None,
    source: str = "auto",
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boolean train and test masks over ``trials`` (a trial table, or labels).

    A subject's pool applies to that subject's trials only (the owner of a unique image
    comes from its ``pNN`` code): trials showing another subject's unique images are an
    error, not an all-False mask."""
    labels = _labels(trials)
    _text(name, "split name", "random_0")
    _text(pool, "pool", "sub-01")
    if pool.startswith("sub-"):
        owners = {owner for owner in map(owner_of, labels) if owner is not None}
        others = sorted(owners - {pool})
        if others:
            raise UsageError(
                f"these trials show unique images of {', '.join(others)}, but pool {pool!r} "
                f"is {pool}'s; use pool {others[0]!r} or 'shared'"
            )
    train, test = get_train_test_ids(name, pool, variant_id, ood_types, dataset, source)
    train_set, test_set = set(train), set(test)
    train_mask = np.array([label in train_set for label in labels], dtype=bool)
    test_mask = np.array([label in test_set for label in labels], dtype=bool)
    if labels and not (train_mask.any() or test_mask.any()):
        raise UsageError(
            f"no trial shows an image of pool {pool!r} (e.g. {labels[0]!r}); "
            "check the pool and the trials"
        )
    return train_mask, test_mask
