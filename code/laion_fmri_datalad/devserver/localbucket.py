"""A synthetic bucket served by a local S3 server, kept in a data directory across restarts.

The data directory remembers the port and which fixture it holds, so restarting the server
on the same directory serves the same object versions at the same URLs (datasets built
from it keep working) instead of uploading new versions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ServerError, UsageError
from ..s3.client import BucketLocation
from .accessservice import AccessService
from .fixture.bucket import MANIFEST, Manifest, read_manifest
from .fixture.spec import is_denied
from .s3load import load_fixture
from .s3server import READY_TIMEOUT_S, LocalS3Server, check_port, port_is_free

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


def port_to_serve(data_dir: Path | None, port: int | None) -> int | None:
    """The port to serve on: the one asked for, else the one ``data_dir`` was served on
    before (every URL a clone of it recorded points there), else None (a free one). A port
    another process holds is a one-line error saying what to do, before anything is
    written; one whose old sockets are only in TIME_WAIT is free."""
    if port is not None:
        check_port(port)
        return port
    recorded = _read_state(data_dir).get("port") if data_dir is not None else None
    if not isinstance(recorded, int):
        return None
    if not port_is_free(recorded):
        raise UsageError(
            f"port {recorded}, where {data_dir} was served before and where the URLs of its "
            "clones point, is in use by another process; stop that process, or pass --port "
            "to serve elsewhere (clones made before would then need their URLs changed)"
        )
    return recorded


def _holds(state: dict[str, object], fixture_dir: Path, versioned: bool) -> bool:
    """Whether server data in ``state`` holds the fixture at ``fixture_dir``, as asked."""
    return state.get("fixture") == _fingerprint(fixture_dir) and state.get("versioned") == versioned


def check_data_dir(
    fixture_dir: Path, data_dir: Path | None, replace_data: bool, versioned: bool = True
) -> None:
    """Refuse, before anything is written, to serve ``fixture_dir`` from server data that
    holds another fixture, unless ``replace_data`` says to delete it."""
    state = _read_state(data_dir) if data_dir is not None else {}
    if state and not _holds(state, fixture_dir, versioned) and not replace_data:
        raise UsageError(
            f"server data {str(data_dir)!r} holds another fixture than {str(fixture_dir)!r}; "
            "pass --replace-data to delete it and serve this one, or choose another --data"
        )


def wait_serving(server: LocalS3Server, manifest: Manifest) -> None:
    """Wait until a public object of ``manifest`` reads back. Restarted on existing data,
    SeaweedFS's S3 gateway answers before its volumes are loaded, and a GET gives HTTP 500
    for a moment; clients of a served bucket must not see that."""
    key = next(o.key for o in manifest.objects if not is_denied(o.key))
    url = f"{server.endpoint_url}/{manifest.bucket}/{urllib.parse.quote(key)}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                answer.read()
                return
        except OSError as exc:  # HTTPError included
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # its body holds the connection
            if time.monotonic() > deadline:
                raise ServerError(
                    f"SeaweedFS on {server.endpoint_url} did not serve {key} within "
                    f"{READY_TIMEOUT_S:.0f} s: {exc}"
                ) from None
            time.sleep(0.25)


def start_bucket(
    fixture_dir: Path,
    data_dir: Path | None = None,
    port: int | None = None,
    versioned: bool = True,
    progress: Callable[[int], None] | None = None,
    jobs: int = 8,
    replace_data: bool = False,
) -> ServedBucket:
    """Start a server on ``data_dir`` and make sure it holds the fixture at ``fixture_dir``
    (server data of another fixture is deleted only with ``replace_data``)."""
    check_data_dir(fixture_dir, data_dir, replace_data, versioned)
    port = port_to_serve(data_dir, port)
    state = _read_state(data_dir) if data_dir is not None else {}
    reuse = _holds(state, fixture_dir, versioned)
    if data_dir is not None and state and not reuse:
        shutil.rmtree(data_dir / "weed", ignore_errors=True)
    public = read_manifest(fixture_dir).bucket  # anonymous access to this bucket only
    server = LocalS3Server(data_dir, port, public_bucket=public).start()
    try:
        if reuse:
            manifest = read_manifest(fixture_dir)
            wait_serving(server, manifest)
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
                        "fixture": _fingerprint(fixture_dir),
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
