"""The suite's fixtures, as a pytest plugin (``conftest.py`` loads it; nothing imports it):
an isolated git environment, the synthetic bucket, local S3 servers, the built and published
superdataset and a user's clone.

Tests under ``tests/unit`` are marked ``unit`` (pure logic, no server, run by
``make test-fast``); every other test is marked ``integration``. The development server
(the ``[demo]`` extra: SeaweedFS, boto3) is imported only by the fixtures that start one, so
the unit tier runs without the extra.

One meaning per name: ``served`` is the session's shared server (tests only read from it),
``own_server`` a server of the requesting module's own (for tests that change the bucket).
Under pytest-xdist each worker process has its own session, so its own server and build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from laion_fmri_datalad.repo.env import tool_env

if TYPE_CHECKING:
    from laion_fmri_datalad.builder.report import BuildReport
    from laion_fmri_datalad.devserver.fixture.bucket import Manifest, ManifestEntry
    from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
    from laion_fmri_datalad.devserver.localbucket import ServedBucket
    from laion_fmri_datalad.loaders import Subject

REAL_HOME = Path.home()
# The identity of the suite's user: in each test's HOME, as a user's ~/.gitconfig has it.
TEST_USER = ("LAION-fMRI Test User", "test-user@laion-fmri.invalid")
GITCONFIG = f"[user]\n\tname = {TEST_USER[0]}\n\temail = {TEST_USER[1]}\n"


def _global_config_digest() -> str:
    digest = hashlib.sha256()
    for name in (".gitconfig", ".config/git/config"):
        path = REAL_HOME / name
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
    return digest.hexdigest()


def make_home(path: Path) -> Path:
    """A HOME whose ``.gitconfig`` names the suite's user, as a user's does."""
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitconfig").write_text(GITCONFIG)
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-internet", action="store_true", help="run tests that need the real bucket"
    )


# The longest modules (from --durations), started first so that the parallel workers do not
# wait on one of them at the end of the run.
SLOW_FIRST = (
    "test_demo.py",
    "test_analysis.py",
    "test_analysis_faults.py",
    "test_provenance.py",
    "test_where_users_are.py",
    "test_build_interrupted.py",
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the markers it adds
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unit = Path(__file__).parent / "unit"
    skip = pytest.mark.skip(reason="needs the internet; pass --run-internet")
    for item in items:
        item.add_marker("unit" if unit in item.path.parents else "integration")
        if "internet" in item.keywords and not config.getoption("--run-internet"):
            item.add_marker(skip)
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept


@pytest.fixture(scope="session", autouse=True)
def isolated_git_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For the whole run: a temporary HOME naming the suite's user, no system git config,
    git-annex on PATH and its loopback allowance (the suite's servers are on 127.0.0.1; the
    suite is a user who asks for it, as the README shows)."""
    home = make_home(tmp_path_factory.mktemp("home"))
    saved = dict(os.environ)
    base = {k: v for k, v in saved.items() if not k.startswith(("GIT_", "EMAIL"))}
    base.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    base["GIT_CONFIG_NOSYSTEM"] = "1"
    env = tool_env(loopback=True, base=base)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own HOME (and XDG config), with the suite user's ``.gitconfig``:
    nothing one test writes there (a token cache, a git config) is seen by another."""
    home = make_home(tmp_path_factory.mktemp("home"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home


@pytest.fixture(autouse=True)
def global_git_config_untouched() -> Iterator[None]:
    """Fail any test that changes the real user's global git configuration."""
    before = _global_config_digest()
    yield
    assert _global_config_digest() == before, "a test changed the real global git config"


@pytest.fixture(scope="session")
def test_user() -> str:
    """``Name <email>`` of the suite's user, as git log's ``%an <%ae>`` prints it."""
    return f"{TEST_USER[0]} <{TEST_USER[1]}>"


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (tiny) synthetic bucket, written once per test run; read-only."""
    from laion_fmri_datalad.devserver.fixture.bucket import write_fixture

    directory = tmp_path_factory.mktemp("bucket") / "fixture"
    write_fixture(directory, "tiny", seed=0)
    return directory


@pytest.fixture(scope="session")
def manifest(fixture_dir: Path) -> Manifest:
    from laion_fmri_datalad.devserver.fixture.bucket import read_manifest

    return read_manifest(fixture_dir)


def _serve(fixture_dir: Path, data_dir: Path) -> Iterator[ServedBucket]:
    """A SeaweedFS server on 127.0.0.1 holding the synthetic bucket (versioned)."""
    from laion_fmri_datalad.devserver.localbucket import start_bucket

    bucket = start_bucket(fixture_dir, data_dir)
    try:
        yield bucket
    finally:
        bucket.server.stop()


@pytest.fixture(scope="session")
def served(fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedBucket]:
    """The session's server of the synthetic bucket, shared: tests only read from it."""
    yield from _serve(fixture_dir, tmp_path_factory.mktemp("served-s3"))


@pytest.fixture(scope="module")
def own_server(
    fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedBucket]:
    """A server of the synthetic bucket for the requesting module alone, which may change
    its bucket."""
    yield from _serve(fixture_dir, tmp_path_factory.mktemp("own-s3"))


SMALL_STREAMS = ("derivatives/anatomical", "derivatives/glmsingle-tedana", "derivatives/rois")


