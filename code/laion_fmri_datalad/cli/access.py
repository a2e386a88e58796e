"""``request-access``: the gated stimuli's access form, and the token it gives."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..runtime.reports import Done, Report
from .options import access_url, add_dataset

FORM = ("name", "email", "institution", "purpose")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    req = sub.add_parser("request-access", help="request access to the gated stimuli")
    for field in FORM:
        req.add_argument(f"--{field}")
    req.add_argument("--accept-terms", action="store_true", help="accept the terms of use")
    req.add_argument(
        "--access-url", type=access_url, help="access service (default: the clone's, or the real)"
    )
    add_dataset(req, "the clone")
    req.set_defaults(func=run_request_access)


def run_request_access(args: argparse.Namespace) -> Report:
    from ..gated.request import interactive, recorded_service_url, request
    from ..layout.discovery import find_superdataset

    url = args.access_url
    if url is None:
        try:
            url = recorded_service_url(find_superdataset(args.dataset))
        except UsageError:
            url = None  # not in a clone: the default service
    form = {f: getattr(args, f) for f in FORM}
    path, base = request(form, args.accept_terms, url, interactive())
    return Done(f"access granted by {base}; token stored in {path} (mode 0600)")
