"""A user's clone of the superdataset: where it is, which subdatasets are installed, and
getting the content the loaders need through DataLad (or saying exactly how to get it)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..builder.annexkeys import key_size
from ..builder.commits import registered_subdatasets
from ..choices import unknown
from ..errors import LaionFmriError, MissingContentError, UsageError
from ..repo import datalad

log = logging.getLogger("laion_fmri_datalad.loaders")

DATASET_ENV = "LAION_FMRI_DATASET"
MARKER = "derivatives/glmsingle-tedana"


def is_superdataset(path: Path) -> bool:
    """Whether ``path`` is a LAION-fMRI superdataset (its ``.gitmodules`` names the betas)."""
    return path.is_dir() and MARKER in registered_subdatasets(path)


def find_superdataset(dataset: str | os.PathLike[str] | None = None) -> Path:
    """The clone to read: ``dataset``, else ``$LAION_FMRI_DATASET``, else the superdataset
    containing the current directory."""
    given = dataset if dataset is not None else os.environ.get(DATASET_ENV)
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
        f"no LAION-fMRI superdataset at or above {str(here)!r}; pass dataset=PATH "
        f"or set {DATASET_ENV}"
    )


def subjects_in(root: Path) -> list[str]:
    """The subjects of a superdataset: its ``sub-XX`` subdatasets (from ``.gitmodules``, so
    nothing needs to be installed)."""
    return sorted(p for p in registered_subdatasets(root) if p.startswith("sub-"))


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def resolve_subjects(root: Path, subjects: Sequence[str] | str) -> list[str]:
    known = subjects_in(root)
    if subjects == "all" or subjects == ["all"]:
        return known
    chosen = []
    for value in as_list(subjects):
        text = value.removeprefix("sub-")
        name = f"sub-{int(text):02d}" if text.isdigit() else f"sub-{text}"
        if name not in known:
            raise unknown("subject", value, known)
        chosen.append(name)
    return list(dict.fromkeys(chosen))


def is_installed(path: Path) -> bool:
    return (path / ".git").exists()


def annexed_size(path: Path) -> int | None:
    """The size recorded in the git-annex key an annexed file points to, if it is one."""
    if not path.is_symlink():
        return None
    try:
        return key_size(path.readlink().name)
    except (ValueError, IndexError):
        return None


def is_present(path: Path) -> bool:
    return path.exists()  # an annexed file without content is a dangling symlink


class Content:
    """Gets what the loaders need into a clone, or explains how to."""

    def __init__(self, root: Path, fetch: bool = True) -> None:
        self.root = root
        self.fetch = fetch

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def ensure_installed(self, subdataset: str) -> Path:
        path = self.root / subdataset
        if is_installed(path):
            return path
        if not self.fetch:
            raise MissingContentError(
                f"subdataset {subdataset!r} is not installed in {str(self.root)!r}; "
                f"run: datalad get -n -d {self.root} {subdataset}"
            )
        log.info("installing subdataset %s with DataLad", subdataset)
        self._datalad_get([path], get_data=False)
        if not is_installed(path):
            raise MissingContentError(f"DataLad could not install subdataset {subdataset!r}")
        return path

    def ensure_present(self, paths: Sequence[Path]) -> None:
        missing = [p for p in paths if not is_present(p)]
        if not missing:
            return
        shown = " ".join(self.relative(p) for p in missing)
        if not self.fetch:
            raise MissingContentError(
                f"content of {shown} is not present (fetch=False); "
                f"run: datalad get -d {self.root} {shown}"
            )
        size = sum(annexed_size(p) or 0 for p in missing)
        listed = " ".join(self.relative(p) for p in missing[:3])
        if len(missing) > 3:
            listed += f" ... ({len(missing) - 3} more)"
        log.info("getting %d file(s), %s, with DataLad: %s", len(missing), human(size), listed)
        self._datalad_get(missing, get_data=True)
        still = [self.relative(p) for p in missing if not is_present(p)]
        if still:
            raise MissingContentError(
                f"DataLad did not get {' '.join(still)}; try: datalad get -d {self.root} "
                + " ".join(still)
            )

    def results(
        self, paths: Sequence[Path], get_data: bool = True, jobs: int | str = "auto"
    ) -> Iterator[dict[str, Any]]:
        """``datalad get`` of ``paths`` in this clone: its result records, as they come."""
        yield from datalad.iter_results(
            "get",
            path=[str(p) for p in paths],
            dataset=str(self.root),
            get_data=get_data,
            jobs=jobs,
        )

    def _datalad_get(self, paths: Sequence[Path], get_data: bool) -> None:
        failed = datalad.failures(self.results(paths, get_data))
        if failed:
            first = failed[0]
            where = self.relative(Path(first.get("path", "?")))
            raise LaionFmriError(
                f"datalad get failed for {where} ({len(failed)} failed in all): "
                f"{datalad.result_message(first)}"
            )


def human(size: int) -> str:
    """``1.2 MB``, ``340 kB``, ``12 B``."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"
