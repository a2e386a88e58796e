"""How many child Pythons ``repo/datalad.py`` starts for a call, for the test and the
benchmark that hold the count: the call runs in a process of its own with a given
environment, an audit hook counting each ``subprocess.Popen`` of the child module.

``["api", CLONE]``: ``load_subject("sub-03", dataset=CLONE)`` and its MT betas of its first
two sessions from the NIfTI (subdatasets installed, masks and betas got); ``["cli", ARG, ...]``:
the command line with those arguments.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CHILD = "laion_fmri_datalad.repo.datalad_child"
COUNTING = f"""
import sys, time
children = []
def hook(event, args):
    if event == "subprocess.Popen" and {CHILD!r} in map(str, args[1]):
        children.append(args[1])
sys.addaudithook(hook)
started = time.perf_counter()
if sys.argv[1] == "cli":
    from laion_fmri_datalad.cli import main
    assert main(sys.argv[2:]) == 0
else:
    from laion_fmri_datalad import load_subject
    sub = load_subject("sub-03", dataset=sys.argv[2])
    sub.get_betas(sub.get_sessions()[:2], roi="MT", source="nifti")
print(len(children), round(time.perf_counter() - started, 2))
"""


def child_pythons(argv: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, float]:
    """The child Pythons started and the seconds taken by ``argv`` (see the module)."""
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, *argv],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the counted call failed: {done.stderr.strip()[-500:]}")
    count, seconds = done.stdout.splitlines()[-1].split()
    return int(count), float(seconds)
