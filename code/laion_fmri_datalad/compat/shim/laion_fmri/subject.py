"""Upstream's ``laion_fmri.subject``."""

from laion_fmri_datalad.compat.api import load_subject, not_served
from laion_fmri_datalad.loaders.api.subject import Subject

__all__ = ["Subject", "load_subject"]
__getattr__ = not_served(__name__, {})
