"""Upstream's ``laion_fmri.discovery``, answered from the clone."""

from laion_fmri_datalad.compat.api import (
    describe,
    get_rois,
    get_subjects,
    inspect_bucket,
    not_served,
)

__all__ = ["describe", "get_rois", "get_subjects", "inspect_bucket"]
__getattr__ = not_served(__name__, {})
