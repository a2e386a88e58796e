"""Every bad input of the reliability probe (issue 14) gets a one-line error naming the value
and what is allowed, before anything is written.

Each row runs a command (in this process, as ``laion-fmri-datalad`` would) or a loader call,
and checks: exit code 2 (a usage error; 1 where the input is fine but a service is not),
exactly one line on stderr that names the value, and no change to any file under the
directories the row watches (paths, sizes, modification times, ``.git/config``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import numpy as np
import pytest

from laion_fmri_datalad.cli import main
from laion_fmri_datalad.config import CACHE_DIR
from laion_fmri_datalad.devserver.localbucket import STATE
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.names import GLM
from laion_fmri_datalad.loaders import Subject, download, load_stimuli, load_subject, load_subjects
from laion_fmri_datalad.loaders.betas.cacheadmin import build_caches
from laion_fmri_datalad.splits.api import get_split_masks, read_split


@dataclass
class Case:
    run: list[str] | Callable[[], Any]  # a CLI argv list, or a loader call
    names: str  # the value the message must name
    watch: list[Path] = field(default_factory=list)
    exit: int = 2


def snapshot(paths: list[Path]) -> dict[str, tuple[int, int]]:
    seen: dict[str, tuple[int, int]] = {}
    for root in paths:
        if not root.exists():
            seen[str(root)] = (-1, -1)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ("objects", "pybids")]
            for name in [*filenames, *dirnames]:
                path = Path(dirpath) / name
                stat = path.lstat()
                seen[str(path)] = (stat.st_size, stat.st_mtime_ns if path.is_file() else 0)
    return seen


@pytest.fixture(scope="module")
def world(
    clone_of: Callable[[str, Path], Path],
    store: str,
    built: tuple[Path, Any],
    fixture_dir: Path,
    tmp_path_factory: Any,
) -> Iterator[dict[str, Path]]:
    """A clone with the betas subdataset installed, a file, an empty directory, a fake
    superdataset without CITATION.cff, server data of another fixture, and a port taken."""
    base = tmp_path_factory.mktemp("bad")
    clone = clone_of(store, base / "clone")
    load_subject("sub-01", dataset=clone).files.layout(GLM)  # installs it
    subprocess.run(["git", "-C", str(clone), "tag", "2.0.0"], check=True)
    (base / "a-file").write_text("not a directory\n")
    (base / "empty").mkdir()
    subprocess.run(["git", "init", "--quiet", str(base / "a-repo")], check=True)
    nocff = base / "no-citation"
    nocff.mkdir()
    (nocff / ".gitmodules").write_text(f'[submodule "{GLM}"]\n\tpath = {GLM}\n\turl = ./{GLM}\n')
    other = base / "other-data"
    other.mkdir()
    (other / STATE).write_text(json.dumps({"fixture": "another", "port": 1, "versioned": True}))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield {
            "base": base,
            "clone": clone,
            "built": built[0],
            "file": base / "a-file",
            "empty": base / "empty",
            "nocff": nocff,
            "other": other,
            "port": Path(str(taken.getsockname()[1])),
            "fixture": fixture_dir,
            "repo": base / "a-repo",
        }


def cases(w: dict[str, Path]) -> dict[str, Case]:
    base, clone, built, port = w["base"], w["clone"], w["built"], str(w["port"])

    def sub() -> Subject:
        return load_subject("sub-01", dataset=clone)

    values = np.zeros(3, dtype=np.float32)
    return {
        # directories that belong to someone else (issue 38, item 2)
        "demo --workdir CLONE": Case(["demo", "--workdir", str(clone)], "DataLad dataset", [clone]),
        "demo --workdir a git repository": Case(
            ["demo", "--workdir", str(w["repo"])], "git repository", [base]
        ),
        "demo --workdir not empty, not a demo": Case(
            ["demo", "--workdir", str(w["nocff"])], "no-citation", [base]
        ),
        "demo --workdir FILE": Case(["demo", "--workdir", str(w["file"])], "a-file", [base]),
        "demo --workdir ''": Case(["demo", "--workdir", ""], "''", [base]),
        "serve --data CLONE": Case(["serve", "--data", str(clone)], "DataLad dataset", [clone]),
        "serve --data ''": Case(["serve", "--data", ""], "''", [base]),
        "serve --data not empty, not server data": Case(
            ["serve", "--data", str(w["nocff"])], "no-citation", [base]
        ),
        "serve --replace-data without --data": Case(
            ["serve", "--replace-data"], "--replace-data", [base]
        ),
        "fixture CLONE": Case(["fixture", str(clone)], "DataLad dataset", [clone]),
        "fixture a git repository": Case(["fixture", str(w["repo"])], "git repository", [base]),
        "fixture ''": Case(["fixture", ""], "''", [base]),
        "fixture not empty, not a fixture": Case(
            ["fixture", str(w["nocff"])], "no-citation", [base]
        ),
        "build -d ''": Case(["build", "-d", ""], "''", [base]),
        "get --ses ''": Case(["get", "--dry-run", "--ses", "", "-d", str(clone)], "''", [clone]),
        "splits import ftp://x/y.json": Case(
            ["splits", "import", "ftp://x/y.json", "-d", str(clone)], "'ftp://x/y.json'", [clone]
        ),
        "get_betas(stimuli=['bogus_image'])": Case(
            lambda: sub().get_betas("ses-01", roi="FFA1", stimuli=["bogus_image"]),
            "'bogus_image'",
            [],
        ),
        "get_embeddings('CLIP', 'notalist')": Case(
            lambda: load_stimuli(clone).get_embeddings("CLIP", "notalist"), "'notalist'", [clone]
        ),
        "request-access --name ''": Case(
            _access("", "a@b.org", "--accept-terms"), "--name ''", [base]
        ),
        "request-access --email bad": Case(_access("A", "bad", "--accept-terms"), "'bad'", [base]),
        "request-access without --accept-terms": Case(
            _access("A", "a@b.org"), "--accept-terms", [base]
        ),
        "verify HEAD --since HEAD~1 with no run between": Case(
            ["verify", "HEAD", "--since", "HEAD~1", "-d", str(clone)], "HEAD~1..HEAD", [clone]
        ),
        "build_caches with $LAION_FMRI_CACHE_DIR a file": Case(
            lambda: _with_env(
                {CACHE_DIR: str(w["file"])}, lambda: build_caches(clone, "sub-01", ["01"])
            ),
            "a-file",
            [clone, base],
        ),
        "serve --fixture FILE": Case(["serve", "--fixture", str(w["file"])], "a-file", [base]),
        "serve --data of another fixture": Case(
            ["serve", "--fixture", str(w["fixture"]), "--data", str(w["other"])],
            "other-data",
            [w["other"]],
        ),
        "serve --port taken, before the fixture": Case(
            ["serve", "--fixture", str(base / "new-fixture"), "--port", port], port, [base]
        ),
        "demo --port taken, before the fixture": Case(
            ["demo", "--workdir", str(base / "new-demo"), "--port", port], port, [base]
        ),
        "serve --port 0": Case(["serve", "--port", "0"], "port 0", [base]),
        "build /proc/x": Case(["build", "/proc/x"], "/proc/x", [base]),
        "build into a file": Case(["build", str(w["file"])], "a-file", [base]),
        "cache info --ses abc": Case(
            ["cache", "info", "--ses", "abc", "-d", str(clone)], "'abc'", [clone]
        ),
        "cache clear --ses 99": Case(
            ["cache", "clear", "--ses", "99", "-d", str(clone)], "'99'", [clone]
        ),
        "build --region ''": Case(["build", str(base / "b"), "--region", ""], "region ''", [base]),
        "splits compare -d missing": Case(
            ["splits", "compare", "-d", str(base / "missing")], "missing", [base]
        ),
        "splits compare -d a plain directory": Case(
            ["splits", "compare", "-d", str(w["empty"])], "empty", [base]
        ),
        "splits compare -d a file": Case(
            ["splits", "compare", "-d", str(w["file"])], "a-file", [base]
        ),
        "fixture into a file": Case(["fixture", str(w["file"])], "a-file", [base]),
        "request-access --access-url not a URL": Case(
            ["request-access", "--access-url", "notaurl", "--accept-terms"], "notaurl", [base]
        ),
        "release a version of 20 digits": Case(
            ["release", "99999999999999999999.0.0", "-d", str(clone)],
            "99999999999999999999.0.0",
            [clone / ".git"],
        ),
        "build --endpoint-url not a URL": Case(
            ["build", str(base / "b"), "--endpoint-url", "localhost:9000"],
            "localhost:9000",
            [base],
        ),
        "build --access-url unreachable": Case(
            ["build", str(base / "b2"), "--access-url", "http://127.0.0.1:9"],
            "127.0.0.1:9",
            [base],
            exit=1,
        ),
        "build -J 0": Case(["build", str(base / "b3"), "-J", "0"], "jobs 0", [base]),
        "build -J abc": Case(["build", str(base / "b3"), "-J", "abc"], "'abc'", [base]),
        "publish --to ria+file:///proc/x": Case(
            ["publish", str(built), "--to", "ria+file:///proc/x"], "/proc/x", [built / ".git"]
        ),
        "publish --to a file": Case(
            ["publish", str(built), "--to", f"ria+file://{w['file']}"], "a-file", [built / ".git"]
        ),
        "publish --to ria+file://relative": Case(
            ["publish", str(built), "--to", "ria+file://relative/store"],
            "relative/store",
            [built / ".git"],
        ),
        "publish --to ftp://": Case(
            ["publish", str(built), "--to", "ftp://x/store"], "ftp://x/store", [built / ".git"]
        ),
        "publish --to a repository, not a base URL": Case(
            ["publish", str(built), "--to", "https://git.example/org/laion-fmri.git"],
            "laion-fmri.git",
            [built / ".git"],
        ),
        "publish --repo-name without {path}": Case(
            ["publish", str(built), "--to", "https://git.example/org", "--repo-name", "{name}"],
            "'{name}'",
            [built / ".git"],
        ),
        "publish --repo-name to a RIA store": Case(
            ["publish", str(built), "--to", f"ria+file://{base}/s4", "--repo-name", "{path}"],
            "{path}",
            [built / ".git", base],
        ),
        "publish --name ''": Case(
            ["publish", str(built), "--to", f"ria+file://{base}/s1", "--name", ""],
            "''",
            [built / ".git", base],
        ),
        "publish --name 'a b'": Case(
            ["publish", str(built), "--to", f"ria+file://{base}/s2", "--name", "a b"],
            "'a b'",
            [built / ".git", base],
        ),
        "publish to another store under the same sibling": Case(
            ["publish", str(built), "--to", f"ria+file://{base}/s3"],
            "s3",
            [built / ".git", base],
        ),
        "cite without CITATION.cff": Case(["cite", "-d", str(w["nocff"])], "no-citation"),
        "release 1.0": Case(["release", "1.0", "-d", str(clone)], "'1.0'", [clone]),
        "release 1.0.0-rc1": Case(["release", "1.0.0-rc1", "-d", str(clone)], "rc1", [clone]),
        "release lower than the last": Case(
            ["release", "1.5.0", "-d", str(clone)], "1.5.0", [clone]
        ),
        "release inside a subdataset": Case(
            ["release", "9.0.0", "-d", str(clone / GLM)], "glmsingle-tedana", [clone]
        ),
        "verify --since no-such-rev": Case(
            ["verify", "--since", "no-such-rev", "-d", str(clone)], "'no-such-rev'", [clone]
        ),
        "info --subject ''": Case(["info", "--subject", "", "-d", str(clone)], "''"),
        "info --subject 99": Case(["info", "--subject", "99", "-d", str(clone)], "'99'"),
        "get -J 0": Case(["get", "-d", str(clone), "-J", "0"], "jobs 0", [clone]),
        "download --n-jobs -1": Case(["download", "-d", str(clone), "-J", "-1"], "-1", [clone]),
        "load_subject(dataset=123)": Case(
            lambda: load_subject("sub-01", dataset=cast(Any, 123)), "123", [clone]
        ),
        "load_subjects(123)": Case(lambda: load_subjects(cast(Any, 123), clone), "123", [clone]),
        "load_subjects(None)": Case(lambda: load_subjects(cast(Any, None), clone), "None", [clone]),
        "load_subjects('all')[99]": Case(lambda: load_subjects("all", clone)[99], "99", [clone]),
        "get_betas(stimuli=123)": Case(
            lambda: sub().get_betas("ses-01", roi="FFA1", stimuli=cast(Any, 123)), "123", [clone]
        ),
        "to_nifti(values, 123)": Case(
            lambda: sub().to_nifti(values, cast(Any, 123)), "123", [base]
        ),
        "get_split_masks(123, ...)": Case(
            lambda: get_split_masks(cast(Any, 123), "random_0", "sub-01", dataset=clone),
            "123",
            [clone],
        ),
        "get_split_masks(pool=None)": Case(
            lambda: get_split_masks(["a"], "random_0", cast(Any, None), dataset=clone),
            "None",
            [clone],
        ),
        "read_split(123)": Case(lambda: read_split(cast(Any, 123)), "123", [clone]),
        "download(subject=None)": Case(
            lambda: download(subject=cast(Any, None), dataset=clone), "None", [clone]
        ),
        "get_image(None)": Case(
            lambda: load_stimuli(clone).get_image(cast(Any, None)), "None", [clone]
        ),
        "get_roi_mask(42)": Case(lambda: sub().get_roi_mask(cast(Any, 42)), "42", [clone]),
        "get_roi_mask(None)": Case(lambda: sub().get_roi_mask(cast(Any, None)), "None", [clone]),
        "to_nifti into a missing directory": Case(
            lambda: sub().to_nifti(values, base / "missing" / "x.nii.gz"), "missing", [base]
        ),
        "to_nifti onto a directory": Case(
            lambda: sub().to_nifti(values, w["empty"]), "empty", [base]
        ),
        "to_nifti onto a directory named .nii.gz": Case(
            lambda: sub().to_nifti(values, _dir(base / "dir.nii.gz")),
            "dir.nii.gz",
            [],
        ),
        "to_nifti with string values": Case(
            lambda: sub().to_nifti(["a", "b"], base / "s.nii.gz"), "not numbers", [base]
        ),
        "download(n_jobs=-1)": Case(
            lambda: download("sub-01", n_jobs=-1, dataset=clone), "-1", [clone]
        ),
        "download(n_jobs=0)": Case(
            lambda: download("sub-01", n_jobs=0, dataset=clone), "0", [clone]
        ),
        "download(n_jobs=10**9)": Case(
            lambda: download("sub-01", n_jobs=10**9, dataset=clone), "1000000000", [clone]
        ),
        "download(n_jobs='4')": Case(
            lambda: download("sub-01", n_jobs=cast(Any, "4"), dataset=clone),
            "'4'",
            [clone],
        ),
        "download(ses=1.5)": Case(
            lambda: download("sub-01", ses=cast(Any, 1.5), dataset=clone), "1.5", [clone]
        ),
        "download(ses='ses-0 1')": Case(
            lambda: download("sub-01", ses="ses-0 1", dataset=clone), "ses-0 1", [clone]
        ),
        "analysis create into a non-empty directory": Case(
            ["analysis", "create", str(w["nocff"]), "--source", str(clone)], "no-citation", [base]
        ),
        "analysis create from a directory that is no dataset": Case(
            ["analysis", "create", str(base / "new"), "--source", str(w["empty"])], "empty", [base]
        ),
        "analysis create --store ria+file://relative": Case(
            [
                "analysis",
                "create",
                str(base / "new"),
                "--source",
                str(clone),
                "--store",
                "ria+file://relative",
            ],
            "ria+file://relative",
            [base],
        ),
        "analysis run in a dataset that is no analysis dataset": Case(
            ["analysis", "run", "encoding", "-d", str(clone), "--split", "tau", "--roi", "face"],
            str(clone),
            [clone],
        ),
        "analysis run -J 0": Case(
            [
                "analysis",
                "run",
                "encoding",
                "-d",
                str(clone),
                "--split",
                "tau",
                "--roi",
                "face",
                "-J",
                "0",
            ],
            "jobs 0",
            [clone],
        ),
        "analysis run --embedding BERT": Case(
            [
                "analysis",
                "run",
                "encoding",
                "-d",
                str(clone),
                "--split",
                "tau",
                "--roi",
                "face",
                "--embedding",
                "BERT",
            ],
            "BERT",
            [clone],
        ),
    }


def _access(name: str, email: str, *more: str) -> list[str]:
    """request-access with a form, to a service that is not there (never reached)."""
    form = ["--name", name, "--email", email, "--institution", "I", "--purpose", "P"]
    return ["request-access", *form, *more, "--access-url", "http://127.0.0.1:9"]


def _with_env(values: dict[str, str], call: Callable[[], Any]) -> Any:
    with mock.patch.dict(os.environ, values):
        return call()


def _dir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


NAMES = [
    "demo --workdir CLONE", "demo --workdir a git repository",
    "demo --workdir not empty, not a demo", "demo --workdir FILE", "demo --workdir ''",
    "serve --data CLONE", "serve --data ''", "serve --data not empty, not server data",
    "serve --replace-data without --data", "fixture CLONE", "fixture a git repository",
    "fixture ''", "fixture not empty, not a fixture", "build -d ''",
    "verify HEAD --since HEAD~1 with no run between", "get --ses ''",
    "splits import ftp://x/y.json", "get_embeddings('CLIP', 'notalist')",
    "get_betas(stimuli=['bogus_image'])",
    "request-access --name ''", "request-access --email bad",
    "request-access without --accept-terms",
    "build_caches with $LAION_FMRI_CACHE_DIR a file",
    "cache info --ses abc", "cache clear --ses 99",
    "load_subject(dataset=123)", "load_subjects(123)", "load_subjects(None)",
    "load_subjects('all')[99]", "get_betas(stimuli=123)", "to_nifti(values, 123)",
    "get_split_masks(123, ...)", "get_split_masks(pool=None)", "read_split(123)",
    "download(subject=None)", "get_image(None)",
    "build --region ''", "splits compare -d missing", "splits compare -d a plain directory",
    "splits compare -d a file", "fixture into a file", "request-access --access-url not a URL",
    "release a version of 20 digits",
    "serve --fixture FILE", "serve --data of another fixture",
    "serve --port taken, before the fixture", "demo --port taken, before the fixture",
    "serve --port 0", "build /proc/x", "build into a file", "build --endpoint-url not a URL",
    "build --access-url unreachable", "build -J 0", "build -J abc",
    "publish --to ria+file:///proc/x", "publish --to a file", "publish --to ria+file://relative",
    "publish --to ftp://", "publish --to a repository, not a base URL",
    "publish --repo-name without {path}", "publish --repo-name to a RIA store", "publish --name ''", "publish --name 'a b'",
    "publish to another store under the same sibling", "cite without CITATION.cff",
    "release 1.0", "release 1.0.0-rc1", "release lower than the last",
    "release inside a subdataset", "verify --since no-such-rev", "info --subject ''", "info --subject 99", "get -J 0",
    "download --n-jobs -1", "get_roi_mask(42)", "get_roi_mask(None)",
    "to_nifti into a missing directory", "to_nifti onto a directory",
    "to_nifti onto a directory named .nii.gz", "to_nifti with string values",
    "download(n_jobs=-1)", "download(n_jobs=0)", "download(n_jobs=10**9)", "download(n_jobs='4')",
    "download(ses=1.5)", "download(ses='ses-0 1')",
    "analysis create into a non-empty directory",
    "analysis create from a directory that is no dataset",
    "analysis create --store ria+file://relative",
    "analysis run in a dataset that is no analysis dataset", "analysis run -J 0",
    "analysis run --embedding BERT",
]  # fmt: skip


def run_case(case: Case, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of a CLI row; for a loader row, 2 and the UsageError's text."""
    if isinstance(case.run, list):
        try:
            code = main(case.run)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        return code, capsys.readouterr().err
    with pytest.raises(UsageError) as caught:
        case.run()
    return 2, str(caught.value) + "\n"


def test_the_table_is_complete(world: dict[str, Path]) -> None:
    assert sorted(cases(world)) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_one_line_before_anything_is_written(
    name: str, world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    case = cases(world)[name]
    before = snapshot(case.watch)
    config = {p: p.read_text() for p in (w / "config" for w in case.watch) if p.is_file()}
    code, err = run_case(case, capsys)
    assert code == case.exit, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert case.names in lines[0], lines[0]
    assert snapshot(case.watch) == before
    assert {p: p.read_text() for p in config} == config
    assert not list(world["base"].rglob("*.partial*"))
