"""What a child Python costs a loader call (issue 32): the same first loader call on a fresh
clone in a notebook-like process whose ``PATH`` has the virtual environment (activated:
DataLad runs in the process) and one whose ``PATH`` lacks it (git-annex unreachable there:
each DataLad call runs in a child Python given the tools, ``repo/datalad.py``), and the
command line (which sets its own process up). Child Pythons are counted by an audit hook on
``subprocess.Popen``.

    make demo   # once: the superdataset, its RIA store and the S3 server data in .demo
    .venv/bin/python benchmarks/bench_child_python.py --demo .demo --workdir /tmp/bench-child
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from laion_fmri_datalad.devserver.childpython import child_pythons
from laion_fmri_datalad.devserver.localbucket import start_bucket
from laion_fmri_datalad.repo.env import LOOPBACK_KEY, LOOPBACK_VALUE, with_config

IDENTITY = {
    "GIT_AUTHOR_NAME": "A. Researcher", "GIT_AUTHOR_EMAIL": "researcher@example.org",
    "GIT_COMMITTER_NAME": "A. Researcher", "GIT_COMMITTER_EMAIL": "researcher@example.org",
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=Path(".demo"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-child"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    demo, workdir = args.demo.absolute(), args.workdir.absolute()
    if not (demo / "ria").is_dir():
        parser.error(f"--demo {demo}: no RIA store there; run make demo first")
    venv = str(Path(sys.executable).parent)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "EMAIL", "MAGIC"))}
    base = with_config({**base, **IDENTITY}, LOOPBACK_KEY, LOOPBACK_VALUE)
    envs = {
        "activated": {**base, "PATH": f"{venv}{os.pathsep}/usr/bin{os.pathsep}/bin"},
        "bare": {**base, "PATH": f"/usr/bin{os.pathsep}/bin"},
    }
    source = f"ria+file://{demo / 'ria'}#~laion-fmri"
    datalad = str(Path(venv) / "datalad")
    bucket = start_bucket(demo / "fixture", demo / "s3")
    try:
        for attempt in range(args.repeat):
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            line = []
            for name, env in envs.items():
                clone = workdir / name
                subprocess.run([datalad, "clone", source, str(clone)], check=True, env=env)
                count, seconds = child_pythons(["api", str(clone)], workdir, env)
                line.append(f"{name}: {count} child Pythons, {seconds:.2f} s")
            cli = ["cli", "get", "--subject", "03", "--ses", "01", "--suffix", "events"]
            cli += ["--stream", "raw"]
            count, seconds = child_pythons(cli, workdir / "bare", envs["bare"])
            line.append(
                f"CLI (PATH without the environment): {count} child Pythons, {seconds:.2f} s"
            )
            print(f"run {attempt + 1}: first loader call on a fresh clone: " + "; ".join(line))
    finally:
        bucket.server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
