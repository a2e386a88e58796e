"""The one place user values are checked: what each kind accepts, and that every rejection is
one line naming the value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.checks import validate
from laion_fmri_datalad.errors import UsageError

ACCEPTED: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] = [
    (validate.jobs, (1,), 1),
    (validate.jobs, (64,), 64),
    (validate.port_number, (9000,), 9000),
    (validate.version, ("1.2.3",), (1, 2, 3)),
    (validate.version, ("v10.0.1",), (10, 0, 1)),
    (validate.later_version, ("1.1.0", "1.0.0"), (1, 1, 0)),
    (validate.later_version, ("1.0.0", None), (1, 0, 0)),
    (validate.remote_name, ("ria-2.store_x",), "ria-2.store_x"),
    (validate.ria_url, ("ria+ssh://host/store",), "ria+ssh://host/store"),
    (validate.http_url, ("http://127.0.0.1:9000/x", "endpoint"), "http://127.0.0.1:9000/x"),
    (validate.entity_values, ("ses", ["ses-01", 2, "averages"]), ["ses-01", "2", "averages"]),
    (validate.nonempty, ("sub-01", "subject", "sub-01"), "sub-01"),
]

REJECTED: list[tuple[Callable[..., Any], tuple[Any, ...], str]] = [
    (validate.jobs, (0,), "0"),
    (validate.jobs, (-1,), "-1"),
    (validate.jobs, (10**9,), "1000000000"),
    (validate.jobs, ("4",), "'4'"),
    (validate.jobs, (True,), "True"),
    (validate.jobs, (2.0,), "2.0"),
    (validate.port_number, (0,), "0"),
    (validate.port_number, (65536,), "65536"),
    (validate.version, ("1.0",), "'1.0'"),
    (validate.version, ("1.0.0-rc1",), "rc1"),
    (validate.version, ("01.0.0",), "01.0.0"),
    (validate.version, (None,), "None"),
    (validate.later_version, ("0.9.0", "1.0.0"), "0.9.0"),
    (validate.remote_name, ("",), "''"),
    (validate.remote_name, ("a b",), "'a b'"),
    (validate.remote_name, ("-x",), "'-x'"),
    (validate.remote_name, ("a/b",), "'a/b'"),
    (validate.remote_name, (None,), "None"),
    (validate.ria_url, ("ria+file://relative/store",), "relative/store"),
    (validate.ria_url, ("ria+file:///proc/x",), "/proc/x"),
    (validate.ria_url, ("file:///tmp/x",), "file:///tmp/x"),
    (validate.ria_url, ("ria+ssh:///path",), "ria+ssh:///path"),
    (validate.http_url, ("localhost:9000", "endpoint"), "localhost:9000"),
    (validate.http_url, ("http://127.0.0.1:99999/", "endpoint"), "99999"),
    (validate.entity_values, ("ses", 1.5), "1.5"),
    (validate.entity_values, ("ses", "ses-0 1"), "ses-0 1"),
    (validate.entity_values, ("ses", []), "empty"),
    (validate.entity_values, ("ses", [True]), "True"),
    (validate.nonempty, ("", "subject", "sub-01"), "''"),
    (validate.nonempty, ("  ", "subject", "sub-01"), "'  '"),
]


@pytest.mark.parametrize(("check", "args", "expected"), ACCEPTED)
def test_accepted(check: Callable[..., Any], args: tuple[Any, ...], expected: Any) -> None:
    assert check(*args) == expected


@pytest.mark.parametrize(("check", "args", "named"), REJECTED)
def test_rejected_in_one_line_naming_the_value(
    check: Callable[..., Any], args: tuple[Any, ...], named: str
) -> None:
    with pytest.raises(UsageError) as caught:
        check(*args)
    message = str(caught.value)
    assert "\n" not in message and named in message


def test_paths(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    assert validate.directory_to_write(tmp_path / "new" / "deeper", "dataset").name == "deeper"
    for bad, named in [(Path("/proc/x"), "/proc"), (afile, "is a file"), (afile / "x", "under")]:
        with pytest.raises(UsageError, match=named):
            validate.directory_to_write(bad, "dataset")
    with pytest.raises(UsageError, match="does not exist"):
        validate.directory_to_read(tmp_path / "missing", "dataset")
    with pytest.raises(UsageError, match="must end in"):
        validate.file_to_write(tmp_path / "x.txt", "path", (".nii", ".nii.gz"))
    with pytest.raises(UsageError, match="is a directory"):
        validate.file_to_write(tmp_path, "path")
    with pytest.raises(UsageError, match="does not exist"):
        validate.file_to_write(tmp_path / "no" / "x.nii", "path")
