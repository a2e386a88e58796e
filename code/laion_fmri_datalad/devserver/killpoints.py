"""The kill-point harness of the reliability tests and ``benchmarks/stress_reliability.py``:
a build (or any command, such as an analysis run) stopped at a chosen git command, and
snapshots of what a rerun must make identical to an uninterrupted build.

The signal is delivered by a ``git`` wrapper first on PATH: on the n-th git command whose
arguments contain a pattern, it signals the build process instead of running git. The
build runs in a child process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

from ..layout.listings import LISTINGS, parse
from ..repo.git import git
from ..s3.client import BucketLocation

WRAPPER = """#!/bin/sh
case " $* " in
  *"$KILL_MATCH"*)
    n=$(( $(cat "$KILL_COUNTER" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$KILL_COUNTER"
    if [ "$n" = "$KILL_NTH" ]; then
      kill -"$KILL_SIGNAL" "$BUILD_PID"
      sleep 1
      exit 1
    fi
    ;;
esac
exec "$REAL_GIT" "$@"
"""
CHILD = """
import os, sys
from pathlib import Path
from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.s3.client import BucketLocation
os.environ["BUILD_PID"] = str(os.getpid())
build(Path(sys.argv[1]), BucketLocation(sys.argv[2], endpoint_url=sys.argv[3]))
"""
STAMP = re.compile(r"^\d+(\.\d+)?s ", re.M)
IDENTITY_FILES = (".datalad/config", ".gitmodules")  # a new dataset id in every build


def listed(superdataset: Path, path: str) -> str:
    """A shipped listing without its header (which names the subdataset's commit, dated like
    the commit itself), after checking that the header names the commit HEAD records."""
    commit, paths = parse(git(superdataset, "show", f"HEAD:{path}")) or ("", [])
    name = path.removeprefix(LISTINGS + "/").removesuffix(".txt")
    assert commit == git(superdataset, "rev-parse", f"HEAD:{name}").strip(), path
    return f"{path}: {paths}"


def snapshot(superdataset: Path) -> dict[str, object]:
    """What must be identical to an uninterrupted build, dataset by dataset."""
    result: dict[str, object] = {}
    for gitdir in [
        superdataset / ".git",
        *sorted(superdataset.glob("*/.git")),
        *sorted(superdataset.glob("*/*/.git")),
    ]:
        repo = gitdir.parent
        name = repo.relative_to(superdataset).as_posix()
        tree = [
            line.split("\t", 1)[1]
            if line.endswith(IDENTITY_FILES)
            else listed(repo, line.split("\t", 1)[1])
            if "\t" + LISTINGS in line
            else line
            for line in git(repo, "ls-tree", "-r", "HEAD").splitlines()
            if not line.startswith("160000")  # subdataset commits carry their own dates
        ]
        if (repo / ".gitmodules").is_file():  # paths and URLs; the ids are new each build
            modules = git(repo, "config", "-f", ".gitmodules", "--list").splitlines()
            tree += sorted(m for m in modules if ".datalad-id=" not in m)
        logs: dict[str, str] = {}
        if git(repo, "branch", "--list", "git-annex").strip():
            for path in git(repo, "ls-tree", "-r", "--name-only", "git-annex").splitlines():
                if path.endswith((".log", ".log.web")) and "/" in path:
                    body = git(repo, "cat-file", "blob", f"git-annex:{path}")
                    logs[path] = "".join(sorted(STAMP.sub("", body).splitlines(True)))
        status = git(repo, "status", "--porcelain", "--untracked-files=all")
        result[name] = (tree, logs, status)
    return result


def differences(got: dict[str, object], want: dict[str, object]) -> list[str]:
    """Readable differences between two snapshots (empty when identical)."""
    found = [f"dataset {name!r} only in one build" for name in sorted(set(got) ^ set(want))]
    for name in sorted(set(got) & set(want)):
        for part, a, b in zip(("tree", "annex logs", "status"), got[name], want[name], strict=True):  # type: ignore[call-overload]
            if a == b:
                continue
            if isinstance(a, dict):
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                found.append(
                    f"{name}: {part} differ for {keys[:3]}: {[a.get(k) for k in keys[:1]]} vs {[b.get(k) for k in keys[:1]]}"
                )
            elif isinstance(a, list):
                found.append(
                    f"{name}: {part}: only after the rerun {sorted(set(a) - set(b))[:3]}, only uninterrupted {sorted(set(b) - set(a))[:3]}"
                )
            else:
                found.append(f"{name}: {part}: {a!r} vs {b!r}")
    return found


def _wrapped_env(tmp: Path, match: str, nth: int, sig: signal.Signals) -> dict[str, str]:
    """The environment of a child whose ``nth`` git command containing ``match`` signals
    the process ``$BUILD_PID`` instead of running."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "git"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    real = shutil.which("git")
    assert real is not None
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)  # git-annex must stay reachable
    env.update(
        PATH=os.pathsep.join([str(bin_dir), scripts, env["PATH"]]),
        REAL_GIT=real,
        KILL_MATCH=match,
        KILL_NTH=str(nth),
        KILL_SIGNAL=sig.name[3:],
        KILL_COUNTER=str(tmp / "counter"),
    )
    return env


def interrupted_command(
    argv: list[str], tmp: Path, match: str, nth: int, sig: signal.Signals = signal.SIGKILL
) -> tuple[int, int]:
    """Run ``argv`` (its own process group) until its ``nth`` git command containing
    ``match``, which signals it; then kill what is left of its group (worker processes it
    started, as a killed login session or batch job loses them). Its exit code and how many
    such git commands it reached."""
    env = _wrapped_env(tmp, match, nth, sig)
    launch = ["sh", "-c", 'BUILD_PID=$$; export BUILD_PID; exec "$@"', "sh", *argv]
    child = subprocess.Popen(
        launch,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        code = child.wait(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    reached = int((tmp / "counter").read_text()) if (tmp / "counter").exists() else 0
    return code, reached


def interrupted_build(
    target: Path, location: BucketLocation, tmp: Path, match: str, nth: int, sig: signal.Signals
) -> tuple[int, int]:
    """Run a build that is signalled at the ``nth`` git command containing ``match``;
    returns its exit code and how many such commands it reached."""
    env = _wrapped_env(tmp, match, nth, sig)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(target), location.bucket, str(location.endpoint_url)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    reached = int((tmp / "counter").read_text()) if (tmp / "counter").exists() else 0
    return done.returncode, reached
