"""git, run as a subprocess: every call of the product goes through ``git()`` or its kin."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .env import tool_env, with_extra
from .errors import command_failed


def run(
    repo: Path | None,
    *args: str,
    input: bytes | None = None,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """git with ``args`` in ``repo`` (``-C``); the completed process, whatever its status.
    Its environment is built for this call (``env.tool_env``): ``loopback`` lets git-annex
    reach the development server, ``extra_env`` adds variables (``GIT_INDEX_FILE``)."""
    where = ["-C", str(repo)] if repo is not None else []
    env = tool_env(repo, loopback=loopback)
    env = with_extra(env, extra_env)
    return subprocess.run(["git", *where, *args], input=input, capture_output=True, env=env)


def git_bytes(
    repo: Path | None,
    *args: str,
    input: bytes | None = None,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> bytes:
    """Standard output of git; a ``RepoError`` naming command, repository and reason."""
    done = run(repo, *args, input=input, loopback=loopback, extra_env=extra_env)
    if done.returncode != 0:
        raise command_failed(["git", *args], repo, done.stderr, done.returncode)
    return done.stdout


def git(
    repo: Path | None,
    *args: str,
    input: bytes | None = None,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> str:
    """``git_bytes`` decoded."""
    return git_bytes(repo, *args, input=input, loopback=loopback, extra_env=extra_env).decode()


def git_oneline(repo: Path | None, *args: str) -> str:
    """``git``'s output, stripped: for answers of one line (a commit id, a config value)."""
    return git(repo, *args).strip()


def git_or_none(repo: Path | None, *args: str) -> str | None:
    """The stripped output, or None when git says no (an unset key, an unknown ref):
    for questions whose failure means "absent"."""
    done = run(repo, *args)
    return done.stdout.decode().strip() if done.returncode == 0 else None


_NOT_FOUND = ("not found", "does not appear to be a git repository", "does not exist")


def remote_refs(repo: Path | None, url: str) -> dict[str, str] | None:
    """The refs of the repository at ``url`` (``git ls-remote``), or None when there is no
    repository there; a ``RepoError`` when the host cannot be asked (refused, unreachable).
    Never prompts for credentials."""
    done = run(repo, "ls-remote", url, extra_env={"GIT_TERMINAL_PROMPT": "0"})
    if done.returncode == 0:
        pairs = (line.split("\t", 1) for line in done.stdout.decode().splitlines() if line)
        return {ref: sha for sha, ref in pairs}
    said = done.stderr.decode(errors="replace").lower()
    if any(phrase in said for phrase in _NOT_FOUND):
        return None
    raise command_failed(["git", "ls-remote", url], repo, done.stderr, done.returncode)


def rev_parse(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None."""
    return git_or_none(repo, "rev-parse", "--verify", "--quiet", ref + "^{commit}") or None


def config_get(repo: Path, key: str, *, file: str | None = None) -> str | None:
    """A git config value (of the repository, or of ``file`` in it), or None when unset."""
    where = ["-f", file] if file is not None else []
    return git_or_none(repo, "config", *where, key)


def config_regexp(repo: Path, pattern: str, *, file: str | None = None) -> dict[str, str]:
    """``key -> value`` of the (local, or ``file``'s) config entries matching ``pattern``."""
    where = ["-f", file] if file is not None else ["--local"]
    out = git_or_none(repo, "config", *where, "--get-regexp", pattern) or ""
    pairs = (line.partition(" ") for line in out.splitlines())
    return {key: value for key, _, value in pairs}


def tracked_files(repo: Path, *under: str) -> list[str]:
    """The paths git tracks in ``repo`` (only ``under`` these, if given)."""
    where = ["--", *under] if under else []
    return [p for p in git(repo, "ls-files", "-z", *where).split("\0") if p]


def tree_paths(repo: Path, revision: str) -> list[str]:
    """Every file path in ``revision``'s tree (gitlinks included), recursively."""
    return [p for p in git(repo, "ls-tree", "-r", "-z", "--name-only", revision).split("\0") if p]


_KEY_SIZE = re.compile(rb"-s([0-9]+)(?:-[^/]*)?--")


def tree_sizes(repo: Path, revision: str) -> dict[str, int | None]:
    """Every file of ``revision`` with its size: a git-annex symlink's from the key it names
    (``MD5E-s1234--...``), a regular file's from its blob; None for a symlink that names no
    key with a size, and for a gitlink."""
    out = git_bytes(repo, "ls-tree", "-r", "-l", "-z", revision)
    sizes: dict[str, int | None] = {}
    links: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, obj, size = meta.split()
        name = path.decode()
        if kind != b"blob":  # a gitlink: listed, no size of its own
            sizes[name] = None
            continue
        if mode == b"120000":
            links[name] = obj.decode()
        else:
            sizes[name] = int(size)
    targets = read_blobs(repo, list(dict.fromkeys(links.values())))
    for name, blob in links.items():
        found = _KEY_SIZE.search(targets.get(blob, b"").rsplit(b"/", 1)[-1])
        sizes[name] = int(found.group(1)) if found else None
    return sizes


def gitlinks(repo: Path, revision: str, paths: list[str] | None = None) -> dict[str, str]:
    """Subdataset path -> the commit ``revision`` records there: of every subdataset, or of
    those among ``paths``."""
    if paths == [] or rev_parse(repo, revision) is None:
        return {}
    where = ["-r", revision] if paths is None else [revision, "--", *paths]
    recorded: dict[str, str] = {}
    for line in git(repo, "ls-tree", "-z", *where).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "commit":
            recorded[path] = sha
    return recorded


def read_blobs(repo: Path, specs: list[str]) -> Mapping[str, bytes]:
    """Contents of ``<rev>:<path>`` specs that exist, in one ``git cat-file --batch``."""
    if not specs:
        return {}
    out = git_bytes(repo, "cat-file", "--batch", input="".join(s + "\n" for s in specs).encode())
    result: dict[str, bytes] = {}
    pos = 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        result[spec] = out[pos : pos + size]
        pos += size + 1
    return result


def missing_files(repo: Path) -> list[str]:
    """Tracked files that a stopped checkout (a full disk, a kill) left deleted, in the index
    or the work tree. Reads only."""
    staged = git(repo, "diff-index", "--cached", "--name-only", "--diff-filter=D", "-z", "HEAD")
    missing = {p for p in staged.split("\0") if p}
    missing |= {p for p in git(repo, "ls-files", "--deleted", "-z").split("\0") if p}
    return sorted(missing)


def restore_missing(repo: Path, paths: list[str]) -> None:
    """Restore ``paths`` (from ``missing_files``) from HEAD, into the index and the work
    tree. Only those files are touched: a user's changes to others stay."""
    if not paths:
        return
    listed = "".join(f"{p}\0" for p in paths).encode()
    git(repo, "reset", "-q", "HEAD", "--pathspec-from-file=-", "--pathspec-file-nul", input=listed)
    git(
        repo,
        "checkout",
        "-q",
        "HEAD",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        input=listed,
    )
