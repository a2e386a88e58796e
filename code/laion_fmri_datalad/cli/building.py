"""``build`` and ``publish``: the superdataset from the bucket, and to a RIA store."""

from __future__ import annotations

import argparse

from ..checks import validate
from ..repo.annex import require_git_annex
from ..runtime.reports import Report, Reports
from .options import add_dataset, add_jobs, dataset_from, region


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = sub.add_parser("build", help="build or update the superdataset from the bucket")
    add_dataset(build, "the superdataset to build or update", positional=True)
    build.add_argument("--bucket", default="laion-fmri")
    build.add_argument("--endpoint-url", help="S3 endpoint (default: AWS)")
    build.add_argument("--region", type=region, default="us-west-2")
    add_jobs(build, 8, "parallel requests")
    build.add_argument(
        "--recheck-withheld",
        action="store_true",
        help="check again whether objects denied before can now be read",
    )
    build.add_argument(
        "--access-url",
        help="access service of the gated files: register them from its manifest",
    )
    build.set_defaults(func=run_build)

    publish = sub.add_parser(
        "publish", help="publish the superdataset and subdatasets to a RIA store or a git host"
    )
    add_dataset(publish, "the superdataset", positional=True)
    publish.add_argument(
        "--to",
        required=True,
        help="a RIA store (ria+file:///data/store, ria+ssh://host/path) or a git host's base "
        "URL, one repository per dataset (https://github.com/ORG)",
    )
    publish.add_argument(
        "--name", default=None, help="sibling name (default: ria, or githost for a git host)"
    )
    publish.add_argument(
        "--alias",
        default="laion-fmri",
        help="the superdataset's name: the store's alias, or its repository on a git host",
    )
    publish.add_argument(
        "--repo-name",
        default=None,
        metavar="PATTERN",
        help="git host: the subdatasets' repository names, from {name} and {path} "
        "(default: {name}-{path}, as datalad create-sibling-github -r names them)",
    )
    add_jobs(publish, 1, "datasets pushed")
    publish.set_defaults(func=run_publish)


def run_build(args: argparse.Namespace) -> Report:
    from ..builder.builder import build
    from ..runtime.progress import progress_bar
    from ..s3.client import BucketLocation

    require_git_annex()
    dataset = validate.directory_to_write(dataset_from(args), "dataset")
    if args.endpoint_url is not None:
        validate.http_url(args.endpoint_url, "endpoint URL")
    if args.access_url is not None:  # reachable before anything is built
        from ..gated.client import manifest

        manifest(validate.http_url(args.access_url, "access URL"))
    location = BucketLocation(args.bucket, args.region, args.endpoint_url)
    report = build(
        dataset,
        location,
        jobs=args.jobs,
        progress=progress_bar,
        recheck_withheld=args.recheck_withheld,
    )
    if not (report.ok and args.access_url):
        return report
    from ..gated.register import register_gated

    return Reports([report, register_gated(dataset, args.access_url)])


def run_publish(args: argparse.Namespace) -> Report:
    from ..publishing.publish import publish

    require_git_annex()
    dataset = validate.directory_to_read(dataset_from(args), "dataset")
    return publish(
        dataset,
        args.to,
        sibling=args.name,
        alias=args.alias,
        jobs=args.jobs,
        repo_pattern=args.repo_name,
    )
