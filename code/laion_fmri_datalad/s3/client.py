"""The S3 boundary: anonymous clients, listing (all versions, paginated) and object URLs.

The same code talks to the real bucket and to a local server; only the endpoint differs.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from ..errors import BucketError, UsageError
from .http import ThreadConnections

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

    @property
    def where(self) -> str:
        """The endpoint or region, for messages."""
        return self.endpoint_url or f"s3 region {self.region}"

    def bucket_url(self) -> str:
        """The URL that lists the bucket (path style on a custom endpoint)."""
        if self.endpoint_url is None:
            return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/"
        return f"{self.endpoint_url.rstrip('/')}/{self.bucket}"

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


def _strip(etag: str) -> str:
    return etag.strip('"')


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


_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PAGE_SIZE = 1000


def _error_code(body: bytes) -> str:
    try:
        return ET.fromstring(body).findtext("Code") or ""
    except ET.ParseError:
        return ""


def _list_error(location: BucketLocation, status: int, body: bytes) -> BucketError:
    where = location.where
    code = _error_code(body)
    if status == 404 or code == "NoSuchBucket":
        return BucketError(f"bucket '{location.bucket}' does not exist at {where}")
    if status == 403:
        return BucketError(f"bucket '{location.bucket}' at {where} cannot be listed anonymously")
    return BucketError(
        f"listing bucket '{location.bucket}' at {where} failed: HTTP {status} {code}".rstrip()
    )


def _list_page(location: BucketLocation, connections: ThreadConnections, query: str) -> ET.Element:
    """One listing request of the bucket, parsed; a one-line BucketError on failure."""
    answer = connections.request("GET", f"{location.bucket_url()}?{query}")
    if answer.status == 0:
        unreachable = answer.error.startswith(
            ("ConnectionRefusedError", "gaierror", "TimeoutError")
        )
        if unreachable:
            raise BucketError(
                f"cannot reach the S3 endpoint {location.where} ({answer.error}); "
                "check --endpoint-url and the network"
            )
        raise BucketError(
            f"a listing page of bucket '{location.bucket}' at {location.where} failed on "
            f"every try: {answer.error}"
        )
    if answer.status != 200:
        raise _list_error(location, answer.status, answer.body)
    return ET.fromstring(answer.body)


def _versions_pages(
    location: BucketLocation, connections: ThreadConnections, prefix: str, delimiter: str
) -> Iterator[ET.Element]:
    """The parsed pages of ``ListObjectVersions`` for ``prefix``."""
    params: dict[str, str] = {"versions": "", "max-keys": str(PAGE_SIZE)}
    if prefix:
        params["prefix"] = prefix
    if delimiter:
        params["delimiter"] = delimiter
    while True:
        query = urllib.parse.urlencode(params).replace("versions=", "versions", 1)
        root = _list_page(location, connections, query)
        yield root
        if root.findtext(f"{_NS}IsTruncated") != "true":
            return
        params["key-marker"] = root.findtext(f"{_NS}NextKeyMarker") or ""
        next_version = root.findtext(f"{_NS}NextVersionIdMarker")
        if next_version:
            params["version-id-marker"] = next_version
        else:
            params.pop("version-id-marker", None)


def _versions(page: ET.Element) -> Iterator[S3Object]:
    for element in page.iter(f"{_NS}Version"):
        fields = {child.tag.removeprefix(_NS): child.text or "" for child in element}
        version = fields.get("VersionId", "null")
        yield S3Object(
            key=fields["Key"],
            version_id=None if version in ("", "null") else version,
            etag=_strip(fields["ETag"]),
            size=int(fields["Size"]),
            is_latest=fields.get("IsLatest", "true") == "true",
            last_modified=fields.get("LastModified", ""),
        )


def iter_listing(
    location: BucketLocation, connections: ThreadConnections | None = None, prefix: str = ""
) -> Iterator[S3Object]:
    """Every object version under ``prefix`` (all with version id "null" where versioning
    is off), page by page with anonymous ``ListObjectVersions`` requests.

    Delete markers are not objects: a key whose latest entry is a delete marker has no
    ``is_latest`` version, so it is absent from ``current_objects``.
    """
    own = None  # connections of this call's own, closed when the listing ends
    if connections is None:
        connections = own = ThreadConnections(location.bucket_url())
    try:
        for page in _versions_pages(location, connections, prefix, ""):
            yield from _versions(page)
    finally:
        if own is not None:
            own.close()


def list_versions(location: BucketLocation, jobs: int = 4) -> list[S3Object]:
    """Every object version, the top-level folders listed in parallel: the same result as
    ``iter_listing`` in a fraction of the time on a large bucket."""
    objects: list[S3Object] = []
    prefixes: list[str] = []
    with ThreadConnections(location.bucket_url()) as connections:
        for page in _versions_pages(location, connections, "", "/"):
            objects += _versions(page)
            found = page.iter(f"{_NS}CommonPrefixes")
            prefixes += [c.findtext(f"{_NS}Prefix") or "" for c in found]

        def one(prefix: str) -> list[S3Object]:
            return list(iter_listing(location, connections, prefix))

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as executor:
            for chunk in executor.map(one, sorted(set(prefixes))):
                objects += chunk
    return objects


def iter_current(location: BucketLocation) -> Iterator[S3Object]:
    """The current objects only (``ListObjectsV2``: no version ids), cheaper than listing
    every version; enough to tell that nothing changed since the last build."""
    with ThreadConnections(location.bucket_url()) as connections:
        yield from _current_pages(location, connections)


def _current_pages(location: BucketLocation, connections: ThreadConnections) -> Iterator[S3Object]:
    params: dict[str, str] = {"list-type": "2", "max-keys": str(PAGE_SIZE)}
    while True:
        root = _list_page(location, connections, urllib.parse.urlencode(params))
        for element in root.iter(f"{_NS}Contents"):
            fields = {child.tag.removeprefix(_NS): child.text or "" for child in element}
            yield S3Object(
                key=fields["Key"],
                version_id=None,
                etag=_strip(fields["ETag"]),
                size=int(fields["Size"]),
                last_modified=fields.get("LastModified", ""),
            )
        token = root.findtext(f"{_NS}NextContinuationToken")
        if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
            return
        params["continuation-token"] = token


def same_time(a: str, b: str) -> bool:
    """Whether two S3 time stamps name the same second (listing APIs format them apart)."""
    try:
        first = datetime.fromisoformat(a.replace("Z", "+00:00"))
        second = datetime.fromisoformat(b.replace("Z", "+00:00"))
    except ValueError:
        return False
    return int(first.timestamp()) == int(second.timestamp())


def current_objects(objects: Iterator[S3Object]) -> dict[str, S3Object]:
    """The latest version of each key."""
    return {o.key: o for o in objects if o.is_latest}
