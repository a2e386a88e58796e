"""Upstream's ``laion_fmri.embeddings``."""

from laion_fmri_datalad.compat.api import not_served
from laion_fmri_datalad.compat.embeddings import Embeddings, load_embeddings
from laion_fmri_datalad.loaders.api.stimuli import MODELS as AVAILABLE_MODELS

__all__ = ["AVAILABLE_MODELS", "Embeddings", "load_embeddings"]
__getattr__ = not_served(__name__, {})
