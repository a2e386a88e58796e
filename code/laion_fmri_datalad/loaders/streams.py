"""The subdatasets of the superdataset, by stream name."""

from __future__ import annotations

GLM = "derivatives/glmsingle-tedana"
ROIS = "derivatives/rois"
ANAT = "derivatives/anatomical"
FREESURFER = "derivatives/freesurfer"
LOCALIZERS = "derivatives/localizers"
STREAMS: dict[str, str | None] = {
    "raw": None,  # the subject's own subdataset, sub-XX
    "glmsingle-tedana": GLM,
    "rois": ROIS,
    "anatomical": ANAT,
    "freesurfer": FREESURFER,
    "localizers": LOCALIZERS,
}
DEFAULT_STREAMS = ("glmsingle-tedana", "rois", "anatomical")  # what the loaders read
