"""Reading object content during a build: small text files for git, and the hashing of
multipart objects whose ETag is not an MD5 (streamed once, bounded memory, in parallel)."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..s3.client import BucketLocation, S3Object
from ..s3.http import ThreadConnections, parallel_map

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


def fetch_small_files(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Fetched]:
    """GET each object's (versioned) URL into memory; for the small text files only."""
    with ThreadConnections(location.bucket_url()) as connections:

        def get(obj: S3Object) -> Fetched:
            answer = connections.request("GET", location.object_url(obj.key, obj.version_id))
            data = answer.body if answer.status == 200 else b""
            return Fetched(obj.key, answer.status, data=data, size=len(data), error=answer.error)

        return {f.key: f for f in parallel_map(get, objects, jobs, progress)}


def hash_objects(
    location: BucketLocation,
    objects: Iterable[S3Object],
    jobs: int = 4,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Fetched]:
    """Stream each object once and compute its SHA-256 (memory: one chunk per worker)."""
    connections = ThreadConnections(location.bucket_url())

    def digest(obj: S3Object) -> Fetched:
        def consume(response: http.client.HTTPResponse) -> bytes:
            """Hash the body as it streams in; stands in for the body: "<sha256> <size>"."""
            sha = hashlib.sha256()  # afresh on every attempt: a retry starts over
            size = 0
            while chunk := response.read(CHUNK):
                sha.update(chunk)
                size += len(chunk)
            return f"{sha.hexdigest()} {size}".encode()

        answer = connections.request("GET", location.object_url(obj.key, obj.version_id), consume)
        if answer.status != 200:
            return Fetched(obj.key, answer.status, error=answer.error)
        sha256, size = answer.body.decode().split()
        return Fetched(obj.key, 200, sha256=sha256, size=int(size))

    with connections:
        return {f.key: f for f in parallel_map(digest, objects, jobs, progress)}
