"""A build stopped at any step boundary, by SIGKILL or Ctrl-C, followed by a rerun gives
exactly the dataset of an uninterrupted build: the same trees, annex keys, URL and location
logs, a clean work tree, and a report that says what it resumed.

The harness (a ``git`` wrapper that signals the build at the n-th matching git command, and
the snapshots compared) is ``devserver/killpoints.py``; the rerun runs here."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.killpoints import differences, interrupted_build, snapshot
from laion_fmri_datalad.devserver.localbucket import ServedBucket


@pytest.fixture(scope="module")
def reference(
    small_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    target = tmp_path_factory.mktemp("uninterrupted") / "superdataset"
    assert build(target, small_server.location).ok
    return snapshot(target)


# (pattern in the git command line, which occurrence, signal): the step boundaries of a
# build. 'fast-import' 1 writes the first git-annex branch, 2 the first tree commit;
# 'update-ref -m' moves a HEAD and 'read-tree' checks the commit out (the last ones are
# the superdataset's); 'config -f' writes .gitmodules; 'annex init' creates a subdataset.
KILL_POINTS = [
    ("annex init", 2, signal.SIGKILL),
    ("fast-import", 1, signal.SIGKILL),
    ("fast-import", 2, signal.SIGKILL),
    ("update-ref -m", 1, signal.SIGKILL),
    ("read-tree", 1, signal.SIGKILL),
    ("read-tree", 1, signal.SIGINT),
    ("config -f", 1, signal.SIGKILL),
    ("update-ref -m", -1, signal.SIGKILL),
    ("read-tree", -1, signal.SIGINT),
]


@pytest.fixture(scope="module")
def last_occurrences(
    small_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, int]:
    """How many of each command a clean build runs (to stop at the last one)."""
    counts = {}
    for match in ("update-ref -m", "read-tree"):
        tmp = tmp_path_factory.mktemp("count")
        code, counts[match] = interrupted_build(
            tmp / "sd", small_server.location, tmp, match, 10**6, signal.SIGKILL
        )
        assert code == 0 and counts[match] > 1
    return counts


@pytest.mark.parametrize(
    ("match", "nth", "sig"), KILL_POINTS, ids=[f"{m}#{n}-{s.name}" for m, n, s in KILL_POINTS]
)
def test_a_rerun_after_an_interruption_gives_the_uninterrupted_dataset(
    match: str,
    nth: int,
    sig: signal.Signals,
    small_server: ServedBucket,
    reference: dict[str, object],
    last_occurrences: dict[str, int],
    tmp_path: Path,
) -> None:
    occurrence = last_occurrences[match] if nth == -1 else nth
    target = tmp_path / "superdataset"
    code, reached = interrupted_build(
        target, small_server.location, tmp_path, match, occurrence, sig
    )
    assert reached == occurrence and code != 0, f"not stopped at {match!r} #{occurrence}"
    report = build(target, small_server.location)
    assert report.ok, report.details()
    assert differences(snapshot(target), reference) == []
    again = build(target, small_server.location)
    assert again.ok and not again.committed and not again.resumed
    if match in ("update-ref -m", "read-tree"):  # stopped between HEAD and the work tree
        assert report.resumed and "resumed the interrupted build of" in report.summary()
