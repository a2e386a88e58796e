"""The S3 boundary's pure parts: ETags, URLs, bucket names, listing pages, time stamps."""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable

import pytest

from laion_fmri_datalad.errors import BucketError, UsageError
from laion_fmri_datalad.s3.client import (
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    BucketLocation,
    S3Object,
    _error_code,
    _list_error,
    _versions,
    current_objects,
    iter_listing,
    same_time,
    valid_bucket_name,
)
from laion_fmri_datalad.s3.http import Answer, ThreadConnections

LOCAL = BucketLocation(bucket="laion-fmri", endpoint_url="http://127.0.0.1:9")
AWS = BucketLocation()
MD5 = "0123456789abcdef0123456789abcdef"
NS = "http://s3.amazonaws.com/doc/2006-03-01/"

# ---------------------------------------------------------------------------- S3Object


@pytest.mark.parametrize(
    ("etag", "md5", "multipart"),
    [
        (MD5, MD5, False),
        (MD5.upper(), MD5, False),
        (f"{MD5}-2", None, True),
        (f"{MD5}-10000", None, True),
        ("0123456789abcdef0123456789abcde", None, False),  # 31 characters
        ("0123456789abcdef0123456789abcdef0", None, False),  # 33 characters
        ("0123456789abcdef0123456789abcdeg", None, False),  # not hex
        ("", None, False),
    ],
)
def test_s3object_md5_is_the_etag_only_when_it_is_a_plain_md5(
    etag: str, md5: str | None, multipart: bool
) -> None:
    obj = S3Object("k", None, etag, 1)
    assert obj.md5 == md5
    assert obj.multipart is multipart


def test_s3object_defaults_to_latest_with_no_time() -> None:
    obj = S3Object("k", None, MD5, 1)
    assert obj.is_latest is True
    assert obj.last_modified == ""


# ---------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("location", "key", "version", "url"),
    [
        (AWS, "README", None, "https://laion-fmri.s3.us-west-2.amazonaws.com/README"),
        (
            AWS,
            "sub-01/ses-01/anat/x.nii.gz",
            "v1",
            "https://laion-fmri.s3.us-west-2.amazonaws.com/sub-01/ses-01/anat/x.nii.gz?versionId=v1",
        ),
        (
            BucketLocation(region="eu-central-1"),
            "a.json",
            None,
            "https://laion-fmri.s3.eu-central-1.amazonaws.com/a.json",
        ),
        (LOCAL, "README", None, "http://127.0.0.1:9/laion-fmri/README"),
        (LOCAL, "sub-01/a b.json", None, "http://127.0.0.1:9/laion-fmri/sub-01/a%20b.json"),
        (LOCAL, "a+b.json", None, "http://127.0.0.1:9/laion-fmri/a%2Bb.json"),
        (
            LOCAL,
            "stimuli/Bücher_日本.json",
            None,
            "http://127.0.0.1:9/laion-fmri/stimuli/B%C3%BCcher_%E6%97%A5%E6%9C%AC.json",
        ),
        (LOCAL, "q?x#y%z.json", None, "http://127.0.0.1:9/laion-fmri/q%3Fx%23y%25z.json"),
        (LOCAL, "a/b//c", None, "http://127.0.0.1:9/laion-fmri/a/b//c"),
        # version ids are quoted whole, "/" and "+" and "=" included
        (
            LOCAL,
            "a.json",
            "3/L4kqtJl+cpX=",
            "http://127.0.0.1:9/laion-fmri/a.json?versionId=3%2FL4kqtJl%2BcpX%3D",
        ),
        # no version, or the unversioned "null" id: no query
        (LOCAL, "a.json", "", "http://127.0.0.1:9/laion-fmri/a.json"),
        (LOCAL, "a.json", "null", "http://127.0.0.1:9/laion-fmri/a.json"),
        # a trailing slash or a path prefix on the endpoint
        (
            BucketLocation(endpoint_url="http://127.0.0.1:9/"),
            "a.json",
            None,
            "http://127.0.0.1:9/laion-fmri/a.json",
        ),
        (
            BucketLocation(bucket="other-bucket", endpoint_url="https://s3.example.org/prefix/"),
            "a.json",
            "v",
            "https://s3.example.org/prefix/other-bucket/a.json?versionId=v",
        ),
    ],
)
def test_object_url(location: BucketLocation, key: str, version: str | None, url: str) -> None:
    assert location.object_url(key, version) == url


@pytest.mark.parametrize(
    "key", ["a b+c.nii.gz", "ünï/日本.json", "q?x#y%z~_.-!*'()", "sub-01/ses-01/x.nii.gz"]
)
def test_object_url_path_unquotes_to_the_key(key: str) -> None:
    parts = urllib.parse.urlsplit(LOCAL.object_url(key, "v+1"))
    assert urllib.parse.unquote(parts.path) == f"/laion-fmri/{key}"
    assert urllib.parse.parse_qs(parts.query) == {"versionId": ["v+1"]}


