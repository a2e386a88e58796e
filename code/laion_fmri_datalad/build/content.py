"""Reading object content during a build: small text files for git, and the hashing of
multipart objects whose ETag is not an MD5 (streamed once, bounded memory, in parallel)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3

from ..s3client import BucketLocation, S3Object

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """The answer for one object: HTTP status, and content or its SHA-256."""

    key: str
    status: int  # 0 when there was no HTTP answer
    data: bytes = b""
    sha256: str = ""
    size: int = 0
    error: str = ""


def _pool(jobs: int) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        maxsize=jobs, retries=urllib3.Retry(total=3, backoff_factor=0.2, status=0)
    )


def _run(
    objects: Iterable[S3Object],
    work: Callable[[S3Object], Fetched],
    jobs: int,
    progress: Callable[[int], None] | None,
) -> dict[str, Fetched]:
    def task(obj: S3Object) -> Fetched:
        result = work(obj)
        if progress is not None:
            progress(1)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as executor:
        return {f.key: f for f in executor.map(task, list(objects))}


def fetch_small_files(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 16,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Fetched]:
    """GET each object's (versioned) URL into memory; for the small text files only."""
    pool = _pool(jobs)

    def get(obj: S3Object) -> Fetched:
        url = location.object_url(obj.key, obj.version_id)
        try:
            answer = pool.request("GET", url, timeout=60)
        except urllib3.exceptions.HTTPError as exc:
            return Fetched(obj.key, 0, error=str(exc))
        data = answer.data if answer.status == 200 else b""
        return Fetched(obj.key, answer.status, data=data, size=len(data))

    return _run(objects, get, jobs, progress)


def hash_objects(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 4,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Fetched]:
    """Stream each object once and compute its SHA-256 (memory: one chunk per worker)."""
    pool = _pool(jobs)

    def digest(obj: S3Object) -> Fetched:
        url = location.object_url(obj.key, obj.version_id)
        try:
            answer = pool.request("GET", url, preload_content=False, timeout=300)
        except urllib3.exceptions.HTTPError as exc:
            return Fetched(obj.key, 0, error=str(exc))
        try:
            if answer.status != 200:
                return Fetched(obj.key, answer.status)
            sha = hashlib.sha256()
            size = 0
            for chunk in answer.stream(CHUNK):
                sha.update(chunk)
                size += len(chunk)
            return Fetched(obj.key, 200, sha256=sha.hexdigest(), size=size)
        except urllib3.exceptions.HTTPError as exc:
            return Fetched(obj.key, 0, error=str(exc))
        finally:
            answer.release_conn()

    return _run(objects, digest, jobs, progress)
