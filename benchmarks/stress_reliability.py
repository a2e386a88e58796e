"""Stress: many kill points, many faulty requests and many bad inputs, bounded in count and
time, with traffic only to 127.0.0.1. Prints what survived.

    .venv/bin/python benchmarks/stress_reliability.py [--kill-points 40] [--faults 2000]
        [--inputs 5000] [--max-seconds 1200] [--workdir DIR] [--seed 0]

1. **Kill points**: builds of the tiny bucket stopped by SIGKILL, SIGTERM or SIGINT at a
   random occurrence of a random git step (``devserver/killpoints.py``), each followed by a
   rerun compared with an uninterrupted build (trees, annex URL and location logs, status).
2. **Faults**: builds and ``get``s through ``devserver/faultproxy.py`` (503s, resets, cut
   bodies; several per URL) until the number of injected faults is reached; every build's
   dataset is compared with a clean one, every get ends with ``git annex fsck``.
3. **Inputs**: random values for every kind ``checks/validate.py`` checks (job counts, ports,
   versions, names, URLs, labels); each must be accepted exactly when an independent rule
   says it is valid, and otherwise rejected with one line naming the value.

Not a test: record the figures in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.checks import validate
from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.devserver.fixture.bucket import MANIFEST, write_fixture
from laion_fmri_datalad.devserver.killpoints import differences, interrupted_build, snapshot
from laion_fmri_datalad.devserver.localbucket import start_bucket
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders.api.discovery import plan_get
from laion_fmri_datalad.loaders.clone.fetching import fetch
from laion_fmri_datalad.publishing.publish import publish
from laion_fmri_datalad.repo.env import tool_env
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.s3.client import BucketLocation

STEPS = ("annex init", "fast-import", "update-ref -m", "read-tree", "config -f", "hash-object")
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)


def kill_points(
    location: BucketLocation, work: Path, count: int, deadline: float, rng: random.Random
) -> Counter[str]:
    reference_dir = work / "reference"
    assert build(reference_dir, location).ok
    reference = snapshot(reference_dir)
    totals: dict[str, int] = {}
    for step in STEPS:  # how often a clean build runs each step
        tmp = Path(tempfile.mkdtemp(dir=work))
        code, totals[step] = interrupted_build(
            tmp / "sd", location, tmp, step, 10**6, signal.SIGKILL
        )
    seen: Counter[str] = Counter()
    while seen["tried"] < count and time.monotonic() < deadline:
        step = rng.choice([s for s in STEPS if totals[s] > 0])
        nth, sig = rng.randint(1, totals[step]), rng.choice(SIGNALS)
        tmp = Path(tempfile.mkdtemp(dir=work))
        code, reached = interrupted_build(tmp / "sd", location, tmp, step, nth, sig)
        seen["tried"] += 1
        if reached != nth or code == 0:
            seen["not stopped (skipped)"] += 1
            continue
        report = build(tmp / "sd", location)
        if not report.ok:
            seen["rerun failed"] += 1
            print(f"  rerun failed after {step!r} #{nth} {sig.name}: {report.summary()}")
            continue
        found = differences(snapshot(tmp / "sd"), reference)
        seen["identical" if not found else "different"] += 1
        seen["resumed"] += bool(report.resumed)
        if found:
            print(f"  different after {step!r} #{nth} {sig.name}: {found[:2]}")
    return seen


def faults(
    location: BucketLocation, work: Path, count: int, deadline: float, seed: int
) -> Counter[str]:
    seen: Counter[str] = Counter()
    schedule = Schedule(rate=0.5, per_url=2, seed=seed)
    with FaultProxy(str(location.endpoint_url), schedule) as proxy:
        faulty = BucketLocation(location.bucket, endpoint_url=proxy.url)
        schedule.enabled = False
        clean_dir = work / "clean-through-proxy"
        assert build(clean_dir, faulty).ok
        clean = snapshot(clean_dir)
        schedule.enabled = True
        rounds = 0
        while sum(schedule.counts[k] for k in ("503", "reset", "truncate")) < count:
            if time.monotonic() > deadline:
                break
            rounds += 1
            schedule._seen.clear()
            target = work / f"faulty-{rounds}" / "superdataset"
            report = build(target, faulty, jobs=4)
            while not report.ok and report.failures:
                seen["build faults named"] += len(report.failures)
                report = build(target, faulty, jobs=4)
            found = differences(snapshot(target), clean)
            seen["builds identical" if not found else "builds different"] += 1
            url = publish(target, f"ria+file://{work / f'store-{rounds}'}").clone_url
            from laion_fmri_datalad.repo import datalad

            clone = work / f"clone-{rounds}"
            datalad.call("clone", source=url, path=str(clone))
            content, selected = plan_get("sub-01", dataset=clone)
            summary = fetch(content, selected, jobs=2)
            seen["get failures named"] += len(summary.failed)
            if summary.ok:
                seen["gets complete"] += 1
                seen["bytes verified"] += summary.fetched_bytes
            fsck = git(clone / "derivatives/glmsingle-tedana", "annex", "fsck", "--quiet")
            seen["fsck clean" if "failed" not in fsck else "fsck failed"] += 1
        for kind in ("503", "reset", "truncate", "forwarded"):
            seen[f"requests: {kind}"] = schedule.counts[kind]
    return seen


def _random_text(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + " ./:-_+~#@\t\n'\""
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _random_value(rng: random.Random) -> object:
    return rng.choice(
        [
            rng.randint(-10, 100),
            rng.randint(-(10**12), 10**12),
            _random_text(rng),
            None,
            rng.random() * 100,
            True,
            str(rng.randint(-5, 80)),
            f"{rng.randint(0, 3)}.{rng.randint(0, 3)}",
            f"v{rng.randint(0, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            f"ria+file://{_random_text(rng)}",
            f"http://127.0.0.1:{rng.randint(-5, 70000)}/x",
        ]
    )


ORACLES: dict[str, tuple[Callable[[object], object], Callable[[object], bool]]] = {
    "jobs": (validate.jobs, lambda v: type(v) is int and 1 <= v <= 64),
    "port": (validate.port_number, lambda v: type(v) is int and 1 <= v <= 65535),
    "version": (
        lambda v: validate.version(v),
        lambda v: (
            isinstance(v, str) and re.fullmatch(r"v?(0|[1-9]\d*)(\.(0|[1-9]\d*)){2}", v) is not None
        ),
    ),
    "sibling name": (
        lambda v: validate.remote_name(v),
        lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v) is not None,
    ),
    "session label": (
        lambda v: validate.entity_values("ses", v),
        lambda v: (
            (type(v) is int and v >= 0)
            or (isinstance(v, str) and re.fullmatch(r"(ses-)?[A-Za-z0-9]+", v) is not None)
        ),
    ),
}


def inputs(count: int, rng: random.Random) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(count):
        kind = rng.choice(list(ORACLES))
        check, valid = ORACLES[kind]
        value = _random_value(rng)
        try:
            check(value)
            accepted = True
            message = ""
        except UsageError as exc:
            accepted, message = False, str(exc)
        except Exception as exc:
            seen[f"crashed: {type(exc).__name__}"] += 1
            continue
        if accepted != valid(value):
            seen["wrongly " + ("accepted" if accepted else "rejected")] += 1
            print(f"  {kind}: {value!r} wrongly {'accepted' if accepted else 'rejected'}")
        elif accepted:
            seen["valid, accepted"] += 1
        elif "\n" in message or (
            repr(value)[:20] not in message and str(value)[:20] not in message
        ):
            seen["rejected, but the message does not name the value"] += 1
        else:
            seen["rejected cleanly"] += 1
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kill-points", type=int, default=40)
    parser.add_argument("--faults", type=int, default=2000)
    parser.add_argument("--inputs", type=int, default=5000)
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # a benchmark is a program: its main sets its own process up once, as the CLI does
    os.environ.update(tool_env(loopback=True))
    rng = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + args.max_seconds
    work = Path(args.workdir or tempfile.mkdtemp(prefix="stress-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    fixture = work / "fixture"
    if not (fixture / MANIFEST).is_file():
        write_fixture(fixture, "tiny", seed=0)
    served = start_bucket(fixture, work / "s3")
    try:
        print(f"inputs ({args.inputs} random values):", dict(inputs(args.inputs, rng)), flush=True)
        half = started + args.max_seconds / 2
        if args.kill_points:
            kills = kill_points(served.location, work / "kills", args.kill_points, half, rng)
            print(f"kill points ({time.monotonic() - started:.0f} s):", dict(kills), flush=True)
        if args.faults:
            found = faults(served.location, work / "faults", args.faults, deadline, args.seed)
            print(f"faults ({time.monotonic() - started:.0f} s):", dict(found), flush=True)
    finally:
        served.server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
