"""A git host on 127.0.0.1 for tests and the demo: git's smart HTTP (``git http-backend``,
run as CGI per request) behind Python's HTTP server, over a directory of bare repositories.

Like GitLab and GIN it creates a repository on its first push (push-to-create); like any
host it can refuse: ``refuse`` names repositories whose pushes get HTTP 403. Clones and
fetches are anonymous; pushes are allowed (``http.receivepack``) since the server only
listens on the loopback interface.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOOPBACK = "127.0.0.1"


@dataclass
class GitHost:
    """The running host: ``base`` is the URL repositories go under (``http://127.0.0.1:PORT/ORG``)."""

    root: Path
    organisation: str
    port: int
    refuse: set[str] = field(default_factory=set)  # repository names whose pushes fail (403)

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/{self.organisation}"

    def repository(self, name: str) -> Path:
        return self.root / self.organisation / f"{name}.git"


def _handler(host: GitHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self._backend()

        def do_POST(self) -> None:
            self._backend()

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _backend(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            pushing = "git-receive-pack" in (url.query + path)
            name = path.split("/")[2].removesuffix(".git") if path.count("/") >= 2 else ""
            if pushing and name in host.refuse:
                self._answer(403, b"pushes to this repository are refused\n")
                return
            repo = host.repository(name) if name else None
            if pushing and repo is not None and not repo.exists():
                repo.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
                subprocess.run(["git", "-C", str(repo), "config", "http.receivepack", "true"])
            body = self._body() if self.command == "POST" else b""
            env = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(host.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(host.root),
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": url.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": "developer",
                "GIT_HTTP_MAX_REQUEST_BUFFER": "1000M",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            done = subprocess.run(
                ["git", "-c", "http.receivepack=true", "http-backend"],
                input=body,
                capture_output=True,
                env=env,
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = done.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode(errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key.strip(), value.strip()))
            if pushing and self.command == "POST" and repo is not None:
                _default_branch(repo)
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self, status: int, text: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    return Handler


def _default_branch(repo: Path) -> None:
    """As GitHub does, a new repository's default branch is the first branch pushed to it
    (``main`` when that came along; never git-annex)."""

    def ref_exists(ref: str) -> bool:
        return (
            subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "-q", "--verify", ref], capture_output=True
            ).returncode
            == 0
        )

    head = subprocess.run(
        ["git", "-C", str(repo), "symbolic-ref", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if head and ref_exists(head):
        return
    branches = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(refname)", "refs/heads/"],
        capture_output=True,
        text=True,
    ).stdout.split()
    chosen = [b for b in branches if b == "refs/heads/main"] or [
        b for b in branches if b != "refs/heads/git-annex"
    ]
    if chosen:
        subprocess.run(["git", "-C", str(repo), "symbolic-ref", "HEAD", chosen[0]], check=True)


@contextmanager
def serve_git_host(root: Path, organisation: str = "laion") -> Iterator[GitHost]:
    """A git host over ``root`` on a free loopback port, for the ``with`` block."""
    root.mkdir(parents=True, exist_ok=True)
    host = GitHost(root, organisation, 0)
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(host))
    host.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """A static web server over ``root`` on a free loopback port (Python's ``http.server``,
    as any web server serving a RIA store's directory): yields its base URL."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((LOOPBACK, 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
