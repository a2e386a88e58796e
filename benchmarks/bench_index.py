"""Benchmark: the loaders' first query on a fresh clone of the real-size superdataset, and
the same query in a second process that loads the persistent pybids index.

    .venv/bin/python benchmarks/bench_index.py [--workdir DIR]

Builds (or reuses, in ``--workdir``) the ``--scale real`` synthetic bucket, its superdataset
and a RIA store, clones the superdataset afresh, and times a user's first line,
``load_subject("sub-01").get_sessions()``, in a new process on a fresh clone, both ways side
by side: as the loaders did before the superdataset shipped its listings (install the
glmsingle-tedana subdataset, index it with pybids, ask) and as they do now (read the shipped
listing; nothing installed). Then, for three queries that each need a different subdataset,
it runs two new Python processes one after the other:

1. first query: install the subdataset (DataLad), index it (pybids), answer;
2. same query in a new process: the index is loaded from the clone's git directory.

Each is timed inside the process (imports excluded, reported apart). Last, on a fresh clone
again, ``laion-fmri-datalad info`` and ``get --dry-run`` as a user runs them (whole process,
wall clock; the target: info in well under a second, nothing installed). Not a test: record
the figures in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.fixture.bucket import MANIFEST, write_fixture
from laion_fmri_datalad.devserver.localbucket import start_bucket
from laion_fmri_datalad.publishing.publish import publish
from laion_fmri_datalad.repo.env import tool_env

QUERIES = {
    "sessions (glmsingle-tedana)": ("derivatives/glmsingle-tedana", "sub.get_sessions()"),
    "ROI catalogue (rois)": ("derivatives/rois", "sub.get_available_rois()"),
    "events ses-01 (sub-01 raw)": ("sub-01", "sub.get_events('ses-01')"),
}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from laion_fmri_datalad.loaders import load_subject
from laion_fmri_datalad.loaders.clone.index import layout
t1 = time.perf_counter()
clone, subdataset, query, phases = sys.argv[1:5]
sub = load_subject("sub-01", dataset=clone)
out = {"import_s": t1 - t0}
if phases == "1":
    start = time.perf_counter()
    root = sub.content.ensure_installed(subdataset)
    out["install_s"] = time.perf_counter() - start
    start = time.perf_counter()
    out["files"] = len(layout(root).get())
    out["index_s"] = time.perf_counter() - start
start = time.perf_counter()
result = eval(query)
out["query_s"] = time.perf_counter() - start
out["total_s"] = time.perf_counter() - t1
print(json.dumps(out))
"""


FIRST_QUERY = """
import json, sys, time
t0 = time.perf_counter()
from laion_fmri_datalad.loaders import load_subject
t1 = time.perf_counter()
sessions = load_subject("sub-01", dataset=sys.argv[1]).get_sessions()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "query_s": t2 - t1, "sessions": len(sessions)}))
"""


BEFORE_LISTINGS = """
import json, sys, time
t0 = time.perf_counter()
from laion_fmri_datalad.loaders import load_subject
from laion_fmri_datalad.loaders.clone.index import layout
t1 = time.perf_counter()
sub = load_subject("sub-01", dataset=sys.argv[1])
root = sub.content.ensure_installed("derivatives/glmsingle-tedana")
t2 = time.perf_counter()
found = layout(root)
t3 = time.perf_counter()
sessions = sorted(f"ses-{s}" for s in found.get_sessions(subject="01"))
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "install_s": t2 - t1, "index_s": t3 - t2,
                  "answer_s": t4 - t3, "query_s": t4 - t1, "sessions": len(sessions)}))
"""