@pytest.mark.parametrize(
    ("location", "url", "where"),
    [
        (AWS, "https://laion-fmri.s3.us-west-2.amazonaws.com/", "s3 region us-west-2"),
        (LOCAL, "http://127.0.0.1:9/laion-fmri", "http://127.0.0.1:9"),
        (
            BucketLocation(endpoint_url="http://127.0.0.1:9///"),
            "http://127.0.0.1:9/laion-fmri",
            "http://127.0.0.1:9///",
        ),
        (
            BucketLocation(bucket="abc", region="ap-south-1"),
            "https://abc.s3.ap-south-1.amazonaws.com/",
            "s3 region ap-south-1",
        ),
    ],
)
def test_bucket_url_and_where(location: BucketLocation, url: str, where: str) -> None:
    assert location.bucket_url() == url
    assert location.where == where


def test_default_location_is_the_real_bucket() -> None:
    assert (AWS.bucket, AWS.region, AWS.endpoint_url) == (DEFAULT_BUCKET, DEFAULT_REGION, None)
    assert (DEFAULT_BUCKET, DEFAULT_REGION) == ("laion-fmri", "us-west-2")


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("laion-fmri", True),
        ("abc", True),
        ("a" * 63, True),
        ("a.b-c.1", True),
        ("123", True),
        ("ab", False),
        ("a" * 64, False),
        ("", False),
        ("Laion-fmri", False),
        ("laion_fmri", False),
        ("laion fmri", False),
        ("-laion", False),
        ("laion-", False),
        (".laion", False),
        ("laion.", False),
        ("laion..fmri", False),
        ("laïon", False),
        ("a/b", False),
    ],
)
def test_valid_bucket_name(name: str, valid: bool) -> None:
    assert valid_bucket_name(name) is valid


@pytest.mark.parametrize("name", ["ab", "Laion", "laion_fmri", "laion..fmri", "-x-", ""])
def test_invalid_bucket_name_raises_usage_error_naming_it(name: str) -> None:
    with pytest.raises(UsageError, match=f"bucket name '{name}' is not allowed"):
        BucketLocation(bucket=name)


@pytest.mark.parametrize(
    "endpoint",
    ["", "127.0.0.1:9000", "localhost", "ftp://host", "http://", "https:///path", "file:///tmp"],
)
def test_invalid_endpoint_url_raises_usage_error_naming_it(endpoint: str) -> None:
    with pytest.raises(UsageError, match="is not allowed") as caught:
        BucketLocation(endpoint_url=endpoint)
    assert f"endpoint URL '{endpoint}'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:9", "https://s3.example.org", "http://[::1]:8333/", "HTTP://h"]
)
def test_valid_endpoint_urls_are_accepted(endpoint: str) -> None:
    assert BucketLocation(endpoint_url=endpoint).endpoint_url == endpoint


# ---------------------------------------------------------------------------- time stamps


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00Z", True),
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.999Z", True),
        ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", True),
        ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00.000Z", True),
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z", False),
        ("2024-05-01T12:00:00Z", "2024-05-02T12:00:00Z", False),
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00+01:00", False),
        ("", "", False),
        ("", "2024-05-01T12:00:00Z", False),
        ("yesterday", "yesterday", False),
    ],
)
def test_same_time_compares_to_the_second(a: str, b: str, same: bool) -> None:
    assert same_time(a, b) is same
    assert same_time(b, a) is same


# ---------------------------------------------------------------------------- versions


def test_current_objects_keeps_the_latest_version_of_each_key() -> None:
    versions = [
        S3Object("a", "v1", MD5, 1, is_latest=False),
        S3Object("a", "v2", "f" * 32, 2, is_latest=True),
        S3Object("b", "v1", MD5, 3, is_latest=True),
        S3Object("deleted", "v1", MD5, 4, is_latest=False),  # latest is a delete marker
    ]
    current = current_objects(iter(versions))
    assert current == {"a": versions[1], "b": versions[2]}


def test_current_objects_of_nothing_is_empty() -> None:
    assert current_objects(iter([])) == {}


def page(*entries: str, truncated: bool = False, markers: str = "") -> bytes:
    body = "".join(entries)
    flag = "true" if truncated else "false"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<ListVersionsResult xmlns="{NS}"><Name>laion-fmri</Name>'
        f"<IsTruncated>{flag}</IsTruncated>{markers}{body}</ListVersionsResult>"
    ).encode()


def version(key: str, vid: str, etag: str, size: int, latest: bool, when: str = "") -> str:
    stamp = f"<LastModified>{when}</LastModified>" if when else ""
    return (
        f"<Version><Key>{key}</Key><VersionId>{vid}</VersionId>"
        f"<IsLatest>{'true' if latest else 'false'}</IsLatest>{stamp}"
        f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size>"
        f"<StorageClass>STANDARD</StorageClass></Version>"
    )


DELETE_MARKER = (
    "<DeleteMarker><Key>gone.json</Key><VersionId>d1</VersionId>"
    "<IsLatest>true</IsLatest></DeleteMarker>"
)


