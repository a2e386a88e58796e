"""The environment each git, git-annex and DataLad call gets (``repo/env.py``): the user's
identity kept, one supplied only where there is none, the loopback allowance only where
asked; and DataLad run in a child process when its environment is not this process's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from laion_fmri_datalad.errors import RepoError
from laion_fmri_datalad.layout.endpoint import is_loopback_url, serves_from_loopback
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.env import (
    FALLBACK_EMAIL,
    FALLBACK_NAME,
    LOOPBACK_KEY,
    annex_wheel_dir,
    config_entries,
    config_env,
    tool_env,
    with_config,
    with_extra,
    with_tools_on_path,
)
from laion_fmri_datalad.repo.git import git

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def bare_env(home: Path, gitconfig: str | None = None) -> dict[str, str]:
    """This process's environment with no git identity or config entries, HOME at ``home``
    (with ``gitconfig`` as its ``.gitconfig``, if given)."""
    home.mkdir(parents=True, exist_ok=True)
    if gitconfig is not None:
        (home / ".gitconfig").write_text(gitconfig)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "EMAIL"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    return env


def test_a_users_identity_in_home_is_never_replaced(tmp_path: Path) -> None:
    base = bare_env(tmp_path / "home", "[user]\n\tname = Ada\n\temail = ada@example.org\n")
    env = tool_env(base=base)
    assert not any(name in env for name in IDENTITY)
    env = with_config(env, "user.useConfigOnly", "true")  # git may not guess: it must find
    done = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], env=env, capture_output=True)
    assert done.stdout.decode().startswith("Ada <ada@example.org> ")


def test_an_identity_is_supplied_only_where_the_user_has_none(tmp_path: Path) -> None:
    env = tool_env(base=bare_env(tmp_path / "home"))
    assert [env[name] for name in IDENTITY] == [FALLBACK_NAME, FALLBACK_EMAIL] * 2


def test_identity_variables_the_user_set_are_kept(tmp_path: Path) -> None:
    base = bare_env(tmp_path / "home")
    base.update(GIT_AUTHOR_NAME="Grace", GIT_AUTHOR_EMAIL="grace@example.org")
    env = tool_env(base=base)
    assert env["GIT_AUTHOR_NAME"] == "Grace" and env["GIT_AUTHOR_EMAIL"] == "grace@example.org"
    assert "GIT_COMMITTER_NAME" not in env  # git takes the committer from the author's


def test_a_repositorys_own_identity_counts(tmp_path: Path) -> None:
    base = bare_env(tmp_path / "home")
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["config", "user.name", "Local"], ["config", "user.email", "l@x"]):
        git(repo, *args)
    assert not any(name in tool_env(repo, base=base) for name in IDENTITY)
    assert all(name in tool_env(tmp_path, base=base) for name in IDENTITY)


def test_only_a_missing_half_of_an_identity_is_supplied(tmp_path: Path) -> None:
    env = tool_env(base=bare_env(tmp_path / "home", "[user]\n\tname = Ada\n"))
    assert "GIT_AUTHOR_NAME" not in env and env["GIT_AUTHOR_EMAIL"] == FALLBACK_EMAIL


def test_the_loopback_allowance_only_when_asked(tmp_path: Path) -> None:
    base = bare_env(tmp_path / "home")
    assert config_entries(tool_env(base=base)) == []
    allowed = tool_env(base=base, loopback=True)
    assert config_entries(allowed) == [(LOOPBACK_KEY, "127.0.0.1 ::1")]
    assert tool_env(base=allowed, loopback=True) == allowed  # given once, however often asked


def test_config_entries_the_user_gave_are_kept_before_ours() -> None:
    users = with_config({}, "annex.retry", "3")
    ours = with_config(users, LOOPBACK_KEY, "127.0.0.1 ::1")
    assert config_entries(ours) == [("annex.retry", "3"), (LOOPBACK_KEY, "127.0.0.1 ::1")]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8333/laion-fmri/README?versionId=x", True),
        ("http://127.4.5.6/x", True),
        ("http://localhost:9000/x", True),
        ("http://[::1]:9000/x", True),
        ("https://laion-fmri.s3.us-west-2.amazonaws.com/README?versionId=x", False),
        ("http://10.0.0.5/x", False),
        ("http://127.0.0.1.example.org/x", False),
        ("not a url", False),
    ],
)
def test_which_urls_are_loopback(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def _dataset_with_url(root: Path, url: str) -> Path:
    state = root / ".laion-fmri"
    state.mkdir(parents=True)
    (state / "inventory.tsv").write_text(f"path\ts3_key\turl\nREADME\tREADME\t{url}\n")
    return root


def test_a_dataset_of_the_real_bucket_keeps_git_annexs_guard(tmp_path: Path) -> None:
    real = _dataset_with_url(tmp_path / "real", "https://laion-fmri.s3.amazonaws.com/README")
    dev = _dataset_with_url(tmp_path / "dev", "http://127.0.0.1:8333/laion-fmri/README")
    assert not serves_from_loopback(real) and not serves_from_loopback(real / "sub-01")
    assert serves_from_loopback(dev) and serves_from_loopback(dev / "sub-01")  # not installed
    assert not serves_from_loopback(tmp_path / "elsewhere")
    analysis = tmp_path / "analysis"
    _dataset_with_url(analysis / "inputs/laion-fmri", "http://127.0.0.1:8333/laion-fmri/x")
    assert serves_from_loopback(analysis)  # an analysis dataset: its input superdataset


def test_datalad_runs_in_a_child_with_the_calls_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no identity anywhere (and git told not to guess one), DataLad in this process
    could not commit; the call gets the fallback identity in a child process, and this
    process's environment is left as it was."""
    home = tmp_path / "home"
    for name in [k for k in os.environ if k.startswith(("GIT_", "EMAIL"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tuseConfigOnly = true\n")
    before = dict(os.environ)
    assert not datalad.is_own(tool_env(tmp_path))
    datalad.call("create", path=str(tmp_path / "ds"))
    assert dict(os.environ) == before
    author = git(tmp_path / "ds", "log", "-1", "--format=%an <%ae>").strip()
    assert author == f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"


def test_a_failing_datalad_call_in_a_child_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the tools not on PATH: not our environment
    assert not datalad.is_own(tool_env(tmp_path))
    with pytest.raises(RepoError, match="No installed dataset found at") as raised:
        datalad.call("status", dataset=str(tmp_path / "missing"))
    assert "\n" not in str(raised.value)


def test_extra_git_configuration_is_added_after_the_calls_own() -> None:
    """A job's sharing settings come through GIT_CONFIG_COUNT too: they are added after
    the allowance (and whatever the user gave), never in their place."""
    own = tool_env(loopback=True)
    extra = {**config_env(annex_hardlink="true", remote_origin_annex__cost="50"), "X": "1"}
    merged = with_extra(own, extra)
    entries = config_entries(merged)
    assert any(key == LOOPBACK_KEY for key, _ in entries)
    assert ("annex.hardlink", "true") in entries and ("remote.origin.annex-cost", "50") in entries
    assert entries[: len(config_entries(own))] == config_entries(own)
    assert merged["X"] == "1"


def test_git_annex_is_the_wheels_binary_itself_and_a_users_own_comes_first(
    tmp_path: Path,
) -> None:
    """The wheel's binary directory just before the scripts directory: ``git-annex`` runs
    without its script's interpreter; a git-annex the user put earlier on PATH wins."""
    wheel = annex_wheel_dir()
    assert wheel is not None  # the git-annex wheel is a dependency
    scripts = str(Path(sys.executable).parent)
    env = with_tools_on_path({"PATH": "/usr/bin:/bin"})
    parts = env["PATH"].split(os.pathsep)
    assert parts == [wheel, scripts, "/usr/bin", "/bin"]
    found = shutil.which("git-annex", path=env["PATH"])
    assert found is not None and Path(found).read_bytes()[:4] == b"\x7fELF"
    assert env["MAGIC"] == str(Path(wheel) / "magic.mgc")
    done = subprocess.run(["git-annex", "version", "--raw"], env=env, capture_output=True)
    assert done.returncode == 0 and done.stdout.strip()
    own = tmp_path / "bin"
    own.mkdir()
    kept = with_tools_on_path({"PATH": f"{own}:{scripts}:/bin", "MAGIC": "/theirs.mgc"})
    assert kept["PATH"].split(os.pathsep) == [str(own), wheel, scripts, "/bin"]
    assert kept["MAGIC"] == "/theirs.mgc"
    assert with_tools_on_path(kept) == kept  # once is enough


def test_an_activated_environment_runs_datalad_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where this process's PATH reaches git-annex and its special remotes already (the
    virtual environment's scripts first), the git-annex wheel's directory that ``tool_env``
    puts first makes no difference: no child Python. Without them it does."""
    scripts = str(Path(sys.executable).parent)
    identity = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c"}
    identity |= {"GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@b.c"}
    for name, value in identity.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MAGIC", raising=False)  # a notebook's: the wheel's script sets it
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert tool_env()["PATH"] != os.environ["PATH"] and datalad.is_own(tool_env())
    monkeypatch.setenv("PATH", f"/usr/bin{os.pathsep}/bin")
    assert not datalad.is_own(tool_env())
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert not datalad.is_own(with_extra(tool_env(), {"X": "1"}))  # another variable: a child
