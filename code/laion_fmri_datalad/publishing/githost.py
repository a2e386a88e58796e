"""Publishing to a git host: one repository per dataset under a base URL, as OpenNeuro's and
the HCP's DataLad datasets are published (GitHub, GitLab, GIN, or any server of git's smart
HTTP or SSH).

Repositories are named as ``datalad create-sibling-github -r`` names them: the superdataset
``NAME``, each subdataset ``NAME-<its path with '/' as '-'>`` (``laion-fmri-sub-01``,
``laion-fmri-derivatives-rois``), or by a pattern the caller gives (``{name}``, ``{path}``).
The superdataset's ``.gitmodules`` gets each subdataset's URL on the host (one commit, when
they change), so ``datalad clone https://HOST/ORG/NAME.git`` then ``datalad get
sub-01/ses-01`` install the subdatasets from there; annexed content comes from the bucket's
URLs, which travel on each dataset's git-annex branch.

Nothing is half-published: every target is checked first (a repository that exists with
history that is not this dataset's, a sibling name that points elsewhere, a host that cannot
be reached: one line, nothing written), subdatasets are pushed before the superdataset, and
a failed push stops before the superdataset is pushed. Running publish again finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..checks import validate
from ..errors import LaionFmriError, RepoError, UsageError
from ..layout.discovery import is_dataset
from ..repo.dataset import registered_subdatasets
from ..repo.git import config_get, git, git_or_none, remote_refs, rev_parse
from .annexbranch import has_annex_branch, public_annex_commit, published_annex_commit

DEFAULT_GIT_SIBLING = "githost"
DEFAULT_PATTERN = "{name}-{path}"
GITMODULES_MESSAGE = "[laion-fmri] publish: subdatasets' URLs on {base}"


@dataclass(frozen=True)
class GitHostReport:
    base: str
    name: str
    datasets: int
    pushed: int
    urls_committed: bool
    ok: bool = True  # a failed push raises instead

    @property
    def clone_url(self) -> str:
        return repository_url(self.base, self.name)

    def summary(self) -> str:
        changed = "; .gitmodules now names the host's URLs" if self.urls_committed else ""
        return (
            f"published {self.datasets} datasets to {self.base} ({self.pushed} pushed){changed}; "
            f"clone with: datalad clone {self.clone_url}"
        )


def repository_url(base: str, repository: str) -> str:
    return f"{base.rstrip('/')}/{repository}.git"


def repository_names(name: str, pattern: str, subdatasets: list[str]) -> dict[str, str]:
    """Subdataset path ("" for the superdataset) -> repository name; each checked, and two
    datasets never share one."""
    validate.repo_name(name, "superdataset repository name")
    if "{path}" not in pattern:
        raise UsageError(f"--repo-name {pattern!r} has no {{path}}: subdatasets would share it")
    names = {"": name}
    for path in subdatasets:
        try:
            names[path] = pattern.format(name=name, path=path.replace("/", "-"))
        except (KeyError, IndexError, ValueError):
            raise UsageError(
                f"--repo-name {pattern!r} is not allowed; use {{name}} and {{path}} only"
            ) from None
        validate.repo_name(names[path], f"repository name of {path} ({pattern!r})")
    if len(set(names.values())) != len(names):
        raise UsageError(f"--repo-name {pattern!r} gives two datasets the same repository")
    return names


def _check_target(dataset: Path, sibling: str, url: str) -> bool:
    """Whether ``dataset`` has anything to push to ``url``; refuses, before anything is
    written, a sibling name that points elsewhere and a repository with other history."""
    current = config_get(dataset, f"remote.{sibling}.url")
    if current is not None and current != url:
        raise UsageError(
            f"sibling {sibling!r} of {str(dataset)!r} points to {current}, not to {url}; "
            "publish with --name NEW to add this host beside it"
        )
    refs = remote_refs(dataset, url)
    if refs is None or not refs:
        return True  # a new (or empty) repository: the host creates it, or it was made empty
    branch = git_or_none(dataset, "symbolic-ref", "-q", "--short", "HEAD") or "main"
    theirs = refs.get(f"refs/heads/{branch}")
    if theirs is None:
        return True
    if rev_parse(dataset, theirs) is None or (
        git_or_none(dataset, "merge-base", "--is-ancestor", theirs, "HEAD") is None
    ):
        raise UsageError(
            f"repository {url} already exists with other history (its {branch} is at "
            f"{theirs[:12]}, which {str(dataset)!r} does not contain); publish under another "
            "--alias or --repo-name, or remove that repository"
        )
    if theirs != rev_parse(dataset, "HEAD"):
        return True
    if not has_annex_branch(dataset):
        return False
    published = published_annex_commit(dataset, sibling)  # None: a new one is due
    return published is None or refs.get("refs/heads/git-annex") != published


def _point_gitmodules(superdataset: Path, urls: dict[str, str], base: str) -> bool:
    """Write the subdatasets' host URLs into ``.gitmodules`` and commit it (as the user),
    when they changed. Returns whether a commit was made."""
    changed = False
    for path, url in urls.items():
        key = f"submodule.{path}.url"
        if config_get(superdataset, key, file=".gitmodules") != url:
            git(superdataset, "config", "-f", ".gitmodules", key, url)
            changed = True
    if changed:
        git(superdataset, "add", ".gitmodules")
        git(
            superdataset,
            "commit",
            "-q",
            "-m",
            GITMODULES_MESSAGE.format(base=base),
            "--",
            ".gitmodules",
        )
    return changed


def _push(dataset: Path, sibling: str, url: str, label: str) -> None:
    if config_get(dataset, f"remote.{sibling}.url") is None:
        git(dataset, "remote", "add", sibling, url)
    # a git host stores no annexed content: git-annex must not try it as a special place
    git(dataset, "config", f"remote.{sibling}.annex-ignore", "true")
    branch = git_or_none(dataset, "symbolic-ref", "--short", "HEAD")
    annex = public_annex_commit(dataset, sibling)
    refspecs = [f"refs/heads/{branch}:refs/heads/{branch}"] if branch else []
    if annex is not None:  # not DataLad's push: it would push the git-annex branch as it is
        refspecs.append(f"{annex}:refs/heads/git-annex")
    try:
        # to the URL, not the remote: no remote-tracking git-annex ref, which git-annex would
        # merge back into the dataset's own branch
        git(dataset, "push", "--quiet", url, *refspecs)
        if git(dataset, "tag", "--list").strip():  # release tags travel with the history
            git(dataset, "push", "--quiet", "--tags", url)
    except RepoError as exc:  # git's own first line
        raise LaionFmriError(
            f"pushing {label} to {url} failed: {exc}; the superdataset "
            "was not pushed (no dataset is published without its subdatasets); run publish "
            "again to finish"
        ) from None


def publish_to_git_host(
    dataset: Path, base: str, *, sibling: str, name: str, pattern: str
) -> GitHostReport:
    """Push every dataset to its repository under ``base`` (see the module's docstring)."""
    validate.publish_target(base)
    validate.remote_name(sibling)
    superdataset = Path(dataset).absolute()
    if not is_dataset(superdataset):
        raise UsageError(f"'{superdataset}' is not a DataLad dataset")
    subdatasets = sorted(registered_subdatasets(superdataset))
    missing = [p for p in subdatasets if not (superdataset / p / ".git").exists()]
    if missing:
        raise UsageError(
            f"subdataset {missing[0]} of {str(superdataset)!r} is not installed ({len(missing)} "
            "are not); install them (datalad get -n -r) before publishing"
        )
    names = repository_names(name, pattern, subdatasets)
    urls = {path: repository_url(base, repo) for path, repo in names.items()}
    # leaves first: a subdataset path sorts after the superdataset's (""), so reverse
    order = sorted(urls, key=lambda p: (p == "", p))
    pending = [p for p in order if _check_target(superdataset / p, sibling, urls[p])]
    committed = _point_gitmodules(superdataset, {p: u for p, u in urls.items() if p}, base)
    if committed and "" not in pending:
        pending.append("")
    for path in pending:
        _push(superdataset / path, sibling, urls[path], path or "the superdataset")
    return GitHostReport(base, name, len(urls), len(pending), committed)
