"""Which listed objects can actually be read anonymously: a HEAD on each object's URL.

The real bucket lists objects whose GET is denied (sessions ses-31 to ses-34, the gated
image file). Probing the exact URL that git-annex will later fetch is the honest test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import urllib3

from .s3client import BucketLocation, S3Object

ALLOWED = 200


def probe_access(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 16,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """HTTP status of a HEAD request on each object's (versioned) URL, by key.

    A status of 0 means the request failed without an answer (connection error).
    """
    pool = urllib3.PoolManager(
        maxsize=jobs, retries=urllib3.Retry(total=3, backoff_factor=0.2, status=0)
    )
    items = list(objects)

    def head(obj: S3Object) -> tuple[str, int]:
        url = location.object_url(obj.key, obj.version_id)
        try:
            status = pool.request("HEAD", url, redirect=True, timeout=30).status
        except urllib3.exceptions.HTTPError:
            status = 0
        if progress is not None:
            progress(1)
        return obj.key, status

    with ThreadPoolExecutor(max_workers=jobs) as executor:
        return dict(executor.map(head, items))
