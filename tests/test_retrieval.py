"""Entity-filtered retrieval (``get``/``download``) and discovery (``info``) on a user's installed_clone.

The expected file lists are computed here from ``git ls-files`` of the subdatasets and a
plain parse of the BIDS names, not with pybids: the two must agree.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.devserver.fixture.precision import SESSIONS as PRECISION_SESSIONS
from laion_fmri_datalad.devserver.fixture.rois import ROI_CATEGORIES
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders import describe, download, get_rois, get_subjects
from laion_fmri_datalad.loaders.api.discovery import plan_get
from laion_fmri_datalad.loaders.clone.content import human
from laion_fmri_datalad.repo.git import git

DEFAULT = ("derivatives/glmsingle-tedana", "derivatives/rois", "derivatives/anatomical")
PAIR = re.compile(r"([a-zA-Z]+)-([a-zA-Z0-9]+)")


def entities(relpath: str) -> dict[str, str]:
    """BIDS entities of a path, parsed by hand: key-value pairs, suffix, extension; the
    subject and session of a file without them in its name (GLMsingle's ``figures/*.png``)
    come from its folders."""
    folders, _, name = relpath.rpartition("/")
    stem, dot, rest = name.partition(".")
    found = {k: v for k, v in (m.groups() for m in PAIR.finditer(stem))}
    parts = stem.split("_")
    if "-" not in parts[-1]:
        found["suffix"] = parts[-1]
    found["extension"] = dot + rest
    for folder in folders.split("/"):
        key, dash, value = folder.partition("-")
        if dash and key in ("sub", "ses"):
            found.setdefault(key, value)
    return found


def registered(installed_clone: Path, subdatasets: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every file of those subdatasets (path in the installed_clone -> entities): the BIDS files
    and the files in a subject's folders."""
    files: dict[str, dict[str, str]] = {}
    for sub in subdatasets:
        for rel in git(installed_clone / sub, "ls-files").splitlines():
            name = rel.rsplit("/", 1)[-1]
            if "/" in rel and (name.startswith("sub-") or "/figures/" in rel):
                files[f"{sub}/{rel}"] = entities(rel)
    return files


def expected(
    files: dict[str, dict[str, str]], subjects: list[str], **wanted: list[str]
) -> list[str]:
    keep = []
    for path, ent in files.items():
        if ent.get("sub") not in [s.removeprefix("sub-") for s in subjects]:
            continue
        ok = True
        for key, values in wanted.items():
            if key == "ses" and "averages" in values:
                ok &= ent.get("ses") in values or "ses" not in ent
            else:
                ok &= ent.get(key) in values
        if ok:
            keep.append(path)
    return sorted(keep)


def planned(installed_clone: Path, subject: object = "all", **filters: Any) -> list[str]:
    content, selected = plan_get(subject, dataset=installed_clone, **filters)
    return sorted(content.relative(s.path) for s in selected)


@pytest.fixture(scope="module")
def installed_clone(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    import datalad.api as dl

    path = Path(clone_of(store, tmp_path_factory.mktemp("retrieval") / "laion-fmri"))
    dl.get(
        path=[str(path / d) for d in (*DEFAULT, "sub-01")],
        dataset=str(path),
        get_data=False,
        result_renderer="disabled",
    )
    return path


@pytest.fixture(scope="module")
def files(installed_clone: Path) -> dict[str, dict[str, str]]:
    """The default streams' files (what ``get`` chooses from unless --stream says more)."""
    return registered(installed_clone, DEFAULT)


@pytest.mark.parametrize(
    ("flag", "values", "key", "bare"),
    [
        ("ses", ["ses-02"], "ses", ["02"]),
        ("ses", ["1", "averages"], "ses", ["01", "averages"]),
        ("task", ["images"], "task", ["images"]),
        ("space", ["T1w"], "space", ["T1w"]),
        ("desc", ["desc-Noiseceiling"], "desc", ["Noiseceiling"]),
        ("stat", ["rsquare", "effect"], "stat", ["rsquare", "effect"]),
        ("suffix", ["mask"], "suffix", ["mask"]),
        ("extension", ["tsv", ".json"], "extension", [".tsv", ".json"]),
    ],
)
def test_each_filter_alone(
    installed_clone: Path,
    files: dict[str, dict[str, str]],
    flag: str,
    values: list[str],
    key: str,
    bare: list[str],
) -> None:
    got = planned(installed_clone, "sub-01", **{flag: values})
    assert got == expected(files, ["sub-01"], **{key: bare})
    assert got


def test_subject_alone_and_streams(installed_clone: Path, files: dict[str, dict[str, str]]) -> None:
    assert planned(installed_clone, "01") == expected(files, ["sub-01"])
    raw = planned(installed_clone, "sub-01", stream="raw", suffix="events")
    assert raw == expected(registered(installed_clone, ("sub-01",)), ["sub-01"], suffix=["events"])
    assert len(raw) == 2 * 2 + 1  # two sessions of two runs, and ses-02's raw-only run-03


def test_precision_mapping_sessions_are_routed_indexed_gettable_and_in_info(
    installed_clone: Path,
) -> None:
    """The precision-mapping sessions (non-numeric labels, TR 1.5 s, DESIGN §2.14): routed
    to the subject's subdataset, found by pybids with ``--ses``/``--task``, sized by
    ``get --dry-run``, and listed by ``info``."""
    import json

    raw = registered(installed_clone, ("sub-01",))
    for label, tasks in PRECISION_SESSIONS.items():
        for task, _ in tasks:
            got = planned(installed_clone, "sub-01", stream="raw", ses=[label], task=[task])
            assert got and got == expected(raw, ["sub-01"], ses=[label], task=[task])
    sidecar = next(p for p in raw if "ses-Corners1" in p and p.endswith("_bold.json"))
    assert json.loads((installed_clone / sidecar).read_text())["RepetitionTime"] == 1.5
    cli = [sys.executable, "-m", "laion_fmri_datalad.cli"]
    dry = subprocess.run(
        [*cli, "get", "--subject", "01", "--stream", "raw", "--ses", "Corners1", "--task",
         "UpperLeft", "--dry-run", "--dataset", str(installed_clone)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert len(dry) == 1 + len(expected(raw, ["sub-01"], ses=["Corners1"], task=["UpperLeft"]))
    assert all("task-UpperLeft" in line for line in dry[:-1])
    info = subprocess.run(
        [*cli, "info", "--subject", "sub-01", "--dataset", str(installed_clone)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in info.splitlines() if x.startswith("sub-01: "))
    assert all(f"ses-{label}" in line.split("more: ")[1] for label in PRECISION_SESSIONS)
    for label in PRECISION_SESSIONS:
        assert re.search(rf"^  ses-{label} +[0-9]+ ", info, re.MULTILINE), label


def test_filters_combined(installed_clone: Path, store: str, tmp_path: Path) -> None:
    import datalad.api as dl

    subjects = ["sub-01", "sub-03"]
    dl.get(
        path=str(installed_clone / "derivatives/glmsingle-tedana"),
        dataset=str(installed_clone),
        get_data=False,
        result_renderer="disabled",
    )
    both = registered(installed_clone, DEFAULT)
    got = planned(
        installed_clone,
        ["01", "sub-03"],
        ses=["01", "averages"],
        desc=["SingletrialBetas", "Noiseceiling4rep"],
        extension="nii.gz",
    )
    want = expected(
        both,
        subjects,
        ses=["01", "averages"],
        desc=["SingletrialBetas", "Noiseceiling4rep"],
        extension=[".nii.gz"],
    )
    assert got == want
    assert len(got) == 4  # betas of ses-01 and the subject-level 4rep ceiling, per subject
    got = planned(installed_clone, "sub-03", space="T1w", stat="rsquare", suffix="statmap")
    assert got == expected(both, ["sub-03"], space=["T1w"], stat=["rsquare"], suffix=["statmap"])


def test_no_match_names_what_exists(installed_clone: Path) -> None:
    with pytest.raises(UsageError) as caught:
        planned(installed_clone, "sub-01", desc="singletrial")
    message = str(caught.value)
    assert message.startswith("no desc 'singletrial'; known: ")
    assert "SingletrialBetas" in message and "Noiseceiling" in message
    assert message.endswith("did you mean 'SingletrialBetas'?")
    with pytest.raises(UsageError, match="no session 'ses-07'; known: averages, ses-01, ses-02"):
        planned(installed_clone, "sub-01", ses="07")
    with pytest.raises(UsageError, match="no subject 'sub-02'"):
        planned(installed_clone, "sub-02")
    with pytest.raises(UsageError, match="no stream 'betas'"):
        planned(installed_clone, "sub-01", stream="betas")
    with pytest.raises(
        UsageError,
        match="matches --desc SingletrialBetas --stat rsquare together; each value exists on its own",
    ):
        planned(installed_clone, "sub-01", stat="rsquare", desc="SingletrialBetas")


def annexed_sizes(dataset: Path) -> dict[str, int]:
    sizes = {}
    for where in ("--in=here", "--not --in=here"):
        out = git(dataset, "annex", "find", *where.split(), "--format=${file} ${bytesize}\\n")
        for line in out.splitlines():
            name, size = line.rsplit(" ", 1)
            sizes[name] = int(size)
    return sizes


def test_dry_run_sizes_are_the_annexed_sizes(installed_clone: Path) -> None:
    _, selected = plan_get("sub-01", ses="02", dataset=installed_clone)
    glm = installed_clone / "derivatives/glmsingle-tedana"
    sizes = annexed_sizes(glm)
    annexed = [s for s in selected if s.annexed]
    assert annexed
    for item in annexed:
        assert item.size == sizes[str(item.path.relative_to(glm))]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "laion_fmri_datalad.cli",
            "get",
            "--subject",
            "01",
            "--ses",
            "02",
            "--desc",
            "SingletrialBetas",
            "--dry-run",
            "--dataset",
            str(installed_clone),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1 + len(
        planned(installed_clone, "sub-01", ses="02", desc="SingletrialBetas")
    )
    assert lines[-1].startswith("would get ")


def tree_digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_download_is_exact_idempotent_and_parallel_equals_serial(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    digests = []
    for jobs in (1, 4):
        fresh = Path(clone_of(store, tmp_path / f"j{jobs}"))
        filters: dict[str, Any] = {
            "ses": "01",
            "extension": ".nii.gz",
            "stream": "glmsingle-tedana",
        }
        summary = download(["sub-01", "sub-05"], n_jobs=jobs, dataset=fresh, **filters)
        # per subject: betas, noise ceiling, R2, fracridge and HRF index maps
        assert summary.ok and summary.fetched == 2 * 5
        _, selected = plan_get(["sub-01", "sub-05"], dataset=fresh, **filters)
        assert all(s.present for s in selected)
        glm = fresh / "derivatives/glmsingle-tedana"
        # exactly the selected content arrived (compared by key: identical maps share one)
        present = set(git(glm, "annex", "find", "--in=here", "--format=${key}\\n").split())
        assert present == {s.path.readlink().name for s in selected if s.annexed}
        again = download(["sub-01", "sub-05"], n_jobs=jobs, dataset=fresh, **filters)
        assert again.fetched == 0 and again.present == again.files == summary.files
        digests.append(tree_digest([s.path for s in selected]))
    assert digests[0] == digests[1]


def test_get_command_summary(installed_clone: Path) -> None:
    filters: dict[str, Any] = {
        "ses": "02",
        "suffix": ["trials", "statmap"],
        "desc": "SingletrialBetas",
    }
    _, before = plan_get("sub-03", dataset=installed_clone, **filters)
    missing = [s for s in before if not s.present]
    here = [s for s in before if s.present]
    assert len(missing) == 1 and len(here) == 3  # the betas; the trial table and sidecars
    run = [
        sys.executable,
        "-m",
        "laion_fmri_datalad.cli",
        "get",
        "--subject",
        "sub-03",
        "--ses",
        "02",
        "--suffix",
        "trials",
        "statmap",
        "--desc",
        "SingletrialBetas",
        "-J",
        "2",
        "--dataset",
        str(installed_clone),
    ]
    first = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    total = human(sum(s.size for s in before))
    assert first.strip() == (
        f"4 files, {total}: 1 fetched ({human(missing[0].size)}), 3 already present "
        f"({human(sum(s.size for s in here))}), 0 failed"
    )
    second = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert (
        second.strip()
        == f"4 files, {total}: 0 fetched (0 B), 4 already present ({total}), 0 failed"
    )
    bad = subprocess.run(
        [*run[:6], "--desc", "singletrial", "--dataset", str(installed_clone)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("laion-fmri-datalad: error: no desc 'singletrial'; known: ")
    assert bad.stderr.count("\n") == 1


def test_discovery_functions(installed_clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert get_subjects(installed_clone) == list(SUBJECTS)
    assert get_rois("sub-03", "place", dataset=installed_clone) == ["MPA", "OPA", "PPA", "SPL"]
    assert len(get_rois(dataset=installed_clone)) == sum(len(v) for v in ROI_CATEGORIES.values())
    describe(installed_clone)
    out = capsys.readouterr().out
    assert "subjects: " + " ".join(SUBJECTS) in out
    assert "sub-01: 2 sessions with betas (ses-01 ... ses-02)" in out
    assert "  face        FFA1 FFA2 OFA pSTSfaces" in out


def test_info_counts_files_and_bytes(installed_clone: Path) -> None:
    glm = installed_clone / "derivatives/glmsingle-tedana"
    sizes = annexed_sizes(glm)
    present = set(git(glm, "annex", "find", "--in=here").splitlines())
    tracked = [p for p in git(glm, "ls-files").splitlines() if p.startswith("sub-")]
    in_git = [p for p in tracked if p not in sizes]
    total = sum(sizes.values()) + sum((glm / p).stat().st_size for p in in_git)
    have = sum(sizes[p] for p in present) + sum((glm / p).stat().st_size for p in in_git)
    from laion_fmri_datalad.loaders.clone.info import clone_info

    info = clone_info(installed_clone)
    tally = info.streams["derivatives/glmsingle-tedana"]
    assert (tally.files, tally.bytes) == (len(tracked), total)
    assert (tally.present, tally.present_bytes) == (len(present) + len(in_git), have)
    assert "derivatives/freesurfer" in info.listed  # not installed: from its listing
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "laion_fmri_datalad.cli",
            "info",
            "--subject",
            "sub-01",
            "--dataset",
            str(installed_clone),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"ROIs of sub-01 ({sum(map(len, ROI_CATEGORIES.values()))}):" in done.stdout
    assert "derivatives/freesurfer" in done.stdout and "not installed" in done.stdout
