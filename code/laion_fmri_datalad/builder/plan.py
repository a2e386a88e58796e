"""Planning a build: compare the routed listing with each dataset's recorded inventory.

Pure: from the listing and the old inventories to, per dataset, which paths are unchanged,
which need their access checked or content read, and which were removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..layout.names import SUPERDATASET, new_stream
from ..s3.client import S3Object
from .inventory import WITHHELD_STORAGE, InventoryEntry
from .keysafety import Refusal, key_refusal, path_conflicts
from .routing import route


@dataclass
class Listing:
    """The current objects grouped by dataset and path, and the keys that were not."""

    routed: dict[str, dict[str, S3Object]] = field(default_factory=dict)
    unrouted: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


@dataclass
class DatasetPlan:
    name: str
    old: dict[str, InventoryEntry]
    unchanged: dict[str, InventoryEntry] = field(default_factory=dict)
    work: dict[str, S3Object] = field(default_factory=dict)  # added, changed, re-checked
    removed: list[str] = field(default_factory=list)


def new_streams(routed: dict[str, dict[str, S3Object]]) -> list[str]:
    """The undocumented streams among the routed datasets (``routing.new_stream``), sorted."""
    return sorted({s for name in routed if (s := new_stream(name)) is not None})


def route_listing(latest: dict[str, S3Object]) -> Listing:
    """Group the current objects by dataset and path. Keys no rule matches are unrouted;
    keys that could damage a dataset or collide with another key are refused (named, with
    the reason), never written."""
    listing = Listing()
    by_path: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in sorted(latest):
        target = route(key)
        reason = key_refusal(key)
        if reason is not None:
            dataset = target.subdataset if target is not None else SUPERDATASET
            listing.refused.append(Refusal(key, dataset, reason))
        elif target is None:
            listing.unrouted.append(key)
        else:
            by_path[(target.subdataset, target.path)].append(key)
    routed: dict[str, dict[str, S3Object]] = defaultdict(dict)
    for (dataset, path), keys in sorted(by_path.items()):
        if len(keys) > 1:
            for key in keys:
                others = ", ".join(repr(k) for k in keys if k != key)
                listing.refused.append(
                    Refusal(key, dataset, f"routes to {path!r}, as {others} does")
                )
        else:
            routed[dataset][path] = latest[keys[0]]
    for dataset, objects in list(routed.items()):
        for path, reason in path_conflicts(objects).items():
            listing.refused.append(Refusal(objects.pop(path).key, dataset, reason))
    listing.routed = {name: objects for name, objects in routed.items() if objects}
    listing.refused.sort(key=lambda r: (r.dataset, r.key))
    return listing


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
