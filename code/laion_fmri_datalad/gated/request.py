"""``laion-fmri-datalad request-access``: submit the access form, store the token, check it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..repo.git import git_or_none
from .client import manifest, refresh, request_access
from .tokens import service_url, store_token

FIELDS = ("name", "email", "institution", "purpose")


def recorded_service_url(superdataset: Path | None) -> str | None:
    """The access service URL a clone's ``stimuli`` special remote records (public)."""
    if superdataset is None or not (superdataset / "stimuli" / ".git").exists():
        return None
    log = git_or_none(superdataset / "stimuli", "cat-file", "-p", "git-annex:remote.log") or ""
    for line in log.splitlines():
        if "externaltype=laionfmri" in line:
            for field in line.split():
                if field.startswith("url="):
                    return field[4:]
    return None


def request(
    form: dict[str, str | None],
    accept: bool,
    url: str | None,
    ask: Callable[[str], str] | None = None,
) -> tuple[Path, str]:
    """Fill what is missing interactively (if ``ask``), submit, store and check the token.
    Returns the cache file and the service URL."""
    base = service_url(url)
    terms = manifest(base).get("terms_url", f"{base}/terms")
    filled = {}
    for field in FIELDS:
        value = form.get(field)
        if not value and ask is not None:
            value = ask(f"{field}: ").strip()
        if not value:
            raise UsageError(f"--{field} is required (or run request-access on a terminal)")
        filled[field] = value
    if not accept and ask is not None:
        accept = ask(f"accept the terms of use at {terms}? [y/N] ").strip().lower() in ("y", "yes")
    if not accept:
        raise UsageError(f"the terms of use must be accepted (--accept-terms): {terms}")
    token = request_access(base, {**filled, "accept_terms": True})
    path = store_token(token)
    refresh(base, token, "1")  # the new token works
    return path, base


def interactive() -> Callable[[str], str] | None:
    return input if sys.stdin.isatty() else None
