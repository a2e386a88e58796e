"""Upstream's ``laion_fmri.group``."""

from laion_fmri_datalad.compat.api import load_subjects, not_served
from laion_fmri_datalad.loaders.api.group import Group

__all__ = ["Group", "load_subjects"]
__getattr__ = not_served(__name__, {})
