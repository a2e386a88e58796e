"""Making ``import laion_fmri`` resolve to the compatibility layer, and never over upstream's.

``shim/laion_fmri/`` is a package of re-exports; putting ``shim/`` on the import path (first
on ``sys.path`` here, first on ``PYTHONPATH`` for the runner's command) is all it takes, and
nothing is installed under upstream's name. Where upstream's own package is importable, the
layer refuses in one line instead of shadowing it.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path

from ..errors import UsageError

SHIM = Path(__file__).resolve().parent / "shim"
UPSTREAM = "laion_fmri"


def upstream_location(path: list[str] | None = None) -> str | None:
    """Where upstream's ``laion_fmri`` would be imported from (``path``: the import path,
    default ``sys.path``), leaving out this layer's ``shim/``; None when it is not installed."""
    entries = [p for p in (sys.path if path is None else path) if _not_shim(p)]
    spec = importlib.machinery.PathFinder.find_spec(UPSTREAM, entries)
    if spec is None:
        return None
    return str(spec.origin or (list(spec.submodule_search_locations or []) or [UPSTREAM])[0])


def _not_shim(entry: str) -> bool:
    try:
        return Path(entry or ".").resolve() != SHIM
    except OSError:
        return True


def refusal(location: str) -> str:
    return (
        f"upstream's laion_fmri is installed ({location}); the compatibility layer does not "
        "shadow it: run your code with upstream's package, or `pip uninstall laion-fmri` in "
        "this environment to run it on a clone"
    )


def require_no_upstream() -> None:
    """A one-line ``UsageError`` where upstream's ``laion_fmri`` is importable here."""
    location = upstream_location()
    if location is not None:
        raise UsageError(refusal(location))


def install_as_laion_fmri(dataset: str | os.PathLike[str] | None = None) -> None:
    """Make ``import laion_fmri`` in this process give the compatibility layer, reading the
    clone at ``dataset`` (default: ``$LAION_FMRI_DATASET`` or the clone above the working
    directory), as PyMySQL's ``install_as_MySQLdb()`` does. Call it before the first
    ``import laion_fmri``."""
    loaded = sys.modules.get(UPSTREAM)
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(str(SHIM)):
        raise UsageError(refusal(str(getattr(loaded, "__file__", UPSTREAM))))
    require_no_upstream()
    from .datadir import dataset_initialize

    if dataset is not None:
        dataset_initialize(dataset)
    if str(SHIM) not in sys.path:
        sys.path.insert(0, str(SHIM))
