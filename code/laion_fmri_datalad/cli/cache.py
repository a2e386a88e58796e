"""``cache``: the voxel-major cache of the betas (build ahead, show, free)."""

from __future__ import annotations

import argparse

from ..runtime.reports import Report
from .options import add_dataset, add_jobs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cache = sub.add_parser("cache", help="the betas cache: build it ahead, show it, free it")
    what = cache.add_subparsers(dest="cache_command", required=True, parser_class=type(cache))

    betas = what.add_parser("betas", help="build the cache of sessions' betas (one pass each)")
    betas.add_argument("--subject", nargs="+", action="extend", help="ids (sub-01 or 01) or all")
    betas.add_argument("--ses", nargs="+", action="extend", help="sessions (default: all)")
    add_jobs(betas, 1, "sessions cached")
    add_dataset(betas, "the clone")
    betas.set_defaults(func=run_cache_betas)

    info = what.add_parser("info", help="the caches and their size, per subject and session")
    info.add_argument("--subject", nargs="+", action="extend")
    info.add_argument("--ses", nargs="+", action="extend")
    add_dataset(info, "the clone")
    info.set_defaults(func=run_cache_info)

    clear = what.add_parser("clear", help="remove caches (all, or of subjects and sessions)")
    clear.add_argument("--subject", nargs="+", action="extend")
    clear.add_argument("--ses", nargs="+", action="extend")
    add_dataset(clear, "the clone")
    clear.set_defaults(func=run_cache_clear)


def run_cache_betas(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset
    from ..loaders.betas.cacheadmin import build_caches
    from ..repo.annex import require_git_annex
    from ..runtime.progress import progress_bar

    require_git_annex()
    root = find_superdataset(args.dataset)
    return build_caches(root, args.subject or "all", args.ses, args.jobs, progress_bar)


def run_cache_info(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset
    from ..loaders.betas.cacheadmin import cache_info

    return cache_info(find_superdataset(args.dataset), args.subject, args.ses)


def run_cache_clear(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset
    from ..loaders.betas.cacheadmin import clear_caches

    return clear_caches(find_superdataset(args.dataset), args.subject, args.ses)
