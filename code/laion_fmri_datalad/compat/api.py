"""Upstream's functions with upstream's signatures, answered from the clone chosen as the data
directory (``datadir.py``): discovery (``inspect_bucket`` from the clone's shipped listings,
nothing installed and no network), downloads (``datalad get``), loaders and splits.

Everything but ``inspect_bucket`` is this package's own API with ``dataset=`` filled in.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..layout.endpoint import recorded_url
from ..loaders.api import discovery
from ..loaders.api.group import Group
from ..loaders.api.group import load_subjects as _load_subjects
from ..loaders.api.stimuli import Stimuli
from ..loaders.api.stimuli import load_stimuli as _load_stimuli
from ..loaders.api.subject import Subject
from ..loaders.api.subject import load_subject as _load_subject
from ..loaders.clone.fetching import FetchSummary
from ..loaders.clone.listed import listed_paths
from ..repo.dataset import registered_subdatasets
from ..splits import api as splits
from .datadir import data_dir

# upstream's inspect_bucket counts the entries under these prefixes
SUBJECT_PREFIXES = ("derivatives/glmsingle-tedana/", "derivatives/rois/")
DEFAULT_BUCKET = "laion-fmri"


def bucket_name(root: Path) -> str:
    """The bucket the clone was built from, read from the URL its inventory recorded
    (``https://BUCKET.s3.REGION.amazonaws.com/KEY`` or ``http://HOST:PORT/BUCKET/KEY``)."""
    url = recorded_url(root)
    if url is None:
        return DEFAULT_BUCKET
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0]
    return parts.path.lstrip("/").split("/", 1)[0] or DEFAULT_BUCKET


def _entries(root: Path, prefix: str) -> list[str]:
    """The names directly under ``prefix`` in the bucket, from the shipped listing of the
    subdataset at that prefix."""
    subdataset = prefix.rstrip("/")
    paths = listed_paths(root, subdataset)
    if paths is None:
        raise UsageError(
            f"this clone has no current listing of {subdataset}; "
            f"run `datalad get -n {subdataset}` and use describe() instead"
        )
    return sorted({p.split("/", 1)[0] for p in paths if "/" in p})


def inspect_bucket() -> None:
    """Print what upstream's ``inspect_bucket()`` prints, from the clone: the bucket, its
    top-level prefixes, and how many entries (and ``sub-*`` entries) each subject prefix has."""
    root = data_dir()
    top = sorted({path.split("/", 1)[0] for path in registered_subdatasets(root)})
    print(f"Bucket: s3://{bucket_name(root)}")
    print(f"Top-level prefixes ({len(top)}):")
    for name in top:
        print(f"  {name}/")
    for prefix in SUBJECT_PREFIXES:
        names = _entries(root, prefix)
        subjects = sum(1 for n in names if n.startswith("sub-"))
        print(f"{prefix}: {len(names)} entries, {subjects} sub-* entries")


def get_subjects() -> list[str]:
    return discovery.get_subjects(data_dir())


def get_rois(subject: str | None = None, category: str | None = None) -> list[str]:
    return discovery.get_rois(subject, category, dataset=data_dir())


def describe(subject: str | None = None) -> None:
    discovery.describe(data_dir(), subject)


@functools.wraps(discovery.download, assigned=("__name__", "__qualname__"))
def download(*args: Any, **kwargs: Any) -> FetchSummary:
    """Upstream's ``download(subject, ses, task, space, desc, stat, suffix, extension,
    include_*, n_jobs)``: the same files, got with ``datalad get`` into the clone."""
    return discovery.download(*args, dataset=data_dir(), **kwargs)


def download_stimuli() -> dict[str, Path]:
    """Upstream's ``download_stimuli()``: the gated images and the stimulus metadata, got
    through the gated special remote (an access token from ``laion-fmri-datalad
    request-access`` or ``$LAION_FMRI_REQUEST_ID``)."""
    from ..loaders.api.stimuli import IMAGES, METADATA

    stimuli = load_stimuli()
    return {name: stimuli.file(name) for name in (IMAGES, METADATA)}


def load_subject(subject: str | int) -> Subject:
    return _load_subject(subject, data_dir())


def load_subjects(subjects: Any = "all") -> Group:
    return _load_subjects(subjects, data_dir())


def load_stimuli() -> Stimuli:
    return _load_stimuli(data_dir())


def list_pools() -> list[str]:
    return splits.list_pools(data_dir())


def list_splits(pool: str = "shared") -> list[str]:
    return splits.list_splits(data_dir(), pool)


def list_ood_types() -> list[str]:
    return splits.list_ood_types(data_dir())


def load_split(name: str, pool: str) -> splits.Split:
    return splits.load_split(name, pool, data_dir())


def load_all_splits(pool: str) -> dict[str, splits.Split]:
    return splits.load_all_splits(pool, data_dir())


def get_train_test_ids(
    name: str, pool: str, variant_id: int = 0, ood_types: splits.OodTypes = None
) -> tuple[list[str], list[str]]:
    return splits.get_train_test_ids(name, pool, variant_id, ood_types, data_dir())


def get_split_masks(
    trials: Any,
    name: str,
    pool: str,
    variant_id: int = 0,
    ood_types: splits.OodTypes = None,
) -> Any:
    return splits.get_split_masks(trials, name, pool, variant_id, ood_types, data_dir())


def not_served(module: str, nearest: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for a name upstream's module may have and this layer does
    not serve: one line naming it and the nearest call that works. It is an ``ImportError``
    (``from laion_fmri.x import name`` would replace an ``AttributeError``'s message by its
    own); private and dunder names stay ``AttributeError``, so introspection works."""

    def missing(name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        hint = nearest.get(name, "see docs/porting.md for what runs unchanged")
        raise ImportError(
            f"{module}.{name} is not served by laion-fmri-datalad's compatibility layer; {hint}",
            name=module,
        )

    return missing
