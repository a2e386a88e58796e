"""A local access service for the gated stimuli, with the documented endpoints.

``GET /api/v1/manifest``: the gated files' names, sizes and SHA-256 (public).
``POST /api/v1/access/request``: the access form (name, email, institution, purpose,
``accept_terms``); answers ``{request_id}``.
``POST /api/v1/refresh``: ``{request_id, dataset_version}`` -> ``{expires_at, files: [{name,
url, size, sha256}]}`` with URLs presigned on the local S3 server's private bucket; 403 for
outdated terms or a revoked token, 404 for an unknown one.

Tokens live in a JSON file in the service's state directory (never in a dataset). Tests
revoke tokens, change the terms and shorten URL lifetimes through the Python object.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .fixture.bucket import Manifest
from .s3load import GATED_KEYS, gated_bucket
from .s3server import LOOPBACK, LocalS3Server

API = "/api/v1"
DATASET_VERSION = "v1"  # the access service's default dataset version (DESIGN §2.9)
FORM_FIELDS = ("name", "email", "institution", "purpose")


@dataclass
class ServiceState:
    terms_version: int = 1
    url_ttl: int = 3600
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)


class AccessService:
    """The service on 127.0.0.1; ``url`` is its base URL."""

    def __init__(
        self,
        server: LocalS3Server,
        manifest: Manifest,
        fixture_dir: Path,
        state_dir: Path,
        port: int = 0,
    ) -> None:
        self.s3 = server
        self.bucket = manifest.bucket
        self.state_path = state_dir / "access-service.json"
        self.files = []
        for entry in manifest.objects:
            if entry.key in GATED_KEYS:
                data = (fixture_dir / "objects" / entry.key).read_bytes()
                name = entry.key.rsplit("/", 1)[-1]
                self.files.append(
                    {
                        "name": name,
                        "key": entry.key,
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
        self.state = self._load()
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer((LOOPBACK, port), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._http.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def start(self) -> AccessService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    # -- state ---------------------------------------------------------------------------
    def _load(self) -> ServiceState:
        if self.state_path.is_file():
            return ServiceState(**json.loads(self.state_path.read_text()))
        return ServiceState()

    def _save(self) -> None:
        partial = self.state_path.with_suffix(".partial")
        partial.write_text(json.dumps(self.state.__dict__, indent=1))
        partial.chmod(0o600)
        partial.replace(self.state_path)

    def revoke(self, request_id: str) -> None:
        with self._lock:
            self.state.tokens[request_id]["revoked"] = True
            self._save()

    def forget(self, request_id: str) -> None:
        """Anonymise a request, as the service does after a year without downloads: the
        token becomes unknown (404 on refresh)."""
        with self._lock:
            del self.state.tokens[request_id]
            self._save()

    def new_terms(self) -> None:
        with self._lock:
            self.state.terms_version += 1
            self._save()

    def set_url_ttl(self, seconds: int) -> None:
        with self._lock:
            self.state.url_ttl = seconds
            self._save()

    @property
    def terms_url(self) -> str:
        return f"{self.url}/terms/v{self.state.terms_version}"

    # -- endpoints -----------------------------------------------------------------------
    @property
    def terms_date(self) -> str:
        """The terms version as upstream's service names it: a date (2026-05-11 for the
        first terms, a month later for each change)."""
        month = 5 + self.state.terms_version - 1
        return f"{2026 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-11"

    def manifest(self) -> tuple[int, dict[str, Any]]:
        """The documented manifest (DESIGN §2.12): dataset, date-like terms version, the
        dataset versions served, the files; plus the terms' URL."""
        files = [{k: f[k] for k in ("name", "size", "sha256")} for f in self.files]
        return 200, {
            "dataset": "laion-fmri",
            "current_terms_version": self.terms_date,
            "versions": [DATASET_VERSION],
            "terms_url": self.terms_url,
            "files": files,
        }

    def request(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        missing = [f for f in FORM_FIELDS if not str(form.get(f, "")).strip()]
        if missing:
            return 400, {"error": "incomplete_form", "missing": missing}
        if form.get("accept_terms") is not True:
            return 400, {"error": "terms_not_accepted", "terms_url": self.terms_url}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.state.tokens[token] = {
                **{f: str(form[f]) for f in FORM_FIELDS},
                "terms_version": self.state.terms_version,
                "revoked": False,
            }
            self._save()
        return 201, {"request_id": token, "terms_version": self.state.terms_version}

    def refresh(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = self.state.tokens.get(str(body.get("request_id", "")))
        if token is None:
            return 404, {"error": "unknown_request_id"}
        if token["revoked"]:
            return 403, {"error": "revoked"}
        if token["terms_version"] != self.state.terms_version:
            return 403, {"error": "terms_outdated", "terms_url": self.terms_url}
        ttl = self.state.url_ttl
        client = _presigner(self.s3)
        files = [
            {
                "name": f["name"],
                "size": f["size"],
                "sha256": f["sha256"],
                "url": client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": gated_bucket(self.bucket), "Key": f["key"]},
                    ExpiresIn=ttl,
                ),
            }
            for f in self.files
        ]
        return 200, {"expires_at": int(time.time()) + ttl, "files": files}


def _presigner(server: LocalS3Server) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-west-2",
        aws_access_key_id=server.credentials.access_key,
        aws_secret_access_key=server.credentials.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _handler(service: AccessService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # no request log: tokens
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == f"{API}/manifest":
                self._answer(*service.manifest())
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._answer(400, {"error": "invalid_json"})
                return
            if self.path == f"{API}/access/request":
                self._answer(*service.request(body))
            elif self.path == f"{API}/refresh":
                self._answer(*service.refresh(body))
            else:
                self._answer(404, {"error": "not_found"})

    return Handler
