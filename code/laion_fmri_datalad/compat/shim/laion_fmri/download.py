"""Upstream's ``laion_fmri.download``: files got with ``datalad get`` into the clone."""

from laion_fmri_datalad.compat.api import download, download_stimuli, not_served
from laion_fmri_datalad.compat.embeddings import download_embeddings

__all__ = ["download", "download_embeddings", "download_stimuli"]
__getattr__ = not_served(__name__, {"fetch_laion_fmri": "use download(subject, ...)"})
