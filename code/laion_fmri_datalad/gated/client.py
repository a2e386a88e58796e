"""Talking to the access service; each refusal is its own one-line error."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..config import REQUEST_ID
from ..errors import LaionFmriError
from .tokens import FORM_URL_PATH, cache_file

API = "/api/v1"


class AccessError(LaionFmriError):
    """Access to the gated files was refused; the message says what to do."""


def how_to_get_access(base: str) -> str:
    return (
        f"no access token for the gated stimuli: run `laion-fmri-datalad request-access` "
        f"(or use the form at {base}{FORM_URL_PATH}), or set {REQUEST_ID}; "
        f"the token is read from {REQUEST_ID} or {cache_file()}"
    )


def _call(base: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + API + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:  # its body holds the connection
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
        return exc.code, answer
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AccessError(f"the access service at {base} cannot be reached: {reason}") from None


def manifest(base: str) -> dict[str, Any]:
    """The public manifest: ``files`` (name, size, sha256), and as the service documents it
    ``dataset``, ``current_terms_version`` (a date, e.g. ``2026-05-11``) and ``versions``
    (the dataset versions it serves, e.g. ``["v1"]``), each optional."""
    status, answer = _call(base, "/manifest")
    if status != 200 or not isinstance(answer.get("files", []), list):
        raise AccessError(f"the access service at {base} gave no manifest (HTTP {status})")
    return answer


def served_versions(answer: dict[str, Any]) -> list[str]:
    """The dataset versions a manifest says the service serves (none said: the default)."""
    versions = answer.get("versions")
    return [str(v) for v in versions] if isinstance(versions, list) and versions else ["v1"]


def request_access(base: str, form: dict[str, Any]) -> str:
    status, answer = _call(base, "/access/request", form)
    if status in (200, 201) and answer.get("request_id"):
        return str(answer["request_id"])
    if answer.get("error") == "terms_not_accepted":
        raise AccessError(f"the terms must be accepted to get access: {answer.get('terms_url')}")
    if answer.get("error") == "incomplete_form":
        raise AccessError(f"the access form is missing: {', '.join(answer.get('missing', []))}")
    raise AccessError(f"the access request was refused (HTTP {status})")


def refresh(base: str, token: str, dataset_version: str) -> dict[str, Any]:
    """Presigned URLs for the gated files, or an AccessError saying why not."""
    status, answer = _call(
        base, "/refresh", {"request_id": token, "dataset_version": dataset_version}
    )
    if status == 200:
        return answer
    error = answer.get("error")
    if status == 403 and error == "terms_outdated":
        raise AccessError(
            f"the terms of use have changed: accept the new terms at {answer.get('terms_url')} "
            "and request access again (`laion-fmri-datalad request-access`)"
        )
    if status == 403 and error == "revoked":
        raise AccessError(
            "your access token has been revoked; contact the dataset maintainers, or request "
            "access again (`laion-fmri-datalad request-access`)"
        )
    if status == 404:
        raise AccessError(
            f"the access service does not know your token (from {REQUEST_ID} or {cache_file()}): "
            "it was never issued, or its request was anonymised after a year without downloads; "
            "run `laion-fmri-datalad request-access` again"
        )
    raise AccessError(f"the access service refused the token (HTTP {status}: {error})")
