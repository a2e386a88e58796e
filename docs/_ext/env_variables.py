"""``{env-variables}``: the table of the ``LAION_FMRI_*`` environment variables, made from
``laion_fmri_datalad.config.VARIABLES`` (their one home), so the docs cannot drift."""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from laion_fmri_datalad.config import VARIABLES

HEADER = ("variable", "default", "what it does", "read by")


def _row(cells: tuple[str, ...], head: bool = False) -> nodes.row:
    row = nodes.row()
    for i, text in enumerate(cells):
        entry = nodes.entry()
        paragraph = nodes.paragraph()
        if head:
            paragraph += nodes.Text(text)
        elif i in (0, 3):
            paragraph += nodes.literal(text=text)
        else:  # `code` spans of the explanation as literals
            for j, part in enumerate(text.split("`")):
                paragraph += nodes.literal(text=part) if j % 2 else nodes.Text(part)
        entry += paragraph
        row += entry
    return row


class EnvVariables(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        table = nodes.table()
        group = nodes.tgroup(cols=len(HEADER))
        for _ in HEADER:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        head += _row(HEADER, head=True)
        body = nodes.tbody()
        for v in VARIABLES:
            body += _row((v.name, v.default, v.meaning, v.read_by))
        group += head
        group += body
        table += group
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("env-variables", EnvVariables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
