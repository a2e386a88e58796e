"""The listings the superdataset ships answer "what exists" on a fresh clone without installing
anything, exactly as pybids answers on the installed subdatasets, and are never used for a
subdataset commit they do not describe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.errors import PinWarning, UsageError
from laion_fmri_datalad.layout.discovery import subjects_in
from laion_fmri_datalad.layout.listings import listing_path, parse, parse_sizes
from laion_fmri_datalad.layout.names import GLM, ROIS
from laion_fmri_datalad.loaders import load_subject
from laion_fmri_datalad.loaders.api.discovery import plan_download, plan_get
from laion_fmri_datalad.loaders.clone.content import is_installed
from laion_fmri_datalad.loaders.clone.files import SubjectFiles
from laion_fmri_datalad.loaders.clone.info import CloneInfo, clone_info
from laion_fmri_datalad.loaders.clone.listed import listed_paths
from laion_fmri_datalad.loaders.clone.selection import Selected
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.dataset import registered_subdatasets
from laion_fmri_datalad.repo.git import git


def answers(files: SubjectFiles) -> tuple[list[str], dict[str, list[str]], list[str]]:
    return files.sessions, files.roi_catalogue, files.noise_ceiling_descs


def from_pybids(files: SubjectFiles) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """The same three answers, asked of the installed subdatasets' pybids layouts."""
    glm = files.layout(GLM)
    sessions = sorted(f"ses-{s}" for s in glm.get_sessions(subject=files.label))
    catalogue: dict[str, list[str]] = {}
    for f in files.layout(ROIS).get(
        subject=files.label, res="1pt8", suffix="mask", extension=".nii.gz"
    ):
        entities = f.get_entities()
        catalogue.setdefault(entities["category"], []).append(entities["label"])
    catalogue = {c: sorted(n, key=str.lower) for c, n in sorted(catalogue.items())}
    descs = sorted(
        d
        for d in glm.get(subject=files.label, suffix="statmap", target="desc", return_type="id")
        if d.lower().startswith("noiseceiling")
        and glm.get(subject=files.label, desc=d, session=None, extension=".nii.gz")
    )
    return sessions, catalogue, descs


def test_superdataset_ships_a_listing_per_subdataset(built: tuple[Path, object]) -> None:
    superdataset = built[0]
    for line in git(superdataset, "ls-tree", "HEAD").splitlines():
        meta, path = line.split("\t", 1)
        if meta.split()[1] != "commit":
            continue
        parsed = parse((superdataset / listing_path(path)).read_text())
        assert parsed is not None, path
        commit, paths = parsed
        assert commit == meta.split()[2]
        tracked = git(superdataset / path, "ls-tree", "-r", "--name-only", commit).split()
        assert paths == sorted(p for p in tracked if not p.startswith("."))


def test_listings_carry_every_files_size(built: tuple[Path, object]) -> None:
    """The size the listing ships is the annex key's for an annexed file, the blob's for a
    file in git."""
    superdataset = built[0]
    parsed = parse_sizes((superdataset / listing_path(GLM)).read_text())
    assert parsed is not None
    _, sizes = parsed
    glm = superdataset / GLM
    for path in [p for p in sizes if p.endswith((".nii.gz", ".tsv", ".json"))][:40]:
        target = (glm / path).resolve() if (glm / path).is_symlink() else glm / path
        key = target.name if (glm / path).is_symlink() else None
        expected = (
            int(key.split("-s", 1)[1].split("--")[0].split("-")[0])
            if key
            else target.stat().st_size
        )
        assert sizes[path] == expected, path


def _tally_table(info: CloneInfo) -> dict[str, tuple[int, int]]:
    return {name: (t.files, t.bytes) for name, t in info.streams.items()}


