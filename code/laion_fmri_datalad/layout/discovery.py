"""Finding datasets on disk: whether a directory is a DataLad dataset or a LAION-fMRI
superdataset, the clone a call reads, and the subjects it has (nothing installed needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checks.choices import unknown
from ..config.variables import DATASET
from ..errors import UsageError
from ..repo.dataset import registered_subdatasets
from .ids import subject_id
from .names import MARKER


def is_dataset(path: Path) -> bool:
    """Whether ``path`` is a DataLad dataset: a git repository with ``.datalad/config``."""
    return (path / ".git").exists() and (path / ".datalad" / "config").is_file()


def is_superdataset(path: Path) -> bool:
    """Whether ``path`` is a LAION-fMRI superdataset (its ``.gitmodules`` names the betas)."""
    return path.is_dir() and MARKER in registered_subdatasets(path)


def find_superdataset(dataset: str | os.PathLike[str] | None = None) -> Path:
    """The clone to read: ``dataset``, else ``$LAION_FMRI_DATASET``, else the superdataset
    containing the current directory."""
    given = dataset if dataset is not None else os.environ.get(DATASET)
    if given is not None and not isinstance(given, str | os.PathLike):
        raise UsageError(f"dataset={given!r} is not a path; pass the directory of your clone")
    if given is not None:
        path = Path(given).expanduser().absolute()
        if not is_superdataset(path):
            raise UsageError(
                f"dataset {str(path)!r} is not a LAION-fMRI superdataset (no {MARKER} "
                "subdataset in its .gitmodules); pass the directory of your 'datalad clone'"
            )
        return path
    here = Path.cwd().absolute()
    for candidate in (here, *here.parents):
        if is_superdataset(candidate):
            return candidate
    raise UsageError(
        f"no LAION-fMRI superdataset at or above {str(here)!r}; pass dataset=PATH or set {DATASET}"
    )


def subjects_in(root: Path) -> list[str]:
    """The subjects of a superdataset: its ``sub-XX`` subdatasets (from ``.gitmodules``, so
    nothing needs to be installed)."""
    return sorted(p for p in registered_subdatasets(root) if p.startswith("sub-"))


def as_list(value: Any, what: str = "value") -> list[str]:
    """``value`` as a list of strings: one string or number, or a list, tuple or set of
    them; anything else is a ``UsageError`` naming it."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return [str(value)]
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v) for v in value]
    raise UsageError(f"{what} {value!r} is not allowed; give a name or a list of names")


def resolve_subjects(root: Path, subjects: Sequence[str] | str) -> list[str]:
    """The subjects asked for (``all``: every one), as ``sub-XX``, each checked against the
    superdataset's; the first unknown one is a ``UsageError`` naming the known ones."""
    known = subjects_in(root)
    if subjects == "all" or subjects == ["all"]:
        return known
    chosen = []
    for value in as_list(subjects, "subject"):
        name = subject_id(value)
        if name not in known:
            raise unknown("subject", value, known)
        chosen.append(name)
    return list(dict.fromkeys(chosen))
