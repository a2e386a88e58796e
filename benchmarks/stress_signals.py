"""Stress: ``demo`` (the whole job) stopped by SIGINT or SIGTERM at given moments, then run
again on the same working directory. Prints, for each stop, the exit code, the lines on
stderr and the processes of its session still alive a moment later, and whether the rerun
finished. Traffic only to 127.0.0.1.

    .venv/bin/python benchmarks/stress_signals.py [--moments 1 5 30 70 260] [--signal TERM]
        [--workdir DIR] [--no-repair]

Each moment is one demo started afresh in its own directory under WORKDIR and stopped that
many seconds in (the demo's steps: fixture at ~1 s, build from ~20 s, splits, releases,
publish, clones, gets, the Dask analysis from ~200 s). The last stopped directory is then
given to ``demo`` again: the repair. Not a test: record the figures in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "laion_fmri_datalad", "demo", "--workdir"]


def stop_at(workdir: Path, moment: float, signum: int) -> tuple[int, list[str], list[str]]:
    """Exit code, stderr lines, and the processes of its session alive 2 s after it exited."""
    proc = subprocess.Popen(
        [*COMMAND, str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(moment)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=600)
    time.sleep(2)
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
    pids = left.stdout.split()
    if pids:
        subprocess.run(["kill", "-9", *pids], check=False)
    return proc.returncode, err.strip().splitlines(), pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moments", type=float, nargs="+", default=[1, 5, 30, 70, 260])
    parser.add_argument("--signal", choices=["INT", "TERM"], default="TERM")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--no-repair", action="store_true")
    args = parser.parse_args()
    signum = signal.Signals[f"SIG{args.signal}"]
    base = args.workdir or Path(tempfile.mkdtemp(prefix="stress-signals-"))
    print(f"demo stopped by {signum.name}; directories under {base}")
    print(f"{'at s':>6} {'exit':>5} {'stderr lines':>12} {'left':>5}  last line")
    last = None
    for moment in args.moments:
        last = base / f"at-{moment:g}"
        code, lines, left = stop_at(last, moment, signum)
        print(
            f"{moment:6g} {code:5d} {len(lines):12d} {len(left):5d}  {lines[-1] if lines else ''}"
        )
        for line in lines[:-1]:  # what else it said (a progress bar ends in carriage returns)
            print(f"{'':31}{line[-120:]!r}")
    if last is not None and not args.no_repair:
        start = time.monotonic()
        done = subprocess.run([*COMMAND, str(last)], capture_output=True, text=True)
        took = time.monotonic() - start
        tail = (done.stdout.strip().splitlines() or [""])[-1]
        print(f"rerun on {last.name}: exit {done.returncode} in {took:.0f} s: {tail}")
        if done.returncode:
            print(done.stderr.strip()[-600:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
