"""The shell and Python blocks of the README and ``docs/``, as the suite runs them.

A fenced block (```sh or ```python) runs as written, in a directory of its own, after
``make demo`` (``.demo/`` and its clone as ``laion-fmri``) with the demo's server running:
the documented context. The only changes are placeholders a reader replaces too (a store's
``HOST``, a file system's ``/data``), listed in ``PLACEHOLDERS``. A block that cannot run
here says why in an HTML comment on the line above it::

    <!-- not run by the suite: needs the internet (the real bucket) -->

and the reason must be one of ``SKIP_REASONS``: the internet, a real cluster or a real git
host, or being the suite's own command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DOCUMENTS = (
    "README.md",
    *sorted(p.relative_to(REPOSITORY).as_posix() for p in (REPOSITORY / "docs").glob("*.md")),
)
LANGUAGES = {"sh": "sh", "bash": "sh", "python": "python"}
SKIP = re.compile(r"^<!-- not run by the suite: (?P<reason>.+?) -->$")
SKIP_REASONS = (
    "needs the internet",
    "needs a real cluster",
    "needs a real git host",
    "is the suite's own command",
)


@dataclass(frozen=True)
class Block:
    document: str
    line: int  # of the opening fence
    language: str  # "sh" or "python"
    text: str
    skip: str | None  # the reason, when the block is not run

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def blocks(documents: tuple[str, ...] = DOCUMENTS) -> list[Block]:
    """Every shell and Python block of ``documents``, in order."""
    found = []
    for document in documents:
        lines = (REPOSITORY / document).read_text().split("\n")
        index = 0
        while index < len(lines):
            fence = re.match(r"^```(\w+)\s*$", lines[index])
            if fence is None:
                index += 1
                continue
            end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
            language = LANGUAGES.get(fence.group(1))
            if language is not None:
                above = SKIP.match(lines[index - 1]) if index else None
                found.append(
                    Block(
                        document,
                        index + 1,
                        language,
                        "\n".join(lines[index + 1 : end]) + "\n",
                        above.group("reason") if above else None,
                    )
                )
            index = end + 1
    return found
