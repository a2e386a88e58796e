"""A user's clone of the superdataset: where it is, which subdatasets are installed, and
getting the content the loaders need through DataLad (or saying exactly how to get it).

Any number of processes may use one clone at once. Installing subdatasets is serialised by a
lock in the superdataset's git directory (``git clone`` into one path twice fails); under
it, an install that a kill or a full disk left half done is repaired first: a subdataset
directory without a working repository is emptied and installed again, tracked files a
stopped checkout left deleted are restored. Transfers of the same file by two processes are
git-annex's to serialise: one that finds the file's transfer in progress elsewhere waits for
it and tries again (``TRANSFER_RETRIES``); a transfer that failed is tried again too.
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ...errors import LaionFmriError, MissingContentError, PinWarning
from ...layout.endpoint import serves_from_loopback
from ...repo import datalad
from ...repo.annex import key_size
from ...repo.dataset import registered_subdatasets
from ...repo.git import git_or_none, missing_files, restore_missing
from ...repo.pins import drifted
from ...runtime.locks import file_lock

log = logging.getLogger("laion_fmri_datalad.loaders")

INSTALL_LOCK = "laion-fmri/install.lock"  # in the superdataset's git directory
IN_PROGRESS = "transfer already in progress"  # git-annex, when another process has the key
TRANSFER_RETRIES = 30  # waits of up to 2 s each for another process's transfer
FAILED_RETRIES = 3  # tries again of a transfer that failed (on top of git-annex's own)
FAILED = ("error", "impossible")


def is_installed(path: Path) -> bool:
    return (path / ".git").exists()


def is_working_repository(path: Path) -> bool:
    """Whether ``path`` is the top of a git repository with a commit checked out (not a
    directory git finds its superdataset's repository from)."""
    if not (path / ".git").exists():
        return False
    top = git_or_none(path, "rev-parse", "--show-toplevel")
    return (
        top is not None
        and Path(top).resolve() == path.resolve()
        and bool(git_or_none(path, "rev-parse", "--verify", "--quiet", "HEAD"))
    )


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
        # git-annex may reach 127.0.0.1 only for a clone of the development server's dataset
        self.loopback = serves_from_loopback(root)
        self._checked: set[str] = set()  # subdatasets installed and checked in this process

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def ensure_installed(self, subdataset: str) -> Path:
        """The installed subdataset, installing (or repairing) it if needed."""
        path = self.root / subdataset
        if subdataset in self._checked:
            return path
        self._install(subdataset, path)
        self._checked.add(subdataset)
        for drift in drifted(self.root, [subdataset]):  # once per subdataset and process
            warnings.warn(drift.line(self.root), PinWarning, stacklevel=3)
        return path

    def _install(self, subdataset: str, path: Path) -> None:
        if is_installed(path) and not self.fetch:
            return
        if is_working_repository(path) and not missing_files(path):
            return  # whole: no lock, so a read-only clone works
        if not self.fetch:
            raise MissingContentError(
                f"subdataset {subdataset!r} is not installed in {str(self.root)!r}; "
                f"run: datalad get -n -d {self.root} {subdataset}"
            )
        with file_lock(self.root / ".git" / INSTALL_LOCK, on_wait=self._say_waiting):
            if is_installed(path) and not is_working_repository(path):
                log.warning("%s was left half installed; installing it again", subdataset)
                shutil.rmtree(path)
                path.mkdir()
            if is_installed(path):
                missing = missing_files(path)
                if missing:
                    log.warning(
                        "restoring %d files a stopped checkout of %s left deleted",
                        len(missing),
                        subdataset,
                    )
                    restore_missing(path, missing)
            else:
                log.info("installing subdataset %s with DataLad", subdataset)
                self._datalad_get([path], get_data=False)
                if not is_working_repository(path):
                    raise MissingContentError(
                        f"DataLad could not install subdataset {subdataset!r}"
                    )

    def ensure_subdatasets(self, paths: Sequence[Path]) -> None:
        """Install (or repair) the subdatasets holding ``paths``, one process at a time."""
        known = registered_subdatasets(self.root)
        names = {self.subdataset_of(p, known) for p in paths}
        for name in sorted(n for n in names if n is not None):
            self.ensure_installed(name)

    def subdataset_of(self, path: Path, known: set[str]) -> str | None:
        relative = self.relative(path)
        found = [n for n in known if relative == n or relative.startswith(n + "/")]
        return max(found, key=len) if found else None

    def _say_waiting(self, holder: str) -> None:
        log.info("waiting for %s, which is installing subdatasets of %s", holder, self.root)

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
        self.ensure_subdatasets(missing)
        self._datalad_get(missing, get_data=True)
        still = [self.relative(p) for p in missing if not is_present(p)]
        if still:
            raise MissingContentError(
                f"DataLad did not get {' '.join(still)}; try: datalad get -d {self.root} "
                + " ".join(still)
            )

    def _get(
        self, paths: Sequence[Path], get_data: bool, jobs: int | str
    ) -> Iterator[dict[str, Any]]:
        yield from datalad.iter_results(
            "get",
            path=[str(p) for p in paths],
            dataset=str(self.root),
            get_data=get_data,
            jobs=jobs,
            loopback=self.loopback,
        )

    def results(
        self, paths: Sequence[Path], get_data: bool = True, jobs: int | str = "auto"
    ) -> Iterator[dict[str, Any]]:
        """``datalad get`` of ``paths`` in this clone: its result records, as they come. A
        file whose transfer another process has in progress is waited for and asked again;
        a failed transfer (a dropped connection, a body cut short, a 503) is tried again up
        to ``FAILED_RETRIES`` times. A file's last record is the one yielded."""
        pending = list(paths)
        failures: Counter[str] = Counter()
        for attempt in range(TRANSFER_RETRIES + 1):
            again: list[Path] = []
            for result in self._get(pending, get_data, jobs):
                path = str(result.get("path"))
                failed = result.get("type") == "file" and result.get("status") in FAILED
                if failed and attempt < TRANSFER_RETRIES:
                    message = datalad.result_message(result)
                    if IN_PROGRESS not in message:
                        failures[path] += 1
                    if IN_PROGRESS in message or failures[path] <= FAILED_RETRIES:
                        log.info("trying %s again: %s", self.relative(Path(path)), message)
                        again.append(Path(path))
                        continue
                yield result
            if not again:
                return
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not all(is_present(p) for p in again):
                time.sleep(0.1)
            pending = again

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
