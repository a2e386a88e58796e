"""Where the superdataset's URLs point: the real bucket, or the development server.

Every dataset the builder writes carries ``.laion-fmri/inventory.tsv``, a row per bucket
object with the URL it was read from. A dataset whose URLs are on a loopback address was built
from the development server (``laion-fmri-datalad serve``), and only there does git-annex need
its allowance to reach 127.0.0.1 (``repo.env.tool_env(loopback=...)``).
"""

from __future__ import annotations

import csv
import ipaddress
import urllib.parse
from pathlib import Path

from .names import ANALYSIS_INPUTS, INVENTORY


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def recorded_url(dataset: Path) -> str | None:
    """The URL of the first object in the inventory of ``dataset``, of the nearest dataset
    above it that has one (an uninstalled subdataset has none yet), or of the superdataset
    an analysis dataset holds as its input; None when there is none."""
    for directory in (dataset, *dataset.parents, dataset / ANALYSIS_INPUTS):
        inventory = directory / INVENTORY
        if inventory.is_file():
            with inventory.open(newline="") as rows:
                for row in csv.DictReader(rows, delimiter="\t"):
                    if row.get("url"):
                        return row["url"]
            return None
    return None


def serves_from_loopback(dataset: Path) -> bool:
    """Whether ``dataset`` (or the superdataset it lies in) was built from a server on a
    loopback address, so that getting its content needs git-annex's loopback allowance."""
    url = recorded_url(dataset.resolve())
    return url is not None and is_loopback_url(url)