def test_versions_parses_a_listing_page() -> None:
    from xml.etree import ElementTree as ET

    xml = page(
        version("a b/ü.json", "v2", MD5, 10, True, "2024-05-01T12:00:00.000Z"),
        version("a b/ü.json", "v1", f"{MD5}-3", 20, False),
        version("null.json", "null", MD5, 0, True),
        DELETE_MARKER,
        version("gone.json", "g1", MD5, 5, False),
    )
    parsed = list(_versions(ET.fromstring(xml)))
    assert parsed == [
        S3Object("a b/ü.json", "v2", MD5, 10, True, "2024-05-01T12:00:00.000Z"),
        S3Object("a b/ü.json", "v1", f"{MD5}-3", 20, False, ""),
        S3Object("null.json", None, MD5, 0, True, ""),
        S3Object("gone.json", "g1", MD5, 5, False, ""),
    ]
    assert "gone.json" not in current_objects(iter(parsed))


class FakeConnections(ThreadConnections):
    """Answers listing requests from canned pages, recording each query."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__(LOCAL.bucket_url())
        self.answers = answers
        self.queries: list[dict[str, list[str]]] = []

    def request(
        self,
        method: str,
        url: str,
        consume: Callable[[http.client.HTTPResponse], bytes] | None = None,
    ) -> Answer:
        assert method == "GET"
        assert url.startswith(LOCAL.bucket_url() + "?")
        query = urllib.parse.urlsplit(url).query
        self.queries.append(urllib.parse.parse_qs(query, keep_blank_values=True))
        return self.answers.pop(0)


def test_iter_listing_follows_key_and_version_markers_across_pages() -> None:
    first = page(
        version("a.json", "v1", MD5, 1, True),
        truncated=True,
        markers="<NextKeyMarker>a.json</NextKeyMarker>"
        "<NextVersionIdMarker>v1</NextVersionIdMarker>",
    )
    second = page(
        version("b.json", "v7", MD5, 2, True),
        truncated=True,
        markers="<NextKeyMarker>b.json</NextKeyMarker>",
    )
    third = page(version("c.json", "null", MD5, 3, True))
    fake = FakeConnections([Answer(200, first), Answer(200, second), Answer(200, third)])
    listed = list(iter_listing(LOCAL, fake, prefix="sub-01/"))
    assert [(o.key, o.version_id) for o in listed] == [
        ("a.json", "v1"),
        ("b.json", "v7"),
        ("c.json", None),
    ]
    assert fake.queries[0] == {"versions": [""], "max-keys": ["1000"], "prefix": ["sub-01/"]}
    assert fake.queries[1]["key-marker"] == ["a.json"]
    assert fake.queries[1]["version-id-marker"] == ["v1"]
    assert fake.queries[2]["key-marker"] == ["b.json"]
    assert "version-id-marker" not in fake.queries[2]
    assert fake.answers == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(0, error="ConnectionRefusedError"), "cannot reach the S3 endpoint"),
        (Answer(404), "bucket 'laion-fmri' does not exist at http://127.0.0.1:9"),
        (Answer(403), "cannot be listed anonymously"),
        (Answer(500, b"<Error><Code>InternalError</Code></Error>"), "HTTP 500 InternalError"),
    ],
)
def test_iter_listing_raises_one_line_bucket_errors(answer: Answer, message: str) -> None:
    with pytest.raises(BucketError, match=message):
        list(iter_listing(LOCAL, FakeConnections([answer])))


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<Error><Code>NoSuchBucket</Code><Message>x</Message></Error>", "NoSuchBucket"),
        (b"<Error><Message>no code</Message></Error>", ""),
        (b"not xml at all", ""),
        (b"", ""),
    ],
)
def test_error_code_reads_the_code_of_an_error_body(body: bytes, code: str) -> None:
    assert _error_code(body) == code


@pytest.mark.parametrize(
    ("location", "status", "body", "message"),
    [
        (LOCAL, 404, b"", "bucket 'laion-fmri' does not exist at http://127.0.0.1:9"),
        (
            LOCAL,
            400,
            b"<Error><Code>NoSuchBucket</Code></Error>",
            "bucket 'laion-fmri' does not exist at http://127.0.0.1:9",
        ),
        (AWS, 404, b"", "bucket 'laion-fmri' does not exist at s3 region us-west-2"),
        (
            AWS,
            403,
            b"<Error><Code>AccessDenied</Code></Error>",
            "bucket 'laion-fmri' at s3 region us-west-2 cannot be listed anonymously",
        ),
        (
            LOCAL,
            503,
            b"<Error><Code>SlowDown</Code></Error>",
            "listing bucket 'laion-fmri' at http://127.0.0.1:9 failed: HTTP 503 SlowDown",
        ),
        (LOCAL, 500, b"", "listing bucket 'laion-fmri' at http://127.0.0.1:9 failed: HTTP 500"),
    ],
)
def test_list_error_messages(
    location: BucketLocation, status: int, body: bytes, message: str
) -> None:
    error = _list_error(location, status, body)
    assert isinstance(error, BucketError)
    assert str(error) == message
