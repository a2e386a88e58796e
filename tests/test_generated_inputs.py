"""Generated bad inputs, run for real on a clone (issue 38, item 4).

Commands that read a dataset are given generated paths of every kind (missing, a file, a
plain directory, a git repository that is no LAION-fMRI clone; names with spaces, unicode
and ``..``), and the public API generated values of the wrong type and shape (None, bools,
huge integers, NaN, empty, long and unicode text, lists, dicts, bytes). Invariants: a
command exits 1 or 2 with exactly one line on stderr naming the path; a function returns or
raises the project's ``UsageError`` (``UnknownKeyError`` included) with a one-line message,
never ``TypeError``, ``AttributeError``, ``IndexError`` or anything else; and what was
refused changed nothing under the clone or the working directory.

Per run: 10 commands x 7 paths and 10 functions x 14 values, 210 generated inputs (the
figure of the last run is in the suite's durations).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from laion_fmri_datalad.cli import main
from laion_fmri_datalad.compat.datadir import dataset_initialize
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders import Subject, load_subject, load_subjects, plan_download
from test_bad_inputs import snapshot

READERS = [
    ["info"], ["verify"], ["cite"], ["cache", "info"], ["splits", "compare"],
    ["get", "--dry-run"], ["download", "--dry-run"], ["release", "9.0.0"],
    ["analysis", "run", "encoding", "--split", "tau", "--roi", "face"], ["betas", "--subject", "sub-01", "--roi", "FFA1", "--dry-run"],
]  # fmt: skip
KINDS = ("missing", "file", "directory", "git repository")
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\x00"),
    min_size=1,
    max_size=40,
).filter(lambda n: n not in (".", ".."))


@pytest.fixture(scope="module")
def sub(clone: Path) -> Subject:
    return load_subject("sub-01", dataset=clone)


@pytest.fixture(autouse=True)
def here(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of the test's own, watched with the clone."""
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    return cwd


def make(base: Path, kind: str, name: str, dotdot: bool) -> Path:
    """A path of ``kind`` under ``base``, named ``name`` (reached through ``..`` if asked)."""
    target = base / "made" / name
    if kind == "file":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("not a dataset\n")
    elif kind in ("directory", "git repository"):
        target.mkdir(parents=True, exist_ok=True)
        if kind == "git repository":
            subprocess.run(["git", "init", "--quiet", str(target)], check=True)
    return base / "made" / ".." / "made" / name if dotdot else target


@pytest.mark.parametrize("command", READERS, ids=" ".join)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(KINDS), name=NAMES, dotdot=st.booleans())
@example(kind="directory", name="with space and ünïcode", dotdot=True)
def test_a_command_given_no_clone_refuses_in_one_line(
    command: list[str],
    kind: str,
    name: str,
    dotdot: bool,
    clone: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = tmp_path_factory.mktemp("generated")
    path = make(base, kind, name, dotdot)
    watch = [base, clone, Path.cwd()]
    before = snapshot(watch)
    capsys.readouterr()
    try:
        code = main([*command, "-d", str(path)])
    except SystemExit as stop:
        code = int(stop.code or 0)
    err = capsys.readouterr().err
    assert code in (1, 2), err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert name in lines[0] or repr(name)[1:-1] in lines[0], lines[0]
    assert snapshot(watch) == before


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    st.binary(max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=10)), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["", "sub-99", "ses-999", "../..", "all", "FFA9", "ünïcødé", math.nan]),
)


def calls(clone: Path, sub: Subject) -> dict[str, Callable[[Any], Any]]:
    return {
        "load_subject(v)": lambda v: load_subject(v, dataset=clone),
        "load_subjects(v)": lambda v: load_subjects(v, clone),
        "get_betas(v)": lambda v: sub.get_betas(v, roi="FFA1"),
        "get_trial_info(v)": lambda v: sub.get_trial_info(v),
        "get_roi_mask(v)": lambda v: sub.get_roi_mask(v),
        "get_noise_ceiling(desc=v)": lambda v: sub.get_noise_ceiling(desc=v),
        "get_brain_mask(source=v)": lambda v: sub.get_brain_mask(source=v),
        "get_t1w(res=v)": lambda v: sub.get_t1w(res=v),
        "plan_download(ses=v)": lambda v: plan_download("sub-01", ses=v, dataset=clone),
        "dataset_initialize(v)": lambda v: dataset_initialize(v),
    }


CALLS = list(calls(Path(), None).keys())  # type: ignore[arg-type]


@pytest.mark.parametrize("call", CALLS)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=VALUES)
@example(value=None)
@example(value=[])
def test_a_public_function_given_a_bad_value_raises_usage_error(
    call: str, value: Any, clone: Path, sub: Subject
) -> None:
    before = snapshot([clone, Path.cwd()])
    try:
        calls(clone, sub)[call](value)
    except UsageError as exc:  # UnknownKeyError is one
        assert len(str(exc).splitlines()) == 1, str(exc)
        assert snapshot([clone, Path.cwd()]) == before
    # anything else (TypeError, AttributeError, IndexError, ...) fails the test as raised


def test_the_kinds_are_real(tmp_path: Path) -> None:
    made = {kind: make(tmp_path, kind, kind.replace(" ", "-"), False) for kind in KINDS}
    assert not made["missing"].exists() and made["file"].is_file()
    assert made["directory"].is_dir() and (made["git repository"] / ".git").is_dir()
    assert make(tmp_path, "file", "file", True).samefile(made["file"])
