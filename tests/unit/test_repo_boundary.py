"""The git / git-annex / DataLad boundary: version checks, fsck failures and DataLad's
messages, each a bug once (the test failed before its fix)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.errors import LaionFmriError, RepoError
from laion_fmri_datalad.publishing.publish import publish
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.annex import MIN_GIT_ANNEX, parse_version, require_git_annex
from laion_fmri_datalad.repo.contentcheck import verify_present
from laion_fmri_datalad.repo.errors import command_failed
from laion_fmri_datalad.repo.git import git


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("8.20211231", "10.20230126"),  # as strings '8...' > '1...': the bug
        ("10.20230126", "10.20230127"),
        ("9.99999999", "10.0"),
        ("10.20230126", "10.20250102-g8a9b"),
    ],
)
def test_git_annex_versions_compare_as_numbers(older: str, newer: str) -> None:
    assert parse_version(older) < parse_version(newer)


def _fake_git_annex(directory: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = directory / "git-annex"
    script.write_text(f"#!/bin/sh\necho {version}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    scripts = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", os.pathsep.join([str(directory), scripts, os.environ["PATH"]]))


@pytest.mark.parametrize("version", ["8.20211231", "7.20190819", "10.20220101"])
def test_an_old_git_annex_is_refused(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_git_annex(tmp_path, version, monkeypatch)
    with pytest.raises(LaionFmriError, match=f"git-annex {version} is too old; {MIN_GIT_ANNEX}"):
        require_git_annex()


def test_a_new_enough_git_annex_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_git_annex(tmp_path, "10.20250828-g12ab", monkeypatch)
    assert require_git_annex() == "10.20250828-g12ab"


def test_fsck_that_cannot_run_is_an_error_not_a_success(tmp_path: Path) -> None:
    """A plain git repository has no annex: fsck fails as a whole and prints no record.
    Before the fix, verify_present reported 0 failures (a success)."""
    git(None, "init", "-q", str(tmp_path))
    with pytest.raises(RepoError, match=r"^git annex fsck .*failed in .*: "):
        verify_present(tmp_path, ["anything"])


def test_a_failed_git_command_names_command_repository_and_reason(tmp_path: Path) -> None:
    with pytest.raises(RepoError) as raised:
        git(tmp_path, "rev-parse", "HEAD")
    message = str(raised.value)
    assert message.startswith(f"git rev-parse HEAD failed in {tmp_path}: ")
    assert "not a git repository" in message and "\n" not in message


def test_command_failed_shows_a_few_arguments_and_the_first_line() -> None:
    error = command_failed(
        ["git", "annex", "addurl", "--file", "x", "https://h/x"], Path("/ds"), b"\n\nfirst\nsecond"
    )
    assert str(error) == "git annex addurl --file x ... failed in /ds: first"


def _records(*records: dict[str, Any]) -> Any:
    def command(**kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from records

    return command


def test_publish_failure_formats_datalads_message_tuples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DataLad gives messages as ``(format, *args)``; publish showed the raw tuple."""
    import datalad.api

    dataset = tmp_path / "ds"
    (dataset / ".datalad").mkdir(parents=True)
    (dataset / ".datalad" / "config").write_text("")
    (dataset / ".git").mkdir()  # a dataset to the check; DataLad itself is faked below
    ok = {"action": "create-sibling-ria", "status": "ok", "path": str(dataset)}
    failed = {
        "action": "publish",
        "status": "error",
        "path": str(dataset),
        "message": ("Push to %r failed: %s", "ria", "remote rejected"),
    }
    monkeypatch.setattr(datalad.api, "create_sibling_ria", _records(ok), raising=False)
    monkeypatch.setattr(datalad.api, "push", _records(failed), raising=False)
    with pytest.raises(LaionFmriError) as raised:
        publish(dataset, f"ria+file://{tmp_path / 'store'}")
    message = str(raised.value)
    assert f"{dataset}: Push to 'ria' failed: remote rejected" in message
    assert "%" not in message and "(" not in message


def test_result_message_joins_message_and_error_on_one_line() -> None:
    record = {"status": "error", "message": ("cannot get %s", "x.nii.gz"), "error_message": "a\nb"}
    assert datalad.result_message(record) == "cannot get x.nii.gz; a; b"
    assert datalad.result_message({"status": "impossible"}) == "status impossible"
    # git-annex repeats a special remote's error per attempt; DataLad keeps every copy
    token = "no access token for the gated stimuli: run `laion-fmri-datalad request-access`"
    repeated = {"status": "error", "message": f"{token}\n{token}\n{token}", "error_message": token}
    assert datalad.result_message(repeated) == token
