"""``laion-fmri-datalad request-access``: submit the access form, store the token, check it."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import UsageError
from ..repo.git import git_or_none
from .client import manifest, refresh, request_access
from .tokens import service_url, store_token

FIELDS = ("name", "email", "institution", "purpose")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_form(form: Mapping[str, str | None], accept: bool, interactive: bool) -> None:
    """What can be checked here, before the service is contacted: no empty field, an email
    address that is one, and, where nothing can be asked, every field and the terms."""
    for field in FIELDS:
        value = form.get(field)
        if value is not None and not value.strip():
            raise UsageError(f"--{field} {value!r} is empty; give your {field}")
    email = form.get("email")
    if email and not EMAIL.fullmatch(email.strip()):
        raise UsageError(f"--email {email!r} is not an email address (name@example.org)")
    if not interactive:
        missing = [field for field in FIELDS if not form.get(field)]
        if missing:
            raise UsageError(f"--{missing[0]} is required (or run request-access on a terminal)")
        if not accept:
            raise UsageError("the terms of use must be accepted: pass --accept-terms")


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
    check_form(form, accept, ask is not None)
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
    check_form(filled, True, False)  # what was typed at the prompts, too
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
