"""The S3 boundary: anonymous clients, listing (all versions, paginated) and object URLs.

The same code talks to the real bucket and to a local server; only the endpoint differs.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config

from .errors import BucketError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_BUCKET = "laion-fmri"
DEFAULT_REGION = "us-west-2"


@dataclass(frozen=True)
class BucketLocation:
    """Where a bucket is: the real one by default, a local server with ``endpoint_url``."""

    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if not valid_bucket_name(self.bucket):
            raise UsageError(
                f"bucket name '{self.bucket}' is not allowed; use 3-63 lower-case letters, "
                "digits, dots and hyphens, starting and ending with a letter or digit"
            )
        if self.endpoint_url is not None:
            parsed = urllib.parse.urlparse(self.endpoint_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise UsageError(
                    f"endpoint URL '{self.endpoint_url}' is not allowed; "
                    "use http://HOST:PORT or https://HOST"
                )

    def object_url(self, key: str, version_id: str | None = None) -> str:
        """The anonymous HTTP(S) URL of ``key``, pinned to ``version_id`` when given."""
        quoted = urllib.parse.quote(key, safe="/")
        if self.endpoint_url is None:
            url = f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{quoted}"
        else:
            url = f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{quoted}"
        if version_id and version_id != "null":
            url += "?versionId=" + urllib.parse.quote(version_id, safe="")
        return url


def valid_bucket_name(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
    return (
        3 <= len(name) <= 63
        and set(name) <= allowed
        and name[0].isalnum()
        and name[-1].isalnum()
        and ".." not in name
    )


@dataclass(frozen=True)
class S3Object:
    """One listed object version."""

    key: str
    version_id: str | None  # None where the bucket has no versioning
    etag: str  # without quotes
    size: int
    is_latest: bool = True
    last_modified: str = ""

    @property
    def multipart(self) -> bool:
        return "-" in self.etag

    @property
    def md5(self) -> str | None:
        """The content MD5 when the ETag is one (a plain 32-hex ETag), else None."""
        etag = self.etag.lower()
        if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag):
            return etag
        return None


def anonymous_client(location: BucketLocation) -> S3Client:
    config = Config(
        signature_version=UNSIGNED,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
        s3={"addressing_style": "path" if location.endpoint_url else "auto"},
    )
    client: S3Client = boto3.session.Session().client(
        "s3", region_name=location.region, endpoint_url=location.endpoint_url, config=config
    )
    return client


def describe_client_error(location: BucketLocation, exc: Exception) -> str:
    where = location.endpoint_url or f"s3 region {location.region}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach the S3 endpoint {where}; check --endpoint-url and the network"
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            return f"bucket '{location.bucket}' does not exist at {where}"
        if code in ("AccessDenied", "403"):
            return f"bucket '{location.bucket}' at {where} cannot be listed anonymously"
        return f"listing bucket '{location.bucket}' at {where} failed: {code or exc}"
    return f"listing bucket '{location.bucket}' at {where} failed: {exc}"


def _strip(etag: str) -> str:
    return etag.strip('"')


def iter_listing(location: BucketLocation, client: S3Client | None = None) -> Iterator[S3Object]:
    """Every object version in the bucket (only current objects if it has no versioning).

    Delete markers are skipped: a key whose latest entry is a delete marker is absent.
    """
    client = client or anonymous_client(location)
    try:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=location.bucket):
            page_dict: dict[str, Any] = dict(page)
            deleted = {m["Key"] for m in page_dict.get("DeleteMarkers", []) if m.get("IsLatest")}
            for entry in page_dict.get("Versions", []):
                version = entry.get("VersionId")
                is_latest = bool(entry.get("IsLatest", True)) and entry["Key"] not in deleted
                yield S3Object(
                    key=entry["Key"],
                    version_id=None if version in (None, "null") else version,
                    etag=_strip(entry["ETag"]),
                    size=int(entry["Size"]),
                    is_latest=is_latest,
                    last_modified=entry["LastModified"].isoformat(),
                )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise BucketError(describe_client_error(location, exc)) from None


def current_objects(objects: Iterator[S3Object]) -> dict[str, S3Object]:
    """The latest version of each key."""
    return {o.key: o for o in objects if o.is_latest}
