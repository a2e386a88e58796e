"""The user's access token: ``LAION_FMRI_REQUEST_ID``, else the cache file (mode 0600).

The token never enters a dataset, git config, the git-annex branch or any output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..config.variables import ACCESS_URL, REQUEST_ID

DEFAULT_URL = "https://laion-fmri.hebartlab.com"
FORM_URL_PATH = "/access"


def cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "laion-fmri" / "auth.json"


def find_token() -> str | None:
    token = os.environ.get(REQUEST_ID, "").strip()
    if token:
        return token
    path = cache_file()
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text()).get("request_id")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def store_token(token: str) -> Path:
    """Write the cache file with mode 0600 from the start (never readable by others)."""
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"request_id": token}, out)
    partial.replace(path)
    return path


def service_url(configured: str | None = None) -> str:
    """``LAION_FMRI_ACCESS_URL``, else the URL the dataset recorded, else the real service."""
    return (os.environ.get(ACCESS_URL) or configured or DEFAULT_URL).rstrip("/")
