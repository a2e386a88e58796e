"""The boundary's error: one line naming the command, the repository and the reason."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import RepoError

__all__ = ["RepoError", "command_failed"]

SHOWN_ARGUMENTS = 4


def first_line(text: str | bytes) -> str:
    """The first non-empty line of a tool's message (stderr), stripped."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def command_failed(
    command: Sequence[str], repo: Path | str | None, reason: str | bytes, code: int | None = None
) -> RepoError:
    """``git annex fsck failed in /data/ds: fatal: ...`` (a few arguments, never a token)."""
    shown = " ".join(command[: SHOWN_ARGUMENTS + 1])
    if len(command) > SHOWN_ARGUMENTS + 1:
        shown += " ..."
    where = f" in {repo}" if repo is not None else ""
    why = first_line(reason) or (f"exit code {code}" if code is not None else "failed")
    return RepoError(f"{shown} failed{where}: {why}")
