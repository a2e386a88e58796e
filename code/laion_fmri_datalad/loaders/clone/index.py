"""pybids layouts of the installed subdatasets, with an index that persists between processes.

Each subdataset gets its own ``BIDSLayout`` with the BIDS and derivatives configurations
plus the entities this dataset's derivatives use and pybids does not know (``stat``, and the
ROI ``category`` folder). The index is an SQLite database kept in the subdataset's git
directory, named after the checked-out commit and the configuration, so a second process
loads it instead of walking the tree, and a different version of the dataset gets its own.
Only names are indexed, not the JSON sidecars' metadata: reading every sidecar made the first
query on a real-size raw subdataset 23x slower (112 s instead of 4.9 s for sub-01's 7,023
files, ``benchmarks/bench_index.py``); sidecars are in git, so ``json.load`` reads any of
them without a fetch. No annexed content is read.

pybids stores the absolute root in its database, so an index remembers where the clone
was. Beside it, ``root`` names the directory it was built for; a clone that was moved or
copied finds another root there and builds its own index (a copy's index would otherwise
read the original's files, and a moved clone's would fail on a root that no longer
exists). A build that fails (a full disk) leaves nothing behind and says so in one line.
Processes that need the same index at once take turns: one builds, the others then load it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from ...errors import LaionFmriError
from ...repo.git import git
from ...runtime.locks import file_lock

log = logging.getLogger("laion_fmri_datalad.loaders")

EXTRA_ENTITIES: dict[str, Any] = {
    "name": "laion-fmri",
    "entities": [
        {"name": "stat", "pattern": "[_/\\\\]+stat-([a-zA-Z0-9]+)"},
        {"name": "category", "pattern": "sub-[a-zA-Z0-9]+[/\\\\]+([a-z]+)[/\\\\]+sub-"},
    ],
}
CONFIG: list[Any] = ["bids", "derivatives", EXTRA_ENTITIES]
INDEX_FORMAT = "2"  # 2: metadata not indexed
DATABASE = "layout_index.sqlite"
ROOT_FILE = "root"  # the directory the index was built for
_open: dict[tuple[Path, str], Any] = {}


def _config_digest() -> str:
    import bids

    text = json.dumps([CONFIG, bids.__version__, INDEX_FORMAT], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def index_dir(root: Path) -> Path:
    """Where this subdataset's index lives: its git directory, else the user's cache."""
    commit = git(root, "rev-parse", "HEAD").strip()
    name = f"{commit[:16]}-{_config_digest()}"
    git_dir = Path(git(root, "rev-parse", "--absolute-git-dir").strip())
    base = git_dir / "laion-fmri" / "pybids"
    if not os.access(git_dir, os.W_OK):
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        base = cache / "laion-fmri-datalad" / "pybids" / digest
    return base / name


def _indexer() -> Any:
    import bids

    return bids.BIDSLayoutIndexer(validate=False, index_metadata=False)


def _build_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import SQLAlchemyError

    return (OSError, sqlite3.Error, SQLAlchemyError)


def _build(root: Path, final: Path) -> None:
    """Index into a private directory, then move it into place (concurrent builders and an
    interrupted run never leave a half-written index where readers look). A failure
    removes the private directory and is one line naming the index and the reason."""
    import bids

    scratch = final.with_name(f".{final.name}.{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    try:
        scratch.mkdir(parents=True)
        bids.BIDSLayout(
            str(root),
            config=CONFIG,
            validate=False,  # a raw subject's subdataset has no dataset_description.json
            indexer=_indexer(),
            database_path=str(scratch),
            reset_database=True,
        )
        (scratch / ROOT_FILE).write_text(str(root))
    except _build_errors() as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
        raise LaionFmriError(
            f"could not build the pybids index of {root} in {final.parent}: {reason}"
        ) from None
    log.info("indexed %s with pybids in %.2f s", root.name, time.perf_counter() - started)
    if final.exists():  # stale (built for another root): replaced by this one
        shutil.rmtree(final, ignore_errors=True)
    try:
        scratch.rename(final)
    except OSError:  # another process got there first; its index is as good
        shutil.rmtree(scratch, ignore_errors=True)
    for stale in final.parent.iterdir():  # indexes of other commits of this clone
        if stale != final and not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)


def is_current(where: Path, root: Path) -> bool:
    """Whether the index at ``where`` exists and was built for ``root`` (not for the place
    this clone was copied or moved from)."""
    marker = where / ROOT_FILE
    if not (where / DATABASE).is_file() or not marker.is_file():
        return False
    return marker.read_text() == str(root)


def layout(root: Path) -> Any:
    """The ``BIDSLayout`` of an installed subdataset (built once, then loaded)."""
    import bids

    root = root.absolute()
    where = index_dir(root)
    cached = _open.get((root, where.name))
    if cached is not None:
        return cached
    if not is_current(where, root):
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LaionFmriError(
                f"could not build the pybids index of {root} in {where.parent}: {exc}"
            ) from None
        with file_lock(where.parent / f".{where.name}.lock"):  # one builder; others wait
            if not is_current(where, root):
                _build(root, where)
    found = bids.BIDSLayout(
        str(root), config=CONFIG, validate=False, indexer=_indexer(), database_path=str(where)
    )
    _open[(root, where.name)] = found
    return found