def in_small_bucket(entry: ManifestEntry) -> bool:
    """The small bucket: the top-level files, sub-01's raw data, its anatomy, betas and
    ROIs (with each stream's own top-level files: what ``get sub-01`` fetches), and the
    stimuli files under a megabyte; five subdatasets with annexed, multipart, git-stored
    and withheld objects, not thirteen."""
    parts = entry.key.split("/")
    if len(parts) == 1 or parts[0] == "sub-01":
        return True
    if "/".join(parts[:2]) in SMALL_STREAMS:
        return len(parts) == 3 or parts[2] == "sub-01"
    return parts[0] == "stimuli" and entry.size < 1_000_000


@pytest.fixture(scope="session")
def small_fixture_dir(fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small bucket (``in_small_bucket``) as a fixture directory; read-only: for tests
    whose cost grows with the bucket's objects and subdatasets and whose point does not (a
    build stopped at every step, a build through faults, a server started and stopped)."""
    from laion_fmri_datalad.devserver.fixture.bucket import write_subset

    directory = tmp_path_factory.mktemp("small-bucket") / "fixture"
    write_subset(fixture_dir, directory, in_small_bucket)
    return directory


@pytest.fixture(scope="module")
def small_server(
    small_fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedBucket]:
    """A server of the small bucket for the requesting module alone."""
    yield from _serve(small_fixture_dir, tmp_path_factory.mktemp("small-s3"))


@pytest.fixture(scope="session")
def built(
    served: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, BuildReport]:
    """The superdataset built from the served bucket; tests treat it as read-only."""
    from laion_fmri_datalad.builder.builder import build

    target = tmp_path_factory.mktemp("built") / "superdataset"
    report = build(target, served.location)
    return target, report


@pytest.fixture(scope="session")
def store(built: tuple[Path, BuildReport], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The built superdataset published to a RIA store; returns the clone URL."""
    from laion_fmri_datalad.publishing.publish import publish

    directory = tmp_path_factory.mktemp("ria") / "store"
    return publish(built[0], f"ria+file://{directory}").clone_url


def _clone(url: str, path: Path) -> Path:
    from laion_fmri_datalad.repo import datalad

    datalad.call("clone", source=url, path=str(path))
    return path


@pytest.fixture(scope="session")
def clone_of() -> Callable[[str, Path], Path]:
    """``clone_of(url, path)``: a DataLad clone of ``url`` at ``path``, as a user makes it."""
    return _clone


@pytest.fixture(scope="module")
def clone(store: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone per test module, as a user has it: no subdataset installed, no
    content (modules that need another kind of clone make their own with ``clone_of``)."""
    return _clone(store, tmp_path_factory.mktemp("user") / "laion-fmri")


@pytest.fixture(scope="module")
def sub(clone: Path) -> Subject:
    """sub-01 of the module's clone, through the loaders."""
    from laion_fmri_datalad.loaders import load_subject

    return load_subject("sub-01", dataset=clone)


@pytest.fixture(scope="module")
def design() -> SubjectDesign:
    """What the generator made for sub-01 of the tiny bucket: the truth loaders meet."""
    from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
    from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
    from laion_fmri_datalad.devserver.fixture.spec import get_spec

    return SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())


def _identities(repo: Path, revisions: str = "--all") -> set[str]:
    from laion_fmri_datalad.repo.git import git

    out = git(repo, "log", revisions, "--format=%an <%ae>%n%cn <%ce>")
    return set(out.splitlines())


@pytest.fixture(scope="session")
def identities() -> Callable[..., set[str]]:
    """``identities(repo, revisions="--all")``: every author and committer (``Name
    <email>``) of the commits in ``revisions`` of ``repo``, the git-annex branch included."""
    return _identities


REPOSITORY = Path(__file__).resolve().parents[1]
ANALYSIS_NEEDS = [
    "derivatives/anatomical",
    "derivatives/rois",
    "derivatives/glmsingle-tedana",
    "stimuli",
]


def with_code_and_splits(root: Path, *files: str) -> Path:
    """The dataset at ``root`` with this repository's ``code/`` (and ``files`` of it, such
    as ``CITATION.cff``) saved, then its splits regenerated by ``datalad run``: the one way
    the tests make a clone with splits."""
    import shutil

    from laion_fmri_datalad.repo import datalad
    from laion_fmri_datalad.splits.run import make_splits

    shutil.copytree(
        REPOSITORY / "code",
        root / "code",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in files:
        shutil.copy(REPOSITORY / name, root / name)
    paths = [str(root / p) for p in ("code", *files)]
    datalad.call("save", dataset=str(root), path=paths, message="add code")
    assert make_splits(root).commit is not None
    return root


def analysis_input(clone_of: Callable[[str, Path], Path], source: Path, where: Path) -> Path:
    """A clone of the built superdataset ``source`` with this repository's code and
    regenerated splits, the subdatasets an analysis reads installed (where the analysis's
    clones find them): the input of an analysis dataset."""
    from laion_fmri_datalad.repo import datalad

    root = with_code_and_splits(clone_of(str(source), where / "laion-fmri"))
    paths = [str(root / p) for p in ANALYSIS_NEEDS]
    datalad.call("get", dataset=str(root), path=paths, get_data=False)
    return root
