"""Publishing the superdataset and its subdatasets: to a RIA store (``publish``), or to a
git host, one repository per dataset (``githost``)."""

from __future__ import annotations

from .githost import GitHostReport, publish_to_git_host
from .publish import PublishReport, publish

__all__ = [
    "GitHostReport",
    "PublishReport",
    "publish",
    "publish_to_git_host",
]
