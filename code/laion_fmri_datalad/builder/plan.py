"""Planning a build: compare the routed listing with each dataset's recorded inventory.

Pure: from the listing and the old inventories to, per dataset, which paths are unchanged,
which need their access checked or content read, and which were removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..s3client import S3Object
from .inventory import WITHHELD_STORAGE, InventoryEntry
from .routing import route


@dataclass
class DatasetPlan:
    name: str
    old: dict[str, InventoryEntry]
    unchanged: dict[str, InventoryEntry] = field(default_factory=dict)
    work: dict[str, S3Object] = field(default_factory=dict)  # added, changed, re-checked
    removed: list[str] = field(default_factory=list)


def route_listing(latest: dict[str, S3Object]) -> tuple[dict[str, dict[str, S3Object]], list[str]]:
    """Group the current objects by dataset and path; return them and the unrouted keys."""
    routed: dict[str, dict[str, S3Object]] = defaultdict(dict)
    unrouted = []
    for key in sorted(latest):
        target = route(key)
        if target is None:
            unrouted.append(key)
        else:
            routed[target.subdataset][target.path] = latest[key]
    return dict(routed), unrouted


def plan_dataset(
    name: str,
    objects: dict[str, S3Object],
    old: dict[str, InventoryEntry],
    url_of: Callable[[S3Object], str],
    recheck_withheld: bool = False,
) -> DatasetPlan:
    plan = DatasetPlan(name, old)
    for path, obj in objects.items():
        previous = old.get(path)
        if (
            previous is not None
            and (not recheck_withheld or previous.storage != WITHHELD_STORAGE)
            and previous.s3_key == obj.key
            and previous.same_object(obj.version_id or "", obj.etag, obj.size, url_of(obj))
        ):
            plan.unchanged[path] = previous
        else:
            plan.work[path] = obj  # new or changed (or withheld, when asked to check again)
    plan.removed = sorted(set(old) - set(objects))
    return plan
