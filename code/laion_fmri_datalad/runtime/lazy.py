"""Names a package exports but imports on first use (PEP 562), so that importing the package
(the command line's ``info``, a worker) does not pay for what it does not call."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving each name of ``where`` from its module (relative to
    ``package``) when first asked for."""

    def attribute(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{where[name]}", package), name)

    return attribute
