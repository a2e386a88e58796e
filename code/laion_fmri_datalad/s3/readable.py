"""Which listed objects can actually be read anonymously: a HEAD on each object's URL.

The real bucket lists objects whose GET is denied (sessions ses-31 to ses-34, the gated
image file). Probing the exact URL that git-annex will later fetch is the honest test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .client import BucketLocation, S3Object
from .http import ThreadConnections, parallel_map

ALLOWED = 200


def probe_access(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """HTTP status of a HEAD request on each object's (versioned) URL, by key.

    A status of 0 means the request failed without an answer (connection error).
    """
    with ThreadConnections(location.bucket_url()) as connections:

        def head(obj: S3Object) -> tuple[str, int]:
            url = location.object_url(obj.key, obj.version_id)
            return obj.key, connections.request("HEAD", url).status

        return dict(parallel_map(head, objects, jobs, progress))
