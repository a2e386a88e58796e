"""A synthetic bucket served by a local S3 server, kept in a data directory across restarts.

The data directory remembers the port and which fixture it holds, so restarting the server
on the same directory serves the same object versions at the same URLs (datasets built
from it keep working) instead of uploading new versions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..s3client import BucketLocation
from .accessservice import AccessService
from .fixture.bucket import MANIFEST, Manifest, read_manifest
from .s3load import load_fixture
from .s3server import LocalS3Server, port_is_free

STATE = "served.json"


@dataclass(frozen=True)
class ServedBucket:
    server: LocalS3Server
    manifest: Manifest
    location: BucketLocation
    access: AccessService  # the gated files' access service; stops with the server


def _fingerprint(fixture_dir: Path) -> str:
    return hashlib.sha256((fixture_dir / MANIFEST).read_bytes()).hexdigest()


def _read_state(data_dir: Path) -> dict[str, object]:
    path = data_dir / STATE
    if not path.is_file():
        return {}
    state: dict[str, object] = json.loads(path.read_text())
    return state


def start_bucket(
    fixture_dir: Path,
    data_dir: Path | None = None,
    port: int | None = None,
    versioned: bool = True,
    progress: Callable[[int], None] | None = None,
    jobs: int = 8,
) -> ServedBucket:
    """Start a server on ``data_dir`` and make sure it holds the fixture at ``fixture_dir``."""
    state = _read_state(data_dir) if data_dir is not None else {}
    fingerprint = _fingerprint(fixture_dir)
    reuse = state.get("fixture") == fingerprint and state.get("versioned") == versioned
    recorded = state.get("port")
    if data_dir is not None and state and not reuse:
        # Another fixture was served from here: start afresh rather than stack versions.
        shutil.rmtree(data_dir / "weed", ignore_errors=True)
    if port is None and reuse and isinstance(recorded, int) and port_is_free(recorded):
        port = recorded
    public = read_manifest(fixture_dir).bucket  # anonymous access to this bucket only
    server = LocalS3Server(data_dir, port, public_bucket=public).start()
    try:
        if reuse:
            manifest = read_manifest(fixture_dir)
        else:
            manifest = load_fixture(
                server, fixture_dir, versioned=versioned, jobs=jobs, progress=progress
            )
        access_port = state.get("access_port") if reuse else None
        if not (isinstance(access_port, int) and port_is_free(access_port)):
            access_port = 0
        access = AccessService(server, manifest, fixture_dir, server.data_dir, access_port)
        server.companions.append(access.start().stop)
        if data_dir is not None:
            (data_dir / STATE).write_text(
                json.dumps(
                    {
                        "fixture": fingerprint,
                        "port": server.port,
                        "versioned": versioned,
                        "access_port": access.port,
                    }
                )
            )
    except BaseException:
        server.stop()
        raise
    location = BucketLocation(manifest.bucket, endpoint_url=server.endpoint_url)
    return ServedBucket(server, manifest, location, access)
