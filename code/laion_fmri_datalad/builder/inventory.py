"""The build state recorded in each dataset: what was listed, and how it was registered.

``.laion-fmri/inventory.tsv`` has one row per routed object; a rebuild compares the new
listing with it, so an unchanged bucket gives no new commit. ``.laion-fmri/withheld.tsv``
lists the objects that are listed by the bucket but cannot be read (HTTP 403).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from ..errors import BuildError
from ..layout.names import INVENTORY, STATE_DIR
from .keysafety import Refusal

WITHHELD = f"{STATE_DIR}/withheld.tsv"
REFUSED = f"{STATE_DIR}/refused.tsv"  # the superdataset's: keys never written, and why

ANNEX = "annex"
GIT = "git"
WITHHELD_STORAGE = "withheld"


@dataclass(frozen=True)
class InventoryEntry:
    path: str  # inside the dataset
    s3_key: str
    version_id: str  # "" when the bucket has no versioning
    etag: str
    size: int
    storage: str  # annex, git or withheld
    annex_key: str  # "" unless annexed
    status: int  # HTTP status of the access check (200, or 403 for withheld)
    url: str  # where the object was read; a new endpoint means new URLs to register
    last_modified: str

    def same_object(self, version_id: str, etag: str, size: int, url: str) -> bool:
        return (self.version_id, self.etag, self.size, self.url) == (version_id, etag, size, url)


_COLUMNS = [f.name for f in fields(InventoryEntry)]


def parse_inventory(text: str) -> dict[str, InventoryEntry]:
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    entries = {}
    for row in rows:
        entry = InventoryEntry(
            path=row["path"],
            s3_key=row["s3_key"],
            version_id=row["version_id"],
            etag=row["etag"],
            size=int(row["size"]),
            storage=row["storage"],
            annex_key=row["annex_key"],
            status=int(row["status"]),
            url=row["url"],
            last_modified=row["last_modified"],
        )
        entries[entry.path] = entry
    return entries


def format_inventory(entries: dict[str, InventoryEntry]) -> str:
    """The inventory as TSV. Paths with control characters never get here (the listing
    refuses their keys); one would break the table, so it is an error, not a row."""
    for path in entries:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
            raise BuildError(f"inventory path {path!r} has a control character")
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(_COLUMNS)
    for path in sorted(entries):
        writer.writerow(astuple(entries[path]))
    return out.getvalue()


def format_withheld(entries: dict[str, InventoryEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["path", "s3_key", "version_id", "size", "http_status"])
    for path in sorted(entries):
        e = entries[path]
        if e.storage == WITHHELD_STORAGE:
            writer.writerow([e.path, e.s3_key, e.version_id, e.size, e.status])
    return out.getvalue()


def format_refused(refusals: Iterable[Refusal]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["s3_key", "dataset", "reason"])
    for refusal in refusals:
        # control characters are why some keys are refused: written escaped, one per line
        key = refusal.key.encode("unicode_escape").decode("ascii")
        writer.writerow([key, refusal.dataset or ".", refusal.reason])
    return out.getvalue()


def load_inventory(dataset: Path) -> dict[str, InventoryEntry]:
    path = dataset / INVENTORY
    return parse_inventory(path.read_text()) if path.is_file() else {}
