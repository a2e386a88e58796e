"""The superdataset's layout by name: its subdatasets (one per subject, one per derivative
stream, ``stimuli`` and ``archive``), the builder's state in each dataset, and where an
analysis dataset keeps its input. The builder's routing, the loaders and the analyses all
name a subdataset from here."""

from __future__ import annotations

SUPERDATASET = ""  # the superdataset itself, as a subdataset path
STIMULI = "stimuli"
ARCHIVE = "archive"
EMBEDDING_MODELS = ("CLIP", "DINOv2", "PEcore", "SigLIP2")  # an embedding file each in stimuli/


def embedding_file(model: str) -> str:
    """The name of ``model``'s embedding file in ``stimuli/``."""
    return f"task-images_desc-{model}_embeddings.h5"


# The streams upstream documents. The builder routes any other ``derivatives/<name>/`` to a
# subdataset of its own too (a stream added later is never left unrouted): see
# ``is_derivative`` and ``stream_of``.
DERIVATIVE_STREAMS = (
    "glmsingle-tedana", "rois", "anatomical", "freesurfer", "localizers", "tedana",
)  # fmt: skip
DERIVATIVES = "derivatives/"
# Derivatives this project makes itself (``datalad run``), never a bucket stream: the
# builder does not route a bucket prefix of that name, and no clone lists it as a stream.
PROJECT_DERIVATIVES = ("splits",)


def derivative(stream: str) -> str:
    """The subdataset of a derivative stream: ``rois`` -> ``derivatives/rois``."""
    return f"derivatives/{stream}"


def stream_of(subdataset: str) -> str | None:
    """The stream a subdataset holds: ``derivatives/rois`` -> ``rois``; ``sub-01`` -> None."""
    stream = subdataset.removeprefix(DERIVATIVES)
    if stream == subdataset or not stream or "/" in stream or stream in PROJECT_DERIVATIVES:
        return None
    return stream


def new_stream(subdataset: str) -> str | None:
    """The stream's name when ``subdataset`` holds a stream upstream does not document."""
    stream = stream_of(subdataset)
    return stream if stream is not None and stream not in DERIVATIVE_STREAMS else None


GLM = derivative("glmsingle-tedana")
ROIS = derivative("rois")
ANAT = derivative("anatomical")
FREESURFER = derivative("freesurfer")
LOCALIZERS = derivative("localizers")
TEDANA = derivative("tedana")
SPLITS = derivative("splits")  # the train/test splits: regenerated and published sets
# The streams a user names (``get --stream``): raw is each subject's own subdataset, sub-XX.
STREAMS: dict[str, str | None] = {"raw": None, **{s: derivative(s) for s in DERIVATIVE_STREAMS}}
DEFAULT_STREAMS = ("glmsingle-tedana", "rois", "anatomical")  # what the loaders read
MARKER = GLM  # a superdataset is a dataset whose .gitmodules names the betas' subdataset

STATE_DIR = ".laion-fmri"  # what the builder records in each dataset
INVENTORY = f"{STATE_DIR}/inventory.tsv"
ANALYSIS_INPUTS = "inputs/laion-fmri"  # where an analysis dataset holds the superdataset
