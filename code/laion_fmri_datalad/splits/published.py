"""Importing a published split set into ``derivatives/splits/published/<pool>/<split>.json``.

The dataset's authors publish split files apart from the bucket. Both ways of importing
leave the source and a checksum in the dataset's history:

* a **directory** (``<dir>/<pool>/<split>.json``): a ``datalad run`` of the copy, so the
  commit records the command with the source path; the files are annexed with SHA256E
  keys (``published/.gitattributes``), so each file's checksum is its key.
* **URLs** (``http(s)://.../<pool>/<split>.json``): ``datalad download-url`` into the
  pool's directory: the commit message lists the URLs, the SHA256E key is the checksum,
  and git-annex keeps each URL, so ``datalad get`` can fetch the file from its source.

Every file is checked to be a split in the published format before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import LaionFmriError, UsageError
from ..layout.discovery import is_dataset
from ..layout.endpoint import is_loopback_url
from ..layout.names import SPLITS
from ..repo import datalad
from ..repo.annex import annex
from ..repo.git import rev_parse
from .api import PUBLISHED, SplitFormatError, read_split
from .run import ensure_splits_dataset

PUBLISHED_DIR = f"{SPLITS}/{PUBLISHED}"
ATTRIBUTES = (
    "* annex.largefiles=anything annex.backend=SHA256E\n.gitattributes annex.largefiles=nothing\n"
)
MESSAGE = "[laion-fmri] Import the published train/test splits"
POOL = re.compile(r"^(shared|pooled|sub-\d{2})$")
NAME = re.compile(r"^[A-Za-z0-9_-]+\.json$")


@dataclass
class ImportReport:
    source: str
    method: str
    pools: dict[str, list[str]] = field(default_factory=dict)  # pool -> split names
    commit: str | None = None  # None: the files were already as imported
    ok: bool = True  # a failed import raises instead

    def details(self) -> str:
        return "\n".join(
            f"  {pool}: {len(names)} splits" for pool, names in sorted(self.pools.items())
        )

    def summary(self) -> str:
        n = sum(len(names) for names in self.pools.values())
        where = f"{n} split files of {len(self.pools)} pools into {PUBLISHED_DIR}"
        if self.commit is None:
            return f"published splits already up to date ({where}, from {self.source})"
        return f"imported {where} from {self.source} with {self.method}: commit {self.commit[:10]}"


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def scan_directory(directory: Path) -> dict[str, list[Path]]:
    """``{pool: [split files]}`` of a published set; any file that is not a split in the
    published format is an error naming it."""
    if not directory.is_dir():
        raise UsageError(f"{str(directory)!r} is not a directory (nor an http(s) URL)")
    found: dict[str, list[Path]] = {}
    problems: list[str] = []
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        files = sorted(sub.glob("*.json"))
        if not files or sub.name.startswith("."):
            continue
        if not POOL.match(sub.name):
            problems.append(f"{sub.name}/ is not a pool (shared, pooled, sub-NN)")
            continue
        for path in files:
            problems += _check(path)
        found[sub.name] = files
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise UsageError(f"not a published split set: {'; '.join(problems[:3])}{more}")
    if not found:
        raise UsageError(f"{str(directory)!r} has no <pool>/<split>.json files")
    return found


def _check(path: Path) -> list[str]:
    if not NAME.match(path.name):
        return [f"{path}: not a split file name"]
    try:
        read_split(path)
    except SplitFormatError as exc:
        return [str(exc)]
    return []


def url_target(url: str) -> tuple[str, str]:
    """``(pool, file name)`` from the last two parts of a URL's path."""
    parts = [unquote(p) for p in urlparse(url).path.split("/") if p]
    if len(parts) < 2 or not POOL.match(parts[-2]) or not NAME.match(parts[-1]):
        raise UsageError(
            f"URL {url!r} does not end in <pool>/<split>.json (pool: shared, pooled or sub-NN)"
        )
    return parts[-2], parts[-1]


def import_splits(dataset: Path, sources: Sequence[str]) -> ImportReport:
    """Import a published split set (one directory, or the URLs of its files)."""
    superdataset = Path(dataset).absolute()
    if not sources:
        raise UsageError("give a directory or the URLs of the split files")
    urls = [s for s in sources if is_url(s)]
    if urls and len(urls) != len(sources):
        raise UsageError("give either one directory or URLs, not both")
    if not urls and len(sources) > 1:
        raise UsageError(f"give one directory, not {len(sources)}")
    if not is_dataset(superdataset):
        raise UsageError(f"{str(superdataset)!r} is not a DataLad dataset")
    if urls:
        by_pool: dict[str, list[str]] = {}
        for url in urls:
            pool, _ = url_target(url)
            by_pool.setdefault(pool, []).append(url)
        _check_urls(by_pool)
        prepare(superdataset)
        return _import_urls(superdataset, by_pool)
    scheme = urlparse(sources[0]).scheme
    if len(scheme) > 1:  # ftp://, s3://: a URL of a kind not read here (not C: either)
        raise UsageError(f"{sources[0]!r} is neither a directory nor an http(s) URL")
    directory = Path(sources[0]).expanduser().absolute()
    found = scan_directory(directory)
    prepare(superdataset)
    return _import_directory(superdataset, directory, found)


