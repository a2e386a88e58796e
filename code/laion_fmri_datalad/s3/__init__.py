"""The S3 boundary: anonymous clients, listings (all versions, paginated) and object URLs
(``client``), keep-alive HTTP connections per thread with retries (``http``), and which
listed objects can be read anonymously (``readable``). The same code talks to the real bucket
and to the local server."""

from __future__ import annotations

from .client import BucketLocation, S3Object, current_objects, iter_current, list_versions
from .http import ThreadConnections, parallel_map
from .readable import probe_access

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
