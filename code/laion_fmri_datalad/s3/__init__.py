"""The S3 boundary: anonymous clients, listings (all versions, paginated) and object URLs
(``client``), keep-alive HTTP connections per thread with retries (``http``), and which
listed objects can be read anonymously (``readable``). The same code talks to the real bucket
and to the local server."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .client import BucketLocation, S3Object, current_objects, iter_current, list_versions
    from .http import ThreadConnections, parallel_map
    from .readable import probe_access

_WHERE = {
    "BucketLocation": "client",
    "S3Object": "client",
    "list_versions": "client",
    "iter_current": "client",
    "current_objects": "client",
    "ThreadConnections": "http",
    "parallel_map": "http",
    "probe_access": "readable",
}

__all__ = [
    "BucketLocation",
    "S3Object",
    "ThreadConnections",
    "current_objects",
    "iter_current",
    "list_versions",
    "parallel_map",
    "probe_access",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
