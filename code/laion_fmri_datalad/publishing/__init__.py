"""Publishing the superdataset and its subdatasets: to a RIA store (``publish``), or to a
git host, one repository per dataset (``githost``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .githost import GitHostReport, publish_to_git_host
    from .publish import PublishReport, publish

_WHERE = {
    "publish": "publish",
    "PublishReport": "publish",
    "publish_to_git_host": "githost",
    "GitHostReport": "githost",
}

__all__ = [
    "GitHostReport",
    "PublishReport",
    "publish",
    "publish_to_git_host",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
