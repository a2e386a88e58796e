"""The same listing code against the real bucket (needs the internet; skipped by default)."""

from __future__ import annotations

import itertools

import pytest

from laion_fmri_datalad.builder.routing import route
from laion_fmri_datalad.s3.client import BucketLocation, iter_current


@pytest.mark.internet
def test_real_bucket_lists_anonymously_and_routes() -> None:
    location = BucketLocation()  # s3://laion-fmri in us-west-2, no endpoint override
    first = list(itertools.islice(iter_current(location), 2000))
    assert first, "the real bucket listed no objects"
    routed = [o for o in first if route(o.key) is not None]
    assert len(routed) >= 0.9 * len(first)
