"""Shared fixtures: an isolated git environment, the synthetic bucket, a local S3 server."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from laion_fmri_datalad.build.builder import build
from laion_fmri_datalad.build.report import BuildReport
from laion_fmri_datalad.fixture.bucket import Manifest, write_fixture
from laion_fmri_datalad.gitenv import process_env
from laion_fmri_datalad.localbucket import ServedBucket, start_bucket
from laion_fmri_datalad.publish import publish

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
    if config.getoption("--run-internet"):
        return
    skip = pytest.mark.skip(reason="needs the internet; pass --run-internet")
    for item in items:
        if "internet" in item.keywords:
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
    from laion_fmri_datalad.fixture.bucket import read_manifest

    return read_manifest(fixture_dir)


@contextmanager
def serving(fixture_dir: Path, data_dir: Path) -> Iterator[ServedBucket]:
    """A SeaweedFS server on 127.0.0.1 holding the synthetic bucket (versioned)."""
    bucket = start_bucket(fixture_dir, data_dir)
    try:
        yield bucket
    finally:
        bucket.server.stop()


@pytest.fixture(scope="session")
def served(fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedBucket]:
    """The shared server; tests only read from it."""
    with serving(fixture_dir, tmp_path_factory.mktemp("s3")) as bucket:
        yield bucket


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


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def clone_dataset(url: str, path: Path) -> Path:
    import datalad.api as dl

    dl.clone(source=url, path=str(path), result_renderer="disabled")
    return path
