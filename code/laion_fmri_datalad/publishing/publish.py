"""Publishing the superdataset and its subdatasets: to a RIA store, or to a git host.

``--to ria+...``: subdatasets are stored by dataset id, and a clone from the store
(``datalad clone ria+file:///STORE#~ALIAS``, or ``ria+https://HOST/PATH#~ALIAS`` once a web
server serves the store's directory) is configured by DataLad to look subdatasets up in the
same store, so ``datalad get sub-01/ses-01`` installs ``sub-01`` with no manual step. Every
repository of the store is left ready for a static web server: ``git update-server-info``
now, and git's ``post-update`` hook, which runs it after every later push (git's "dumb"
HTTP protocol reads ``info/refs`` and ``objects/info/packs``, which it writes).

``--to https://HOST/ORG`` (any other URL): one repository per dataset on a git host
(``githost.py``).

Only git history is pushed (``--data nothing``): annexed content comes from the bucket's
URLs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks import validate
from ..errors import LaionFmriError, UsageError
from ..layout.discovery import is_dataset
from ..repo import datalad
from ..repo.dataset import dataset_id, registered_subdatasets
from ..repo.git import config_get, git, git_or_none
from .githost import DEFAULT_GIT_SIBLING, DEFAULT_PATTERN, GitHostReport, publish_to_git_host

DEFAULT_SIBLING = "ria"
DEFAULT_ALIAS = "laion-fmri"


@dataclass(frozen=True)
class PublishReport:
    store: str
    alias: str
    datasets: int
    ok: bool = True  # a failed push raises instead

    @property
    def clone_url(self) -> str:
        return f"{self.store}#~{self.alias}"

    def summary(self) -> str:
        return f"published {self.datasets} datasets; clone with: datalad clone '{self.clone_url}'"


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1: DataLad's UI writes to the stdout it saw at import."""
    sys.stdout.flush()
    saved = os.dup(1)
    with Path(os.devnull).open("w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _store_location(store: str, dataset: Path) -> str:
    """Where ``dataset`` lives in ``store``: the URL its RIA sibling's git remote has."""
    identity = dataset_id(dataset)
    return f"{store.removeprefix('ria+').rstrip('/')}/{identity[:3]}/{identity[3:]}"


def _same_place(a: str, b: str) -> bool:
    """Whether two remote URLs name one place (a local store's remote is a bare path)."""
    a, b = a.removeprefix("file://"), b.removeprefix("file://")
    if a.startswith("/") and b.startswith("/"):
        return Path(a).resolve() == Path(b).resolve()
    return a.rstrip("/") == b.rstrip("/")


def check_siblings(superdataset: Path, store: str, sibling: str) -> None:
    """Refuse, before anything is written, to publish to ``store`` under a sibling name that
    already points somewhere else (``datalad push`` would go there, not to ``store``)."""
    datasets = [superdataset] + [
        superdataset / name
        for name in sorted(registered_subdatasets(superdataset))
        if (superdataset / name / ".git").exists()
    ]
    for dataset in datasets:
        url = config_get(dataset, f"remote.{sibling}.url")
        if url is not None and not _same_place(url, _store_location(store, dataset)):
            raise UsageError(
                f"sibling {sibling!r} of {str(dataset)!r} points to {url}, not to the store "
                f"{store}; publish with --name NEW to add this store beside it"
            )


def publish(
    dataset: Path,
    target: str,
    *,
    sibling: str | None = None,
    alias: str = DEFAULT_ALIAS,
    jobs: int = 1,
    repo_pattern: str | None = None,
) -> PublishReport | GitHostReport:
    """Publish to a RIA store or a git host, as ``target`` says (``validate.publish_target``).
    ``alias`` names the superdataset (the store's alias, the host's repository);
    ``repo_pattern`` the subdatasets' repositories on a git host."""
    if validate.publish_target(target) == "git":
        return publish_to_git_host(
            dataset,
            target,
            sibling=DEFAULT_GIT_SIBLING if sibling is None else sibling,
            name=alias,
            pattern=repo_pattern or DEFAULT_PATTERN,
        )
    if repo_pattern is not None:
        raise UsageError(
            f"--repo-name {repo_pattern!r} names repositories on a git host; a RIA store "
            "names its datasets by id"
        )
    return publish_to_store(
        dataset,
        target,
        sibling=DEFAULT_SIBLING if sibling is None else sibling,
        alias=alias,
        jobs=jobs,
    )


def publish_to_store(
    dataset: Path,
    store: str,
    *,
    sibling: str = DEFAULT_SIBLING,
    alias: str = DEFAULT_ALIAS,
    jobs: int = 1,
) -> PublishReport:
    """Create (or reuse) RIA siblings for every dataset and push their git history. Every
    value is checked before anything is written."""
    validate.ria_url(store)
    validate.remote_name(sibling)
    validate.remote_name(alias, "alias")
    validate.jobs(jobs, "jobs")
    superdataset = Path(dataset).absolute()
    if not is_dataset(superdataset):
        raise UsageError(f"'{superdataset}' is not a DataLad dataset")
    check_siblings(superdataset, store, sibling)
    common: dict[str, Any] = {"dataset": str(superdataset), "check": False}
    with quiet_stdout():  # DataLad prints one line per dataset it configures
        results = datalad.call(
            "create_sibling_ria",
            url=store,
            name=sibling,
            recursive=True,
            new_store_ok=True,
            alias=alias,
            storage_sibling="off",
            post_update_hook=True,  # git update-server-info after each push (dumb HTTP)
            existing="skip",  # datasets published before keep their sibling
            **common,
        )
    failed = datalad.failures(results)
    with quiet_stdout():
        results = datalad.call(
            "push", to=sibling, recursive=True, data="nothing", jobs=jobs, **common
        )
    failed += datalad.failures(results)
    if failed:
        details = "; ".join(f"{r.get('path')}: {datalad.result_message(r)}" for r in failed[:5])
        raise LaionFmriError(f"publishing to {store} failed for {len(failed)} items: {details}")
    datasets = {str(r.get("path")) for r in results if r.get("action") == "publish"}
    for path in datasets:  # release tags travel with the history (datalad push leaves them)
        if git(Path(path), "tag", "--list").strip():
            git(Path(path), "push", "--quiet", "--tags", sibling)
    if store.startswith("ria+file://"):
        for path in datasets:
            _point_store_head(Path(store.removeprefix("ria+file://")), Path(path))
            _serve_over_http(Path(store.removeprefix("ria+file://")), Path(path))
    return PublishReport(store, alias, len(datasets))


POST_UPDATE = "#!/bin/sh\n# written by laion-fmri-datalad publish: keep the dumb-HTTP files current\nexec git update-server-info\n"


def _serve_over_http(store: Path, dataset: Path) -> None:
    """Ready the store's repository of ``dataset`` for a static web server: the files git's
    dumb HTTP reads, and the hook that keeps them current (stores published before this
    step existed, or by a DataLad that made no hook, get it here)."""
    identity = dataset_id(dataset)
    repo = store / identity[:3] / identity[3:]
    if not repo.is_dir():
        return
    hook = repo / "hooks" / "post-update"
    if not hook.is_file() or "update-server-info" not in hook.read_text(errors="replace"):
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(POST_UPDATE)
    hook.chmod(0o755)
    git(repo, "update-server-info")


def _point_store_head(store: Path, dataset: Path) -> None:
    """Make the store's HEAD name the branch that was pushed, so clones check it out."""
    branch = git_or_none(dataset, "symbolic-ref", "-q", "HEAD")
    if not branch:
        return  # a detached HEAD: no branch to name
    identity = dataset_id(dataset)
    repo = store / identity[:3] / identity[3:]
    if repo.is_dir():
        git(repo, "symbolic-ref", "HEAD", branch)
