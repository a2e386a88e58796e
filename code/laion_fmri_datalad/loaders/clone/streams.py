"""The streams a user can name in a clone (``get --stream``, ``download(stream=...)``,
``info``): the ones upstream documents (``layout/names.py:STREAMS``) and any other
``derivatives/<name>`` subdataset the clone's ``.gitmodules`` registers (a stream the
authors added after this code was written: the builder routes it to a subdataset of its own)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...checks.choices import unknown
from ...layout.discovery import as_list
from ...layout.names import STREAMS, new_stream
from ...repo.dataset import registered_subdatasets


def clone_streams(root: Path) -> dict[str, str | None]:
    """Stream name -> its subdataset (None for raw: each subject's own)."""
    found = dict(STREAMS)
    for path in sorted(registered_subdatasets(root)):
        stream = new_stream(path)
        if stream is not None:
            found[stream] = path
    return found


def chosen_streams(given: Any, known: Mapping[str, str | None]) -> list[str]:
    """The streams named (``all`` for every one), each checked against ``known``."""
    chosen = list(known) if "all" in as_list(given) else as_list(given)
    for stream in chosen:
        if stream not in known:
            raise unknown("stream", stream, [*known, "all"])
    return chosen