@pytest.fixture(scope="module")
def installed(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A clone with every subdataset installed (no content): what the shipped listings'
    answers are checked against. Tests only read it."""
    root = clone_of(store, tmp_path_factory.mktemp("installed") / "laion-fmri")
    datalad.call("get", path=[str(root)], dataset=str(root), recursive=True, get_data=False)
    return root


def test_info_on_a_fresh_clone_says_what_and_how_big_without_installing(
    clone: Path, installed: Path
) -> None:
    """On a fresh clone ``info`` answers subjects, sessions, ROIs, streams, and files and
    bytes per stream, subject and session from the shipped listings, installing nothing;
    once the subdatasets are installed, the same figures come from them."""
    fresh = clone
    info = clone_info(fresh, None)
    assert not any(is_installed(fresh / name) for name in registered_subdatasets(fresh))
    assert info.not_installed == []
    assert info.sessions["sub-01"] == ["ses-01", "ses-02"]
    assert "FFA1" in info.rois["sub-01"]["face"]
    assert GLM in info.streams and info.streams[GLM].bytes > 0 and info.streams[GLM].unknown == 0
    assert all(t.present == 0 for t in info.streams.values())
    assert sum(t.files for t in info.by_subject.values()) <= sum(
        t.files for t in info.streams.values()
    )
    betas = info.by_session[("sub-01", "ses-01")]
    assert betas.files > 0 and betas.bytes > 0
    assert "(not installed: from the shipped listing)" in info.details()
    one = clone_info(fresh, "sub-01")
    assert one.show_sessions and "  ses-01" in one.details()

    again = clone_info(installed, None)
    assert again.listed == []
    assert _tally_table(again) == _tally_table(info)
    assert {k: (t.files, t.bytes) for k, t in again.by_session.items()} == {
        k: (t.files, t.bytes) for k, t in info.by_session.items()
    }


def test_dry_runs_list_sizes_without_installing(clone: Path, installed: Path) -> None:
    """``get --dry-run`` and ``download --dry-run`` on a fresh clone: the files and sizes
    the real plans give on a clone with its subdatasets installed, with nothing installed."""
    fresh = clone

    def listed(selected: list[Selected], root: Path) -> list[tuple[str, int]]:
        return [(str(s.path.relative_to(root)), s.size) for s in selected]

    asks: list[dict[str, Any]] = [
        {"subject": "sub-01", "ses": "01"},
        {"subject": "all", "desc": "SingletrialBetas", "suffix": "statmap"},
        {"subject": "sub-03", "stream": ["raw"], "ses": "02", "extension": ".tsv"},
        {"subject": "sub-01", "stream": ["tedana"]},
        {"subject": "sub-05", "ses": "averages"},
    ]
    for ask in asks:
        _, dry = plan_get(**ask, dataset=fresh, dry_run=True)
        _, real = plan_get(**ask, dataset=installed)
        assert listed(dry, fresh) == listed(real, installed), ask
    _, dry = plan_download("sub-01", ses="01", include_raw=True, include_tedana=True, dataset=fresh)
    _, real = plan_download(
        "sub-01", ses="01", include_raw=True, include_tedana=True, dataset=installed, dry_run=False
    )
    assert listed(dry, fresh) == listed(real, installed) and len(dry) > 10
    assert not any(is_installed(fresh / name) for name in registered_subdatasets(fresh))
    with pytest.raises(UsageError, match="ses-09"):
        plan_get("sub-01", ses="09", dataset=fresh, dry_run=True)


def test_fresh_clone_answers_without_installing(clone: Path) -> None:
    sub = load_subject("sub-01", dataset=clone, fetch=False)
    assert sub.get_sessions() == ["ses-01", "ses-02"]
    assert "face" in sub.get_available_categories()
    assert "FFA1" in sub.get_available_rois("face")
    assert not is_installed(clone / GLM) and not is_installed(clone / ROIS)


def test_listing_answers_equal_pybids_for_every_subject(installed: Path) -> None:
    clone = installed
    subjects = subjects_in(clone)
    shipped = {s: answers(load_subject(s, dataset=clone).files) for s in subjects}
    for s in subjects:
        files = load_subject(s, dataset=clone).files
        assert shipped[s] == from_pybids(files), s
    assert listed_paths(clone, GLM) is not None  # installed at the recorded commit: still used


def test_listing_not_used_for_another_commit(
    clone_of: Callable[[str, Path], Path], served: ServedBucket, store: str, tmp_path: Path
) -> None:
    clone = clone_of(store, tmp_path / "clone")
    load_subject("sub-01", dataset=clone).files.layout(GLM)  # installs the subdataset
    glm = clone / GLM
    (glm / "sub-01" / "ses-09").mkdir(parents=True)
    moved = glm / "sub-01" / "ses-09" / "sub-01_ses-09_desc-SingletrialBetas_trials.tsv"
    moved.write_text("x\n")
    git(glm, "add", ".")
    git(glm, "commit", "-q", "-m", "a session of its own")
    assert listed_paths(clone, GLM) is None
    # a commit the superdataset does not record: the loaders read it and say so
    with pytest.warns(PinWarning, match=f"subdataset '{GLM}' is at commit"):
        assert "ses-09" in load_subject("sub-01", dataset=clone).get_sessions()


def test_rebuild_adds_listings_to_a_dataset_built_without_them(
    served: ServedBucket, tmp_path: Path
) -> None:
    target = tmp_path / "superdataset"
    build(target, served.location)
    names = [
        p.removeprefix(".laion-fmri/listings/").removesuffix(".txt")
        for p in git(target, "ls-files", ".laion-fmri/listings").split()
    ]
    assert GLM in names and "sub-01" in names
    git(target, "rm", "-q", "-r", ".laion-fmri/listings")
    git(target, "commit", "-q", "-m", "as built before listings were shipped")
    report = build(target, served.location)
    assert report.committed
    assert sorted(git(target, "ls-files", ".laion-fmri/listings").split()) == sorted(
        listing_path(n) for n in names
    )
    assert not build(target, served.location).committed


@pytest.mark.parametrize("text", ["", "garbage\n", "# laion-fmri listing of x at 123\n"])
def test_a_damaged_listing_is_not_used(text: str) -> None:
    assert parse(text) is None
