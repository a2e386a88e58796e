"""The build: list -> route -> plan -> read -> key -> register -> commit.

``build()`` lists the bucket anonymously, routes every key to a dataset, compares with the
inventory the previous build recorded, reads or checks only what is new or changed,
registers annexed keys with their (versioned) S3 URLs in bulk, and writes one commit per
changed subdataset plus one superdataset commit recording them. An unchanged bucket gives
no commit at all.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..layout.bidsfiles import generated_files
from ..layout.discovery import is_dataset
from ..layout.names import INVENTORY, SUPERDATASET
from ..repo.dataset import committed_text
from ..s3.client import (
    BucketLocation,
    S3Object,
    current_objects,
    iter_current,
    list_versions,
    same_time,
)
from ..s3.readable import ALLOWED, probe_access
from .annexbranch import register_urls
from .annexkeys import md5e_key, sha256e_key, symlink_target
from .commits import (
    commit_dataset,
    commit_superdataset,
    stale_subdatasets,
    unlisted_subdatasets,
)
from .content import Fetched, fetch_small_files, hash_objects
from .datasets import (
    description_bytes,
    ensure_subdataset,
    ensure_superdataset,
)
from .gitplumbing import REGULAR, SYMLINK, TreeChanges
from .inventory import (
    ANNEX,
    GIT,
    REFUSED,
    WITHHELD,
    WITHHELD_STORAGE,
    InventoryEntry,
    format_inventory,
    format_refused,
    format_withheld,
    parse_inventory,
)
from .plan import DatasetPlan, Listing, new_streams, plan_dataset, route_listing
from .recovery import build_lock, candidate_datasets, finish_interrupted_build
from .report import BuildReport
from .storage import goes_to_git

Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], AbstractContextManager[Advance]]
DENIED = 403
COMMIT_TAG = "[laion-fmri-build]"


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Advance]:
    yield lambda n: None


@dataclass
class Reads:
    """What reading and checking the work objects found, by S3 key."""

    texts: dict[str, Fetched]
    hashes: dict[str, Fetched]
    status: dict[str, int]


@dataclass
class Outcome:
    """The new state of one dataset."""

    inventory: dict[str, InventoryEntry]
    changes: TreeChanges
    urls: dict[str, list[str]]


def build(
    dataset: Path,
    location: BucketLocation,
    *,
    jobs: int = 8,
    progress: ProgressFactory = no_progress,
    recheck_withheld: bool = False,
) -> BuildReport:
    report = BuildReport()
    target = Path(dataset).absolute()
    if not is_dataset(target):  # a new superdataset: created once the bucket is listed
        return _build(target, location, jobs, progress, recheck_withheld, report)
    with build_lock(target):
        report.resumed = finish_interrupted_build(target)
        if not recheck_withheld and not report.resumed:
            with report.add_time("quick-check"):
                if unchanged_since_last_build(target, location, report):
                    return report
        return _build(target, location, jobs, progress, recheck_withheld, report)


def _build(
    target: Path,
    location: BucketLocation,
    jobs: int,
    progress: ProgressFactory,
    recheck_withheld: bool,
    report: BuildReport,
) -> BuildReport:
    """List, route, plan, read, register and commit (see the module's docstring)."""
    with report.add_time("list"):
        latest = current_objects(iter(list_versions(location)))
    with report.add_time("route"):
        listing = route_listing(latest)
        report.unrouted, report.refused = listing.unrouted, listing.refused
        report.new_streams = new_streams(listing.routed)
        superdataset = ensure_superdataset(target)
        plans = plan_datasets(superdataset, listing.routed, location, recheck_withheld)
        refused = refused_table(superdataset, listing)
    reads = read_work(location, plans, jobs, progress, report)
    with report.add_time("register"):
        touched: list[str] = []
        root = TreeChanges()
        for plan in plans:
            outcome = decide(location, plan, reads, report)
            if plan.name == SUPERDATASET and refused is not None:
                outcome.changes.writes[REFUSED] = (REGULAR, refused)
            if outcome.inventory == plan.old and not outcome.changes:
                continue
            add_state_files(outcome)
            if plan.name == SUPERDATASET:
                root = outcome.changes
            else:
                register_dataset(superdataset, plan.name, outcome, report, location)
                touched.append(plan.name)
    with report.add_time("superdataset"):
        subdatasets = [plan.name for plan in plans if plan.name != SUPERDATASET]
        touched = sorted(
            set(touched)
            | set(stale_subdatasets(superdataset, subdatasets))
            | set(unlisted_subdatasets(superdataset, subdatasets))
        )
        report.committed = commit_superdataset(
            superdataset, touched, root, superdataset_message(touched, report)
        )
    return report


def unchanged_since_last_build(
    superdataset: Path, location: BucketLocation, report: BuildReport
) -> bool:
    """True when the current listing matches every recorded inventory: same keys, ETags,
    sizes, modification times and URL endpoint. Lists only current objects (one cheap
    request per 1,000 keys), so a no-op rebuild does not list every version. Fills the
    report's counts when it answers True."""
    recorded = {plan.name: plan.old for plan in plan_datasets(superdataset, {}, location, False)}
    listing = route_listing({o.key: o for o in iter_current(location)})
    routed = listing.routed
    if set(routed) - set(recorded) or refused_table(superdataset, listing) is not None:
        return False
    subdatasets = [n for n in recorded if n != SUPERDATASET]
    if stale_subdatasets(superdataset, subdatasets):
        return False  # a build stopped between a subdataset and the superdataset commit
    if unlisted_subdatasets(superdataset, subdatasets):
        return False  # built before the superdataset shipped its subdatasets' listings
    for name, old in recorded.items():
        objects = routed.get(name, {})
        if set(objects) != set(old):
            return False
        for path, obj in objects.items():
            entry = old[path]
            if (
                entry.s3_key != obj.key
                or (entry.etag, entry.size) != (obj.etag, obj.size)
                or not same_time(entry.last_modified, obj.last_modified)
                or entry.url != location.object_url(obj.key, entry.version_id or None)
            ):
                return False
    report.unrouted, report.refused = listing.unrouted, listing.refused
    for name, old in recorded.items():
        counts = report.counts(name)
        counts.unchanged = sum(e.storage != WITHHELD_STORAGE for e in old.values())
        counts.withheld = len(old) - counts.unchanged
        counts.bytes = sum(e.size for e in old.values() if e.storage != WITHHELD_STORAGE)
    return True


def plan_datasets(
    superdataset: Path,
    routed: dict[str, dict[str, S3Object]],
    location: BucketLocation,
    recheck_withheld: bool,
) -> list[DatasetPlan]:
    """A plan for every dataset with listed objects or a committed inventory, and always
    one for the superdataset (it records the refused keys). The old state of each dataset
    is its inventory at HEAD, never the work tree (an interrupted build may have left the
    work tree anywhere)."""
    names = set(routed) | {SUPERDATASET}
    old: dict[str, dict[str, InventoryEntry]] = {}
    for repo in candidate_datasets(superdataset):
        text = committed_text(repo, INVENTORY)
        if text is not None:
            relative = repo.relative_to(superdataset).as_posix()
            name = SUPERDATASET if relative == "." else relative
            names.add(name)
            old[name] = parse_inventory(text)
    return [
        plan_dataset(
            name,
            routed.get(name, {}),
            old.get(name, {}),
            lambda obj: location.object_url(obj.key, obj.version_id),
            recheck_withheld,
        )
        for name in sorted(names)
    ]


def read_work(
    location: BucketLocation,
    plans: list[DatasetPlan],
    jobs: int,
    progress: ProgressFactory,
    report: BuildReport,
) -> Reads:
    """GET small text files, hash multipart objects, HEAD the rest: only new or changed."""
    texts, multipart, plain = [], [], []
    for plan in plans:
        for path, obj in plan.work.items():
            if goes_to_git(path, obj.size):
                texts.append(obj)
            elif obj.md5 is None:
                multipart.append(obj)
            else:
                plain.append(obj)
    with report.add_time("read-text"), progress("reading small files", len(texts)) as advance:
        fetched = fetch_small_files(location, texts, jobs, advance)
    with report.add_time("hash"), progress("hashing multipart objects", len(multipart)) as advance:
        hashed = hash_objects(location, multipart, max(1, min(jobs, 4)), advance)
    report.hashed_objects = sum(1 for f in hashed.values() if f.status == ALLOWED)
    report.hashed_bytes = sum(f.size for f in hashed.values())
    with report.add_time("probe"), progress("checking access", len(plain)) as advance:
        status = probe_access(location, plain, jobs, advance)
    return Reads(fetched, hashed, status)


def entry_for(
    location: BucketLocation, path: str, obj: S3Object, reads: Reads
) -> tuple[InventoryEntry | None, bytes, str]:
    """The inventory entry of one object, the bytes to commit for a git file, or a failure."""
    url = location.object_url(obj.key, obj.version_id)

    def entry(storage: str, key: str, status: int) -> InventoryEntry:
        version = obj.version_id or ""
        return InventoryEntry(
            path,
            obj.key,
            version,
            obj.etag,
            obj.size,
            storage,
            key,
            status,
            url,
            obj.last_modified,
        )

    if goes_to_git(path, obj.size):
        fetched = reads.texts[obj.key]
        status, data = fetched.status, fetched.data
        if status == ALLOWED and obj.md5 and hashlib.md5(data).hexdigest() != obj.md5:
            return None, b"", "content read does not match the listed ETag"
        storage, key = GIT, ""
    elif obj.md5 is not None:
        status, data = reads.status[obj.key], b""
        storage, key = ANNEX, md5e_key(obj.md5, obj.size, path)
    else:
        fetched = reads.hashes[obj.key]
        status, data = fetched.status, b""
        if status == ALLOWED and fetched.size != obj.size:
            return None, b"", f"read {fetched.size} bytes, the listing says {obj.size}"
        storage, key = ANNEX, sha256e_key(fetched.sha256, obj.size, path)
    if status == DENIED:
        return entry(WITHHELD_STORAGE, "", status), b"", ""
    if status != ALLOWED:
        return (
            None,
            b"",
            f"HTTP status {status or 'none (no answer)'} for {url}",
        )
    return entry(storage, key, status), data, ""


def decide(
    location: BucketLocation, plan: DatasetPlan, reads: Reads, report: BuildReport
) -> Outcome:
    """The new inventory, tree changes and URLs of one dataset."""
    counts = report.counts(plan.name)
    inventory = dict(plan.unchanged)
    changes = TreeChanges()
    urls: dict[str, list[str]] = defaultdict(list)
    for path, obj in sorted(plan.work.items()):
        old = plan.old.get(path)
        entry, data, failure = entry_for(location, path, obj, reads)
        if entry is None:
            report.failures.append(f"{obj.key}: {failure}")
            if old is not None:
                inventory[path] = old  # keep the last good state; a rebuild retries
            continue
        inventory[path] = entry
        was_present = old is not None and old.storage != WITHHELD_STORAGE
        if entry.storage == WITHHELD_STORAGE:
            counts.withheld += 1
            if was_present:
                changes.deletes.add(path)
                counts.removed += 1
            continue
        if entry.storage == ANNEX:
            changes.writes[path] = (SYMLINK, symlink_target(path, entry.annex_key).encode())
            urls[entry.annex_key].append(entry.url)
        else:
            changes.writes[path] = (REGULAR, data)
        if was_present:
            counts.changed += 1
        else:
            counts.added += 1
    for path in plan.removed:
        if plan.old[path].storage != WITHHELD_STORAGE:
            changes.deletes.add(path)
            counts.removed += 1
    counts.unchanged = len(plan.unchanged)
    counts.withheld += sum(e.storage == WITHHELD_STORAGE for e in plan.unchanged.values())
    counts.bytes = sum(e.size for e in inventory.values() if e.storage != WITHHELD_STORAGE)
    return Outcome(inventory, changes, dict(urls))


def refused_table(superdataset: Path, listing: Listing) -> bytes | None:
    """The superdataset's ``refused.tsv`` for this listing, or None when the recorded one
    (or its absence, with nothing refused) already says the same."""
    recorded = committed_text(superdataset, REFUSED)
    text = format_refused(listing.refused)
    if recorded is not None:
        return None if recorded == text else text.encode()
    return text.encode() if listing.refused else None


def add_state_files(outcome: Outcome) -> None:
    outcome.changes.writes[INVENTORY] = (REGULAR, format_inventory(outcome.inventory).encode())
    outcome.changes.writes[WITHHELD] = (REGULAR, format_withheld(outcome.inventory).encode())


def register_dataset(
    superdataset: Path,
    name: str,
    outcome: Outcome,
    report: BuildReport,
    location: BucketLocation,
) -> None:
    """Create the subdataset if needed, register its keys, and commit its tree."""
    with report.add_time("register:create"):
        path, _ = ensure_subdataset(superdataset, name)
    # The generated description goes in with the first commit of the subdataset's content
    # (decided from HEAD: a build stopped after creating it must still add it).
    # A raw subject's subdataset gets none (BIDS forbids it there); one an older build
    # generated is removed.
    described = "dataset_description.json" in outcome.inventory
    generated = description_bytes(name)
    committed = committed_text(path, "dataset_description.json")
    if not described and generated is not None and committed is None:
        outcome.changes.writes["dataset_description.json"] = (REGULAR, generated)
    elif not described and generated is None and committed is not None:
        outcome.changes.deletes.add("dataset_description.json")
    # what makes the derivative valid BIDS (SpatialReference sidecars, .bidsignore), unless
    # the bucket has a file of that name; written again when this code's version differs
    for relpath, data in generated_files(name).items():
        if relpath not in outcome.inventory and committed_text(path, relpath) != data.decode():
            outcome.changes.writes[relpath] = (REGULAR, data)
    message = dataset_message(name, report, location)
    with report.add_time("register:annex-branch"):
        register_urls(path, outcome.urls, message)
    with report.add_time("register:commit"):
        commit_dataset(path, outcome.changes, message)


def dataset_message(name: str, report: BuildReport, location: BucketLocation) -> str:
    counts = report.counts(name)
    source = f"s3://{location.bucket}" + (
        f" at {location.endpoint_url}" if location.endpoint_url else f" ({location.region})"
    )
    return (
        f"{COMMIT_TAG} {name}: {counts.summary()}, {counts.withheld} withheld\n\n"
        f"Listed {source} on {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.\n"
    )


def superdataset_message(touched: list[str], report: BuildReport) -> str:
    lines = [f"{COMMIT_TAG} {report.total().summary()}", ""]
    lines += [f"{name or '(superdataset)'}: {report.counts(name).summary()}" for name in touched]
    return "\n".join(lines) + "\n"
