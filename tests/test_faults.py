"""Builds and gets through a proxy on 127.0.0.1 that answers 503, resets connections and cuts
bodies short: every fault is retried or named, a rerun completes, and every byte that
arrives matches its key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.devserver.killpoints import differences, snapshot
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.layout.names import GLM
from laion_fmri_datalad.loaders.api.discovery import plan_get
from laion_fmri_datalad.loaders.clone.fetching import fetch
from laion_fmri_datalad.publishing.publish import publish
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.s3.client import BucketLocation


@pytest.fixture(scope="module")
def proxy(small_server: ServedBucket) -> Iterator[FaultProxy]:
    with FaultProxy(small_server.server.endpoint_url, Schedule(rate=0.35, seed=7)) as running:
        yield running


def through(proxy: FaultProxy, served: ServedBucket) -> BucketLocation:
    return BucketLocation(served.location.bucket, endpoint_url=proxy.url)


@pytest.fixture(scope="module")
def faulty_build(
    proxy: FaultProxy, small_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    target = tmp_path_factory.mktemp("faulty") / "superdataset"
    proxy.schedule.enabled = True
    report = build(target, through(proxy, small_server), jobs=4)
    if not report.ok:  # a fault that outlasted every retry is named; a rerun completes it
        assert report.failures, report.details()
        report = build(target, through(proxy, small_server), jobs=4)
    assert report.ok, report.details()
    return target


def test_a_build_through_faults_equals_a_clean_one(
    faulty_build: Path, proxy: FaultProxy, small_server: ServedBucket, tmp_path: Path
) -> None:
    injected = {k: proxy.schedule.counts[k] for k in ("503", "reset", "truncate")}
    assert all(n > 0 for n in injected.values()), injected
    proxy.schedule.enabled = False  # the same endpoint in every URL, no faults
    try:
        clean = tmp_path / "clean"
        assert build(clean, through(proxy, small_server)).ok
    finally:
        proxy.schedule.enabled = True
    assert differences(snapshot(faulty_build), snapshot(clean)) == []


def test_get_through_faults_verifies_every_byte(
    clone_of: Callable[[str, Path], Path], faulty_build: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    url = publish(faulty_build, f"ria+file://{tmp_path / 'store'}").clone_url
    clone = clone_of(url, tmp_path / "clone")
    before = {k: proxy.schedule.counts[k] for k in ("503", "reset", "truncate")}
    content, selected = plan_get("sub-01", dataset=clone)
    summary = fetch(content, selected, jobs=2)
    assert summary.ok, summary.details()
    assert summary.fetched > 0
    injected = {k: proxy.schedule.counts[k] - before[k] for k in before}
    assert sum(injected.values()) > 0, injected
    fsck = git(clone / GLM, "annex", "fsck", "--quiet")  # checksums every present file
    assert "failed" not in fsck and "bad" not in fsck.lower()
