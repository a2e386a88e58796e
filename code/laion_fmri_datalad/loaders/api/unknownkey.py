"""A lookup by name that found nothing: a ``UsageError`` that is also a ``KeyError``.

Upstream's readers raise ``KeyError`` for an unknown image, noun or model; code written
for them catches that. This error is both, with this package's one-line message (what was
asked, what is known, the closest match).
"""

from __future__ import annotations

from collections.abc import Iterable

from ...checks.choices import unknown
from ...errors import UsageError


class UnknownKeyError(UsageError, KeyError):
    """A name that is not in the table asked; also a ``KeyError``, as upstream raises."""

    __str__ = UsageError.__str__  # the message as written, not quoted as KeyError would


def unknown_key(kind: str, value: object, known: Iterable[str], where: str = "") -> UnknownKeyError:
    return UnknownKeyError(str(unknown(kind, value, known, where)))
