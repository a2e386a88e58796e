"""Loaders for a clone of the superdataset (betas, trials, events, ROIs, noise ceilings).

>>> from laion_fmri_datalad.loaders import load_subject
>>> sub = load_subject("sub-01", dataset="laion-fmri")
>>> betas = sub.get_betas("ses-01", roi="face", nc_threshold=20)
"""

from .group import Group, load_subjects
from .subject import Subject, load_subject

__all__ = ["Group", "Subject", "load_subject", "load_subjects"]
