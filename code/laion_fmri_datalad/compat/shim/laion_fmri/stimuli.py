"""Upstream's ``laion_fmri.stimuli``."""

from laion_fmri_datalad.compat.api import load_stimuli, not_served
from laion_fmri_datalad.loaders.api.stimuli import Stimuli

__all__ = ["Stimuli", "load_stimuli"]
__getattr__ = not_served(__name__, {})
