"""Generated values for every typed argument of every subcommand (issue 38, item 4): the
parser either accepts a value or stops with exit code 2 and one line on stderr that names
the value as given; it never raises anything else. Parsing runs no command, so nothing on
disk can change here (``tests/test_generated_inputs.py`` runs commands and the API).

Per run: 50 typed arguments of 24 commands, 25 generated values each plus the 2 kept as
regression examples: 1,350 command lines, about 9 s (``make test-fast``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from laion_fmri_datalad.cli import build_parser

pytestmark = pytest.mark.unit

# text a user could type: any printable character of any script, spaces, '..', no control
# characters (a shell passes those only on purpose); empty and long values included
TYPED = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=0, max_size=300
).filter(lambda v: not v.startswith("-"))
VALUES = st.one_of(
    TYPED,
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", " ", "..", "../..", "/proc/x", "0", "-0", "1e9", "nan", "ünïcødé dir"]),
)


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from leaves(child, (*path, name))


TYPED_ARGUMENTS = [
    (path, action.option_strings[0] if action.option_strings else None, action.dest)
    for path, parser in leaves(build_parser())
    for action in parser._actions
    if action.type is not None and action.nargs in (None, "?")
]


def test_every_typed_argument_is_driven() -> None:
    commands = {path for path, _, _ in TYPED_ARGUMENTS}
    assert len(TYPED_ARGUMENTS) >= 20 and len(commands) >= 18


@pytest.mark.parametrize(("path", "option", "dest"), TYPED_ARGUMENTS, ids=str)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
@example(value="")  # '' became the current directory (demo --workdir '', serve --data '')
@example(value="99999999999999999999")  # -J and --port with 20 digits
def test_a_generated_value_is_taken_or_refused_in_one_line(
    path: tuple[str, ...], option: str | None, dest: str, value: str
) -> None:
    argv = [*path, f"{option}={value}"] if option else [*path, value]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
            return
        except SystemExit as stop:
            code = stop.code
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, err.getvalue()
    about_this = f"argument {option or dest}" in lines[0] or f"argument {dest}" in lines[0]
    if about_this:
        assert value in lines[0] or repr(value) in lines[0], lines[0]
