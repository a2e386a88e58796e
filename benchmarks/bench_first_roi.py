"""A fresh clone to its first ROI array (issue 36): ``datalad clone``, then in a new Python
``load_subject(...).get_betas(every session, roi=...)``, against the floor: the same clone,
installing the same subdatasets (``datalad get -n``) and one bare GET of as many bytes as
the first run took from the server.

    make demo   # once: the superdataset, its RIA store and the S3 server data in .demo
    .venv/bin/python benchmarks/bench_first_roi.py --demo .demo --workdir /tmp/bench-first-roi

The demo's bucket is the tiny one: its grid is 10 x 12 x 9, so the rows are a few kB; what
this measures is what a clone adds around the reads (installing subdatasets, pybids, the
masks, ``git annex whereis``, the headers), each answer delayed ``--delay`` s by the proxy as
for a user in Europe reading the us-west-2 bucket. The reads at the real grid are
``bench_range_reads.py``'s; ``benchmarks/README.md`` puts the two together.

The proxy (``devserver/faultproxy.py``, faults off) sits on the port the demo's URLs name, in
front of the demo's S3 server (moved to a free port for this run), and counts requests and
body bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from demoproxy import behind_proxy, checked_demo
from laion_fmri_datalad.devserver.faultproxy import Schedule
from laion_fmri_datalad.loaders.clone.content import annexed_size, human

READ = """
import json, sys, time
from laion_fmri_datalad.loaders.api.subject import load_subject
started = time.perf_counter()
sub = load_subject(sys.argv[2], dataset=sys.argv[1])
sessions = sub.get_sessions()
betas = sub.get_betas(sessions, roi=sys.argv[3])
installed = [str(p) for p in sub.content.root.glob("**/.datalad/config")]
nifti = [str(sub.files.betas(s)) for s in sessions]
print(json.dumps({"shapes": {s: list(b.shape) for s, b in betas.items()},
                  "seconds": time.perf_counter() - started, "installed": installed,
                  "nifti": nifti}))
"""


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def _size(path: Path) -> int:
    return path.stat().st_size


def bare_get(url: str, size: int) -> float:
    """One GET of ``size`` bytes (a range of an object at least that large)."""
    request = urllib.request.Request(url, headers={"Range": f"bytes=0-{size - 1}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as answer:
        got = len(answer.read())
    assert got == size, (got, size)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=Path(".demo"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-first-roi"))
    parser.add_argument("--subject", default="sub-01")
    parser.add_argument("--roi", default="FFA1")
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    demo, workdir = checked_demo(args.demo), args.workdir.absolute()
    source = f"ria+file://{demo / 'ria'}#~laion-fmri"
    datalad = str(Path(sys.executable).with_name("datalad"))
    schedule = Schedule(enabled=False, delay=args.delay)
    objects = demo / "fixture" / "objects"  # the bucket's keys; derivatives are public
    largest = max((p for p in (objects / "derivatives").rglob("*") if p.is_file()), key=_size)
    try:
        with behind_proxy(demo, schedule) as proxy:
            for attempt in range(args.repeat):
                clone = workdir / f"clone-{attempt}"
                shutil.rmtree(workdir, ignore_errors=True)
                workdir.mkdir(parents=True)
                requests, body = schedule.requests, schedule.body_bytes
                cloning, _ = timed([datalad, "clone", source, str(clone)])
                reading, out = timed(
                    [sys.executable, "-c", READ, str(clone), args.subject, args.roi]
                )
                result = json.loads(out)
                sent, asked = schedule.body_bytes - body, schedule.requests - requests
                subdatasets = sorted(
                    str(Path(p).parent.parent.relative_to(clone))
                    for p in result["installed"]
                    if Path(p).parent.parent != clone
                )
                nifti = sum(annexed_size(Path(p)) or 0 for p in result["nifti"])
                ours = cloning + reading

                floor = workdir / f"floor-{attempt}"
                floor_clone, _ = timed([datalad, "clone", source, str(floor)])
                installing, _ = timed([datalad, "get", "-n", *subdatasets], cwd=floor)
                one = f"{proxy.url}/laion-fmri/{largest.relative_to(objects).as_posix()}"
                get = bare_get(one, sent)
                base = floor_clone + installing + get
                shapes = sorted({tuple(s) for s in result["shapes"].values()})
                print(
                    f"run {attempt + 1}: ours {ours:.2f} s (clone {cloning:.2f} + Python "
                    f"{reading:.2f}, of which load_subject + get_betas {result['seconds']:.2f}); "
                    f"{asked} requests, {human(sent)} from the server for "
                    f"{len(result['shapes'])} sessions of {args.roi} {shapes}; floor "
                    f"{base:.2f} s (clone {floor_clone:.2f} + install {len(subdatasets)} "
                    f"subdatasets {installing:.2f} + one GET of {human(sent)} {get:.2f}); "
                    f"ratio {ours / base:.2f} (target <= 2); the NIfTI path: {human(nifti)} "
                    f"of 4D betas, {nifti / max(sent, 1):.1f}x the bytes"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
