"""Clones where users work: moved or copied, and in a HOME without a git identity.

The identity-less HOME is the common case on clusters: no ``~/.gitconfig``, and a host name
git cannot make an e-mail address of. ``user.useConfigOnly`` makes git refuse to guess on
any host, so the test means the same everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from laion_fmri_datalad.devserver.childpython import child_pythons
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.loaders import load_subject
from laion_fmri_datalad.repo.env import (
    FALLBACK_EMAIL,
    FALLBACK_NAME,
    LOOPBACK_KEY,
    LOOPBACK_VALUE,
    with_config,
    with_tools_on_path,
)
from laion_fmri_datalad.repo.git import git

NO_IDENTITY = ("GIT_CONFIG", "GIT_AUTHOR", "GIT_COMMITTER", "EMAIL")


def identityless_env(home: Path) -> dict[str, str]:
    """The session's environment with no git identity from anywhere: an empty HOME, no
    identity variables, git told not to guess one; the loopback allowance kept (the test
    server is on 127.0.0.1)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(NO_IDENTITY)}
    base.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    env = with_config(with_tools_on_path(base), LOOPBACK_KEY, LOOPBACK_VALUE)
    return with_config(env, "user.useConfigOnly", "true")


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


# The README's line for a HOME without an identity: one for this shell session, written to
# no file (plain DataLad runs git-annex, which records on its branch as the user).
SESSION_IDENTITY = {
    "GIT_AUTHOR_NAME": "A. Researcher", "GIT_AUTHOR_EMAIL": "researcher@example.org",
    "GIT_COMMITTER_NAME": "A. Researcher", "GIT_COMMITTER_EMAIL": "researcher@example.org",
}  # fmt: skip


