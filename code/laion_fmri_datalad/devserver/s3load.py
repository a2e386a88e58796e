"""Load a synthetic bucket into an S3 server as the real bucket looks.

Versioning is turned on first; objects overwritten once get their older version uploaded
before the current one; flagged objects are uploaded in 5 MiB parts (multipart ETags); a
bucket policy gives anonymous read and list access and denies GET on the denied keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from .fixture.bucket import Manifest, ManifestEntry, read_manifest
from .fixture.spec import GATED_STIMULI_KEY
from .s3server import LocalS3Server

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART_SIZE = 5 * 1024 * 1024


def admin_client(server: LocalS3Server) -> S3Client:
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-west-2",
        aws_access_key_id=server.credentials.access_key,
        aws_secret_access_key=server.credentials.secret_key,
        config=Config(
            s3={"addressing_style": "path"},
            max_pool_connections=16,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
    return client


def bucket_policy(bucket: str, denied: list[str]) -> str:
    arn = f"arn:aws:s3:::{bucket}"
    statements: list[dict[str, object]] = [
        {
            "Sid": "AnonymousRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{arn}/*"],
        },
        {
            "Sid": "AnonymousList",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": [arn],
        },
    ]
    if denied:
        statements.append(
            {
                "Sid": "WithheldObjects",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{arn}/{pattern}" for pattern in denied],
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def put_object(client: S3Client, bucket: str, key: str, data: bytes, multipart: bool) -> None:
    if not multipart or len(data) <= PART_SIZE:
        client.put_object(Bucket=bucket, Key=key, Body=data)
        return
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)
    parts: list[CompletedPartTypeDef] = []
    for number, start in enumerate(range(0, len(data), PART_SIZE), start=1):
        answer = client.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + PART_SIZE],
        )
        parts.append({"ETag": answer["ETag"], "PartNumber": number})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


def ensure_bucket(client: S3Client, bucket: str, versioned: bool = True) -> None:
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def load_fixture(
    server: LocalS3Server,
    fixture_dir: Path,
    *,
    versioned: bool = True,
    bucket: str | None = None,
    jobs: int = 8,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Upload the fixture at ``fixture_dir`` into ``server``; returns its manifest."""
    manifest = read_manifest(fixture_dir)
    name = bucket or manifest.bucket
    client = admin_client(server)
    ensure_bucket(client, name, versioned)

    def upload(entry: ManifestEntry) -> None:
        if entry.previous and versioned:
            old = (fixture_dir / "previous" / entry.key).read_bytes()
            put_object(client, name, entry.key, old, False)
        data = (fixture_dir / "objects" / entry.key).read_bytes()
        put_object(client, name, entry.key, data, entry.multipart)
        if progress is not None:
            progress(1)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(upload, manifest.objects):
            pass
    client.put_bucket_policy(Bucket=name, Policy=bucket_policy(name, manifest.denied))
    # The access service's store: a private bucket holding the gated files, read only
    # through presigned URLs (the public bucket lists them but answers 403).
    ensure_bucket(client, gated_bucket(name), versioned=False)
    for entry in manifest.objects:
        if entry.key in GATED_KEYS:
            data = (fixture_dir / "objects" / entry.key).read_bytes()
            put_object(client, gated_bucket(name), entry.key, data, entry.multipart)
    return manifest


GATED_KEYS = (GATED_STIMULI_KEY,)


def gated_bucket(bucket: str) -> str:
    return f"{bucket}-gated"