def before_listings(clone: Path) -> dict[str, float]:
    """The same first query as the loaders answered it before listings were shipped."""
    done = subprocess.run(
        [sys.executable, "-c", BEFORE_LISTINGS, str(clone)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def first_query(clone: Path) -> dict[str, float]:
    """``load_subject("sub-01").get_sessions()`` in a new process on a fresh clone, as a
    user's first line runs it: install, index and answer, imports timed apart."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_QUERY, str(clone)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fresh_clone(store: Path, clone: Path) -> float:
    import datalad.api as dl

    if clone.exists():
        subprocess.run(["chmod", "-R", "u+w", str(clone)], check=True)
        shutil.rmtree(clone)
    started = time.perf_counter()
    dl.clone(source=f"ria+file://{store}#~laion-fmri", path=str(clone), result_renderer="disabled")
    return time.perf_counter() - started


def child(clone: Path, subdataset: str, query: str, phases: bool) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(clone), subdataset, query, "1" if phases else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-index"))
    args = parser.parse_args()
    # a benchmark is a program: its main sets its own process up once, as the CLI does
    os.environ.update(tool_env(loopback=True))
    work = args.workdir.absolute()
    fixture = work / "fixture"
    if not (fixture / MANIFEST).is_file():
        print("writing the real-scale synthetic bucket ...", flush=True)
        write_fixture(fixture, "real", seed=0)
    served = start_bucket(fixture, work / "s3")
    try:
        superdataset = work / "superdataset"
        print("building the superdataset (incremental when it exists) ...", flush=True)
        report = build(superdataset, served.location)
        print(f"  {report.summary()}")
        store = work / "ria"
        publish(superdataset, f"ria+file://{store}")  # pushes only what the store lacks
        clone = work / "clone"
        print(f"fresh clone: {fresh_clone(store, clone):.1f} s")
        old = before_listings(clone)
        fresh_clone(store, clone)
        first = first_query(clone)
        installed = sorted(
            p.name for p in (clone / "derivatives").iterdir() if (p / ".git").exists()
        )
        print(
            "first query on a fresh clone, load_subject('sub-01').get_sessions(), new process"
            " (imports apart):\n| path | install | pybids index | answer | total | sessions |\n"
            "| --- | --- | --- | --- | --- | --- |\n"
            f"| before: install + pybids index | {old['install_s']:.2f} s | {old['index_s']:.2f} s"
            f" | {old['answer_s']:.2f} s | {old['query_s']:.2f} s | {int(old['sessions'])} |\n"
            f"| now: shipped listing | - | - | {first['query_s']:.2f} s | {first['query_s']:.2f} s"
            f" | {int(first['sessions'])} |\n"
            f"speed-up {old['query_s'] / first['query_s']:.0f}x; subdatasets installed by the "
            f"new path: {installed or 'none'}; imports {first['import_s']:.2f} s",
            flush=True,
        )
        fresh_clone(store, clone)
        print(
            "| query | files indexed | first: install | first: index | first: query | "
            "first total | second process | speed-up |\n| --- | --- | --- | --- | --- | --- "
            "| --- | --- |"
        )
        for name, (subdataset, query) in QUERIES.items():
            first = child(clone, subdataset, query, phases=True)
            second = child(clone, subdataset, query, phases=False)
            print(
                f"| {name} | {int(first['files'])} | {first['install_s']:.2f} s | "
                f"{first['index_s']:.2f} s | {first['query_s']:.2f} s | "
                f"{first['total_s']:.2f} s | {second['total_s']:.2f} s | "
                f"{first['total_s'] / second['total_s']:.0f}x |",
                flush=True,
            )
        print(f"(imports of loaders + pybids in each process: {second['import_s']:.2f} s)")
        fresh_clone(store, clone)
        command = Path(sys.executable).with_name("laion-fmri-datalad")
        print("| fresh clone, new process | wall clock | subdatasets installed after |")
        print("| --- | --- | --- |")
        for words in (["info"], ["info", "--subject", "sub-01"], ["get", "--dry-run"]):
            started = time.perf_counter()
            subprocess.run(
                [str(command), *words, "-d", str(clone)], check=True, capture_output=True
            )
            wall = time.perf_counter() - started
            after = [p for p in clone.glob("derivatives/*") if (p / ".git").exists()]
            after += [p for p in clone.glob("sub-*") if (p / ".git").exists()]
            print(f"| `laion-fmri-datalad {' '.join(words)}` | {wall:.2f} s | {len(after)} |")
    finally:
        served.server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