def load_mt_mask(clone: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """sub-05's MT mask through the loaders in a process of its own with ``env``; it prints
    the mask's voxel count (a loader's first fetch installs subdatasets and gets content)."""
    script = (
        "from laion_fmri_datalad import load_subject;"
        f"m = load_subject('sub-05', dataset={str(clone)!r}).get_roi_mask('MT');"
        "print(int(m.sum()))"
    )
    loaded = run([sys.executable, "-c", script], cwd, env)
    assert loaded.returncode == 0, loaded.stderr
    return loaded


def test_identityless_home_clones_gets_and_loads(store: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = identityless_env(home)
    assert run(["git", "var", "GIT_COMMITTER_IDENT"], tmp_path, env).returncode != 0
    cloned = run(["datalad", "clone", store, "clone"], tmp_path, env)
    assert cloned.returncode == 0, cloned.stderr
    clone = tmp_path / "clone"
    # a loader's first fetch installs two subdatasets (git annex init) and gets content
    loaded = load_mt_mask(clone, tmp_path, env)
    design = SubjectDesign(0, "sub-05", get_spec("tiny"), build_catalogue())
    assert int(loaded.stdout.strip()) == int(design.roi_mask("MT")[design.brain_mask].sum())
    # the project's own command, in the raw subdataset of another subject
    cli = [
        sys.executable,
        "-m",
        "laion_fmri_datalad.cli",
        "get",
        "--subject",
        "01",
        "--stream",
        "raw",
        "--ses",
        "01",
        "--suffix",
        "events",
    ]
    got = run(cli, clone, env)
    assert got.returncode == 0, got.stderr
    assert all(p.exists() for p in (clone / "sub-01/ses-01/func").glob("*_events.tsv"))
    # the README's line, plain DataLad, with the README's session identity
    readme = run(["datalad", "get", "sub-03/ses-02"], clone, {**env, **SESSION_IDENTITY})
    assert readme.returncode == 0, readme.stderr
    bold = sorted((clone / "sub-03/ses-02/func").glob("*_bold.nii.gz"))
    assert bold and all(p.exists() for p in bold)  # content, not dangling links
    # nothing was written to the user's configuration, nor to the clone's
    assert not (home / ".gitconfig").exists() and not (home / ".config/git").exists()
    for repo in (clone, clone / "sub-05", clone / "derivatives/rois"):
        assert "user." not in git(repo, "config", "--local", "--list")
    identities = git(clone / "derivatives/rois", "log", "-1", "--format=%an <%ae>", "git-annex")
    assert identities.strip() == f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"


def test_moved_and_copied_clones_read_their_own_files(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    first = Path(clone_of(store, tmp_path / "first"))
    sub = load_subject("sub-01", dataset=first)
    assert sub.get_sessions() == ["ses-01", "ses-02"]  # indexes built for first/
    copy = tmp_path / "copy"
    shutil.copytree(first, copy, symlinks=True)
    copied = load_subject("sub-01", dataset=copy)
    trials = copied.files.trials("ses-01")
    assert trials.is_relative_to(copy)  # not the original's file
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    shutil.move(str(first), moved)
    script = (
        "import logging; logging.basicConfig(level=logging.INFO);"
        "from laion_fmri_datalad.loaders import load_subject;"
        f"s = load_subject('sub-01', dataset={str(moved)!r});"
        "print(s.files.trials('ses-02')); print(len(s.get_trial_info('ses-02')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    path, rows = done.stdout.split()
    assert Path(path).is_relative_to(moved) and int(rows) > 0
    assert "indexed glmsingle-tedana" in done.stderr  # the stale index was rebuilt
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert again.stdout == done.stdout and "indexed" not in again.stderr  # and kept


def test_the_loaders_show_a_user_none_of_datalads_info_lines(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    """A notebook's first load installs two subdatasets and gets a file: the user sees this
    package's messages, not DataLad's "[INFO] Completed clone attempts ..." lines."""
    clone = clone_of(store, tmp_path / "clone")
    script = (
        "from laion_fmri_datalad import load_subject;"
        f"m = load_subject('sub-05', dataset={str(clone)!r}).get_roi_mask('MT');"
        "print(int(m.sum()))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATALAD_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (clone / "derivatives/rois/.git").exists()  # it did install
    assert "[INFO]" not in done.stderr, done.stderr


def test_a_build_in_a_home_without_an_identity_works_under_the_fallback_one(
    served: ServedBucket, tmp_path: Path, identities: Callable[..., set[str]]
) -> None:
    """On a cluster account with no git identity the builder still works: its commits (and
    git-annex's) carry the package's identity, given to its own calls only."""
    home = tmp_path / "home"
    home.mkdir()
    env = identityless_env(home)
    target = tmp_path / "superdataset"
    argv = [
        sys.executable,
        "-m",
        "laion_fmri_datalad.cli",
        "build",
        "-d",
        str(target),
        "--endpoint-url",
        served.server.endpoint_url,
    ]
    done = run(argv, tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert identities(target) == {f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"}
    assert identities(target / "sub-01") == {f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"}
    assert not (home / ".gitconfig").exists()  # nothing written to the user's configuration


def test_git_annex_keeps_its_guard_and_the_loaders_allow_only_the_dev_server(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    """Without the user's loopback allowance git-annex refuses 127.0.0.1 (its default guard,
    which this package leaves on); the loaders give the allowance to their own calls for a
    clone whose URLs are the development server's, and so get the file."""
    clone = clone_of(store, tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    rois = clone / "derivatives/rois"
    assert run(["datalad", "get", "-n", str(rois)], clone, env).returncode == 0
    mask = next(p for p in sorted(rois.rglob("*_mask.nii.gz")) if "sub-05" in str(p))
    refused = run(["git", "annex", "get", str(mask.relative_to(rois))], rois, env)
    assert refused.returncode != 0 and not mask.exists()
    assert "127.0.0.1" in refused.stderr + refused.stdout  # git-annex names the address
    loaded = load_mt_mask(clone, tmp_path, env)
    assert int(loaded.stdout.strip()) > 0


def test_a_notebook_in_its_environment_and_the_command_line_start_no_child_python(
    store: str, tmp_path: Path
) -> None:
    """A loader call in a notebook-like process (a user's identity, the dev server's
    loopback allowance set by the user, as for any plain ``datalad get`` of it): with the
    virtual environment on ``PATH`` (activated) DataLad runs in the process; without it,
    git-annex is not on the process's ``PATH`` and each DataLad call runs in a child given
    the tools (``repo/datalad.py``); the command line sets itself up and starts none."""
    venv = str(Path(sys.executable).parent)
    base = {k: v for k, v in os.environ.items() if not k.startswith((*NO_IDENTITY, "MAGIC"))}
    base = with_config({**base, **SESSION_IDENTITY}, LOOPBACK_KEY, LOOPBACK_VALUE)
    activated = {**base, "PATH": f"{venv}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    bare = {**base, "PATH": f"/usr/bin{os.pathsep}/bin"}
    counts = {}
    for name, env in (("activated", activated), ("bare", bare)):
        clone = tmp_path / name
        assert run(["datalad", "clone", store, str(clone)], tmp_path, activated).returncode == 0
        counts[name] = child_pythons(["api", str(clone)], tmp_path, env)[0]
    cli = ["cli", "get", "--subject", "03", "--ses", "01", "--suffix", "events", "--stream", "raw"]
    counts["cli"] = child_pythons(cli, tmp_path / "bare", bare)[0]
    assert counts["activated"] == 0 and counts["cli"] == 0, counts
    assert counts["bare"] > 0, counts  # the case the module's docstring names
