"""Shared fixtures: an isolated git environment, the synthetic bucket, local S3 servers.

Tests under ``tests/unit`` are marked ``unit`` (pure logic, no server, run by
``make test-fast``); every other test is marked ``integration``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.devserver.fixture.bucket import Manifest, write_fixture
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.devserver.localbucket import ServedBucket, start_bucket
from laion_fmri_datalad.loaders import Subject, load_subject
from laion_fmri_datalad.publish import publish
from laion_fmri_datalad.repo.env import process_env

REAL_HOME = Path.home()


def _global_config_digest() -> str:
    digest = hashlib.sha256()
    for name in (".gitconfig", ".config/git/config"):
        path = REAL_HOME / name
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
    return digest.hexdigest()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-internet", action="store_true", help="run tests that need the real bucket"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unit = Path(__file__).parent / "unit"
    skip = pytest.mark.skip(reason="needs the internet; pass --run-internet")
    for item in items:
        item.add_marker("unit" if unit in item.path.parents else "integration")
        if "internet" in item.keywords and not config.getoption("--run-internet"):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def isolated_git_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary HOME, a git identity and the loopback allowance, for the whole run."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    env = process_env(
        {k: v for k, v in saved.items() if not k.startswith(("GIT_CONFIG", "GIT_AUTHOR"))}
    )
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own empty HOME (and XDG config): nothing one test writes there (a
    token cache, a git config) is seen by another. Identity and the loopback allowance
    come from the session's environment, not from a file in HOME."""
    home = tmp_path_factory.mktemp("home")
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
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (tiny) synthetic bucket, written once per test run; read-only."""
    directory = tmp_path_factory.mktemp("bucket") / "fixture"
    write_fixture(directory, "tiny", seed=0)
    return directory


@pytest.fixture(scope="session")
def manifest(fixture_dir: Path) -> Manifest:
    from laion_fmri_datalad.devserver.fixture.bucket import read_manifest

    return read_manifest(fixture_dir)


@contextmanager
def serving(fixture_dir: Path, data_dir: Path) -> Iterator[ServedBucket]:
    """A SeaweedFS server on 127.0.0.1 holding the synthetic bucket (versioned)."""
    bucket = start_bucket(fixture_dir, data_dir)
    try:
        yield bucket
    finally:
        bucket.server.stop()


def server_fixture(name: str, scope: Literal["session", "module"] = "module") -> Any:
    """A fixture called ``name`` serving the synthetic bucket from a server of its own: the
    session's shared one, or one per test module for tests that change the bucket."""

    @pytest.fixture(scope=scope, name=name)
    def server(
        fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[ServedBucket]:
        with serving(fixture_dir, tmp_path_factory.mktemp(f"{name}-s3")) as bucket:
            yield bucket

    return server


served = server_fixture("served", scope="session")  # shared: tests only read from it


@pytest.fixture(scope="session")
def built(
    served: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, BuildReport]:
    """The superdataset built from the served bucket; tests treat it as read-only."""
    target = tmp_path_factory.mktemp("built") / "superdataset"
    report = build(target, served.location)
    return target, report


@pytest.fixture(scope="session")
def store(built: tuple[Path, BuildReport], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The built superdataset published to a RIA store; returns the clone URL."""
    directory = tmp_path_factory.mktemp("ria") / "store"
    return publish(built[0], f"ria+file://{directory}").clone_url


@pytest.fixture(scope="module")
def clone(store: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone per test module, as a user has it: no subdataset installed, no
    content (modules that need another kind of clone define their own)."""
    return clone_dataset(store, tmp_path_factory.mktemp("user") / "laion-fmri")


@pytest.fixture(scope="module")
def sub(clone: Path) -> Subject:
    """sub-01 of the module's clone, through the loaders."""
    return load_subject("sub-01", dataset=clone)


@pytest.fixture(scope="module")
def design() -> SubjectDesign:
    """What the generator made for sub-01 of the tiny bucket: the truth loaders meet."""
    return SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def clone_dataset(url: str, path: Path) -> Path:
    import datalad.api as dl

    dl.clone(source=url, path=str(path), result_renderer="disabled")
    return path