def prepare(superdataset: Path) -> None:
    """The splits subdataset, and the rule that annexes published files with SHA256E."""
    ensure_splits_dataset(superdataset)
    attributes = superdataset / PUBLISHED_DIR / ".gitattributes"
    if attributes.is_file() and attributes.read_text() == ATTRIBUTES:
        return
    attributes.parent.mkdir(parents=True, exist_ok=True)
    attributes.write_text(ATTRIBUTES)
    datalad.call(
        "save",
        dataset=str(superdataset),
        path=[str(attributes)],
        recursive=True,
        message="[laion-fmri] Annex published split files with SHA256 keys",
    )


def copy_command(directory: Path, pools: Sequence[str]) -> str:
    """The recorded command: replace the published set by the directory's files."""
    targets = [f"{PUBLISHED_DIR}/{pool}" for pool in pools]
    parts = [f"rm -f {PUBLISHED_DIR}/*/*.json", "mkdir -p " + " ".join(targets)]
    for pool, target in zip(pools, targets, strict=True):
        parts.append(f"cp -- {shlex.quote(str(directory / pool))}/*.json {target}/")
    return " && ".join(parts)


def _import_directory(
    superdataset: Path, directory: Path, found: dict[str, list[Path]]
) -> ImportReport:
    before = rev_parse(superdataset, "HEAD")
    with contextlib.chdir(superdataset):  # the command runs (and is recorded) at the root
        datalad.call(
            "run",
            cmd=copy_command(directory, sorted(found)),
            dataset=str(superdataset),
            outputs=[f"{PUBLISHED_DIR}/*/*.json"],
            message=f"{MESSAGE} from {directory}",
        )
    after = rev_parse(superdataset, "HEAD")
    pools = {pool: [p.stem for p in files] for pool, files in found.items()}
    return ImportReport(str(directory), "datalad run", pools, after if after != before else None)


def _check_urls(by_pool: dict[str, list[str]]) -> None:
    """Download every URL to a scratch directory and check it, before the dataset
    changes."""
    with tempfile.TemporaryDirectory(prefix="laion-fmri-splits-") as scratch:
        for pool, urls in by_pool.items():
            target = Path(scratch) / pool
            target.mkdir()
            datalad.call(
                "download_url",
                urls=urls,
                path=str(target) + os.sep,
                save=False,
                loopback=any(is_loopback_url(u) for u in urls),
            )
        scan_directory(Path(scratch))


def _import_urls(superdataset: Path, by_pool: dict[str, list[str]]) -> ImportReport:
    splits = superdataset / SPLITS
    before = rev_parse(superdataset, "HEAD")
    for pool, urls in sorted(by_pool.items()):
        message = f"{MESSAGE} of pool {pool}\n\nURLs:\n  " + "\n  ".join(urls)
        datalad.call(
            "download_url",
            urls=urls,
            dataset=str(splits),
            overwrite=True,
            path=str(splits / PUBLISHED / pool) + os.sep,
            message=message,
            loopback=any(is_loopback_url(u) for u in urls),
        )
    files = [f"{PUBLISHED}/{pool}/{url_target(u)[1]}" for pool, us in by_pool.items() for u in us]
    with_url = set(annex(splits, "find", "--in=web", *files).split())
    missing = [f for f in files if f not in with_url]
    if missing:
        raise LaionFmriError(
            f"git-annex did not record the URL of {len(missing)} imported file(s), e.g. "
            f"{missing[0]}; see `git -C {splits} annex whereis {missing[0]}`"
        )
    datalad.call(
        "save",
        dataset=str(superdataset),
        path=[str(splits)],
        message=f"{MESSAGE} ({len(files)} files from URLs)",
    )
    after = rev_parse(superdataset, "HEAD")
    pools = {pool: [Path(url_target(u)[1]).stem for u in us] for pool, us in by_pool.items()}
    source = urls_source(by_pool)
    return ImportReport(source, "datalad download-url", pools, after if after != before else None)


def urls_source(by_pool: dict[str, list[str]]) -> str:
    urls = [u for us in by_pool.values() for u in us]
    return urls[0] if len(urls) == 1 else f"{len(urls)} URLs ({urls[0]}, ...)"
