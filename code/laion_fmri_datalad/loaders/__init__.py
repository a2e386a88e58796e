"""Loaders for a clone of the superdataset (betas, trials, events, ROIs, noise ceilings).

>>> from laion_fmri_datalad.loaders import load_subject
>>> sub = load_subject("sub-01", dataset="laion-fmri")
>>> betas = sub.get_betas("ses-01", roi="face", nc_threshold=20)

The names are imported on first use, so ``laion-fmri-datalad info`` does not pay for
pybids, nibabel and pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..runtime.lazy import lazy_exports

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .api.discovery import (
        describe,
        download,
        get_rois,
        get_subjects,
        plan_download,
        plan_get,
    )
    from .api.group import Group, load_subjects
    from .api.stimuli import Stimuli, load_stimuli
    from .api.subject import Subject, load_subject

_WHERE = {
    "Group": "api.group",
    "load_subjects": "api.group",
    "Subject": "api.subject",
    "load_subject": "api.subject",
    "download": "api.discovery",
    "describe": "api.discovery",
    "get_rois": "api.discovery",
    "get_subjects": "api.discovery",
    "plan_download": "api.discovery",
    "plan_get": "api.discovery",
    "Stimuli": "api.stimuli",
    "load_stimuli": "api.stimuli",
}

__all__ = [
    "Group",
    "Stimuli",
    "Subject",
    "describe",
    "download",
    "get_rois",
    "get_subjects",
    "load_stimuli",
    "load_subject",
    "load_subjects",
    "plan_download",
    "plan_get",
]


__getattr__ = lazy_exports(__name__, _WHERE)
