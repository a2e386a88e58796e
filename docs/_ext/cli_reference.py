"""``{cli-reference}``: every command's help, generated from the command line's own parser
(``laion_fmri_datalad.cli.build_parser``), so the reference cannot drift from the code."""

from __future__ import annotations

import argparse
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from laion_fmri_datalad.cli import PROG, build_parser


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:  # argparse keeps its subparsers here (no public accessor)
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((name, sub))
    return found


class CliReference(SphinxDirective):
    """A section per command (and per sub-command), each with its ``--help``."""

    def run(self) -> list[nodes.Node]:
        parser = build_parser()
        parser.prog = PROG
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help(), language="text")]
        for name, sub in _subcommands(parser):
            out.extend(self._section(f"{PROG} {name}", sub))
        return out

    def _section(self, title: str, parser: argparse.ArgumentParser) -> list[nodes.Node]:
        section = nodes.section(ids=[nodes.make_id(title)])
        section += nodes.title(text=title)
        section += nodes.literal_block(text=parser.format_help(), language="text")
        nested: list[nodes.Node] = [section]
        for name, sub in _subcommands(parser):
            nested.extend(self._section(f"{title} {name}", sub))
        return nested


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
