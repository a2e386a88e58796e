"""The superdataset's layout by name: its subdatasets (one per subject, one per derivative
stream, ``stimuli`` and ``archive``), the builder's state in each dataset, and where an
analysis dataset keeps its input. The builder's routing, the loaders and the analyses all
name a subdataset from here."""

from __future__ import annotations

SUPERDATASET = ""  # the superdataset itself, as a subdataset path
STIMULI = "stimuli"
ARCHIVE = "archive"
DERIVATIVE_STREAMS = ("glmsingle-tedana", "rois", "anatomical", "freesurfer", "localizers")


def derivative(stream: str) -> str:
    """The subdataset of a derivative stream: ``rois`` -> ``derivatives/rois``."""
    return f"derivatives/{stream}"


GLM = derivative("glmsingle-tedana")
ROIS = derivative("rois")
ANAT = derivative("anatomical")
FREESURFER = derivative("freesurfer")
LOCALIZERS = derivative("localizers")
# The streams a user names (``get --stream``): raw is each subject's own subdataset, sub-XX.
STREAMS: dict[str, str | None] = {"raw": None, **{s: derivative(s) for s in DERIVATIVE_STREAMS}}
DEFAULT_STREAMS = ("glmsingle-tedana", "rois", "anatomical")  # what the loaders read
MARKER = GLM  # a superdataset is a dataset whose .gitmodules names the betas' subdataset

STATE_DIR = ".laion-fmri"  # what the builder records in each dataset
INVENTORY = f"{STATE_DIR}/inventory.tsv"
ANALYSIS_INPUTS = "inputs/laion-fmri"  # where an analysis dataset holds the superdataset
