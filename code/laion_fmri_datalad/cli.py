"""The ``laion-fmri-datalad`` command line. Package errors become one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from . import __version__
from .errors import LaionFmriError, UsageError
from .fixture.spec import SCALES
from .gitenv import apply_to_current_process, require_git_annex
from .progress import progress_bar

log = logging.getLogger("laion_fmri_datalad")
ENTITY_FLAGS = ("ses", "task", "space", "desc", "stat", "suffix", "extension")


def _scale(value: str) -> str:
    if value not in SCALES:
        raise argparse.ArgumentTypeError(
            f"unknown scale '{value}'; allowed: {', '.join(sorted(SCALES))}"
        )
    return value


def _jobs(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise argparse.ArgumentTypeError(f"jobs '{value}' is not allowed; use 1-64")
    return int(value)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port '{value}' is not a number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not allowed; use 1-65535")
    return port


def _fixture_command(args: argparse.Namespace) -> int:
    from .fixture.bucket import write_fixture

    with progress_bar("writing objects") as advance:
        manifest = write_fixture(args.outdir, args.scale, args.seed, progress=advance)
    size = sum(e.size for e in manifest.objects)
    print(
        f"wrote {len(manifest.objects)} objects ({size / 1e6:.1f} MB) of a '{args.scale}' "
        f"synthetic bucket '{manifest.bucket}' to {args.outdir}"
    )
    return 0


def _ensure_fixture(fixture: Path | None, scale: str, seed: int, workdir: Path) -> Path:
    from .fixture.bucket import write_fixture

    directory = fixture or workdir / "fixture"
    if not (directory / "manifest.json").is_file():
        with progress_bar("writing objects") as advance:
            write_fixture(directory, scale, seed, progress=advance)
    return directory


def _wait_for_stop() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    stop.wait()


def _serve_command(args: argparse.Namespace) -> int:
    import tempfile

    from .localbucket import start_bucket

    with tempfile.TemporaryDirectory(prefix="laion-fmri-fixture-") as tmp:
        fixture = _ensure_fixture(args.fixture, args.scale, args.seed, Path(tmp))
        with progress_bar("uploading objects") as advance:
            served = start_bucket(fixture, args.data, args.port, progress=advance)
        try:
            print(f"endpoint: {served.server.endpoint_url}", flush=True)
            print(f"access service: {served.access.url}", flush=True)
            print(
                f"bucket: {served.manifest.bucket} ({len(served.manifest.objects)} objects, "
                "anonymous read; Ctrl-C stops the server)",
                flush=True,
            )
            _wait_for_stop()
        finally:
            served.server.stop()
    print("server stopped", flush=True)
    return 0


def _build_command(args: argparse.Namespace) -> int:
    from .build.builder import build
    from .s3client import BucketLocation

    require_git_annex()
    location = BucketLocation(args.bucket, args.region, args.endpoint_url)
    report = build(
        args.target,
        location,
        jobs=args.jobs,
        progress=progress_bar,
        recheck_withheld=args.recheck_withheld,
    )
    print(report.table())
    print(report.summary())
    if report.ok and args.access_url:
        from .gated.register import register_gated

        print(register_gated(args.target, args.access_url).summary())
    return 0 if report.ok else 1


def _publish_command(args: argparse.Namespace) -> int:
    from .publish import publish

    require_git_annex()
    report = publish(args.target.absolute(), args.to, sibling=args.name, alias=args.alias)
    print(report.summary())
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from .demo import run_demo

    require_git_annex()
    return run_demo(args.workdir, scale=args.scale, seed=args.seed, port=args.port)


def _get_command(args: argparse.Namespace) -> int:
    from .loaders.dataset import human
    from .loaders.discovery import plan_download
    from .loaders.fetching import fetch

    filters = {flag: getattr(args, flag) for flag in ENTITY_FLAGS}
    content, selected = plan_download(
        args.subject or "all", stream=args.stream, dataset=args.dataset, **filters
    )
    if args.dry_run:
        for item in selected:
            state = "present" if item.present else "to get"
            print(f"{content.relative(item.path)}\t{human(item.size)}\t{state}")
        missing = [s for s in selected if not s.present]
        print(
            f"would get {len(missing)} of {len(selected)} files, "
            f"{human(sum(s.size for s in missing))} (of {human(sum(s.size for s in selected))})"
        )
        return 0
    require_git_annex()
    summary = fetch(content, selected, jobs=args.jobs)
    print(summary.line())
    return 0 if summary.ok else 1


def _info_command(args: argparse.Namespace) -> int:
    from .loaders.dataset import find_superdataset, resolve_subjects
    from .loaders.info import clone_info

    root = find_superdataset(args.dataset)
    subject = resolve_subjects(root, args.subject)[0] if args.subject else None
    print(clone_info(root, subject).render())
    return 0


def _splits_command(args: argparse.Namespace) -> int:
    from .splits.run import make_splits

    require_git_annex()
    print(make_splits(args.target).summary())
    return 0


def _release_command(args: argparse.Namespace) -> int:
    from .provenance.release import release

    print(release(args.dataset.absolute(), args.version).summary())
    return 0


def _cite_command(args: argparse.Namespace) -> int:
    from .loaders.dataset import find_superdataset
    from .provenance.cite import render

    print(render(find_superdataset(args.dataset), args.format))
    return 0


def _verify_command(args: argparse.Namespace) -> int:
    from .provenance.rerun import verify_runs

    require_git_annex()
    report = verify_runs(args.dataset.absolute(), args.revision)
    print(report.text())
    return 0 if report.ok else 1


def _request_access_command(args: argparse.Namespace) -> int:
    from .gated.request import interactive, recorded_service_url, request
    from .loaders.dataset import find_superdataset

    url = args.access_url
    if url is None:
        try:
            url = recorded_service_url(find_superdataset(args.dataset))
        except UsageError:
            url = None  # not in a clone: the default service
    form = {f: getattr(args, f) for f in ("name", "email", "institution", "purpose")}
    path, base = request(form, args.accept_terms, url, interactive())
    print(f"access granted by {base}; token stored in {path} (mode 0600)")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="laion-fmri-datalad",
        description="The LAION-fMRI dataset as a DataLad superdataset.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    fixture = sub.add_parser("fixture", help="write a synthetic LAION-fMRI bucket to a directory")
    fixture.add_argument("outdir", type=Path)
    fixture.add_argument("--scale", type=_scale, default="tiny", help="tiny (default) or real")
    fixture.add_argument("--seed", type=int, default=0)
    fixture.set_defaults(func=_fixture_command)

    serve = sub.add_parser("serve", help="serve a synthetic bucket from a local S3 server")
    serve.add_argument("--fixture", type=Path, help="fixture directory (generated if absent)")
    serve.add_argument("--data", type=Path, help="server data directory (default: temporary)")
    serve.add_argument("--port", type=_port, help="S3 port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--scale", type=_scale, default="tiny")
    serve.add_argument("--seed", type=int, default=0)
    serve.set_defaults(func=_serve_command)

    build = sub.add_parser("build", help="build or update the superdataset from the bucket")
    build.add_argument("target", type=Path, nargs="?", default=Path())
    build.add_argument("--bucket", default="laion-fmri")
    build.add_argument("--endpoint-url", help="S3 endpoint (default: AWS)")
    build.add_argument("--region", default="us-west-2")
    build.add_argument("-J", "--jobs", type=_jobs, default=8, help="parallel requests (default: 8)")
    build.add_argument(
        "--recheck-withheld",
        action="store_true",
        help="check again whether objects denied before can now be read",
    )
    build.add_argument(
        "--access-url",
        help="access service of the gated files: register them from its manifest",
    )
    build.set_defaults(func=_build_command)

    pub = sub.add_parser("publish", help="publish the superdataset and subdatasets to a RIA store")
    pub.add_argument("target", type=Path, nargs="?", default=Path())
    pub.add_argument("--to", required=True, help="store URL, e.g. ria+file:///data/store")
    pub.add_argument("--name", default="ria", help="sibling name (default: ria)")
    pub.add_argument("--alias", default="laion-fmri", help="alias of the superdataset")
    pub.set_defaults(func=_publish_command)

    get = sub.add_parser("get", help="get the files of a clone that match BIDS entity filters")
    get.add_argument("--subject", nargs="+", action="extend", help="ids (sub-01 or 01) or all")
    for flag in ENTITY_FLAGS:
        get.add_argument(f"--{flag}", nargs="+", action="extend", metavar="VALUE")
    get.add_argument(
        "--stream",
        nargs="+",
        action="extend",
        help="raw, glmsingle-tedana, rois, anatomical, freesurfer or all "
        "(default: glmsingle-tedana rois anatomical)",
    )
    get.add_argument("-J", "--jobs", type=_jobs, default=1, help="parallel transfers")
    get.add_argument("--dry-run", action="store_true", help="list what would be got, and sizes")
    get.add_argument("--dataset", "-d", type=Path, help="the clone (default: the one here)")
    get.set_defaults(func=_get_command)

    info = sub.add_parser("info", help="subjects, sessions, ROIs and what is present locally")
    info.add_argument("--subject")
    info.add_argument("--dataset", "-d", type=Path, help="the clone (default: the one here)")
    info.set_defaults(func=_info_command)

    splits = sub.add_parser("splits", help="make the train/test splits under datalad run")
    splits.add_argument("target", type=Path, nargs="?", default=Path())
    splits.set_defaults(func=_splits_command)

    rel = sub.add_parser("release", help="tag a release of the superdataset and subdatasets")
    rel.add_argument("version", help="e.g. 1.0.0 or v1.0.0")
    rel.add_argument("--dataset", "-d", type=Path, default=Path(), help="the superdataset")
    rel.set_defaults(func=_release_command)

    cite = sub.add_parser("cite", help="the citation of the checked-out version")
    cite.add_argument("--format", choices=("text", "bibtex", "cff"), default="text")
    cite.add_argument("--dataset", "-d", type=Path, help="the clone (default: the one here)")
    cite.set_defaults(func=_cite_command)

    ver = sub.add_parser("verify", help="rerun recorded datalad run commits and compare outputs")
    ver.add_argument("revision", nargs="?", default="HEAD")
    ver.add_argument("--dataset", "-d", type=Path, default=Path(), help="the superdataset")
    ver.set_defaults(func=_verify_command)

    req = sub.add_parser("request-access", help="request access to the gated stimuli")
    for field in ("name", "email", "institution", "purpose"):
        req.add_argument(f"--{field}")
    req.add_argument("--accept-terms", action="store_true", help="accept the terms of use")
    req.add_argument("--access-url", help="access service (default: the clone's, or the real)")
    req.add_argument("--dataset", "-d", type=Path, help="the clone (default: the one here)")
    req.set_defaults(func=_request_access_command)

    demo = sub.add_parser("demo", help="the whole job on the embedded synthetic bucket")
    demo.add_argument("--workdir", type=Path, default=Path(".demo"))
    demo.add_argument("--scale", type=_scale, default="tiny")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--port", type=_port, help="S3 port on 127.0.0.1 (default: a free one)")
    demo.set_defaults(func=_demo_command)
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Retries are reported by the final error, not by one warning each.
    logging.getLogger("urllib3").setLevel(logging.INFO if args.verbose else logging.ERROR)
    # DataLad logs every annex transfer at INFO; show that only with --verbose.
    os.environ.setdefault("DATALAD_LOG_LEVEL", "info" if args.verbose else "warning")
    apply_to_current_process()
    # A plain `kill` ends the command like Ctrl-C does: servers it started are stopped.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result: int = args.func(args)
    except UsageError as exc:
        print(f"laion-fmri-datalad: error: {exc}", file=sys.stderr)
        return 2
    except LaionFmriError as exc:
        print(f"laion-fmri-datalad: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("laion-fmri-datalad: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
