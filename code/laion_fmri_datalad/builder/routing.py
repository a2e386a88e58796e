"""Routing: a pure, table-driven map from a bucket key to (subdataset, path inside it).

Subdatasets: one per subject for raw data (``sub-XX``), one per derivative stream
(``derivatives/<stream>``, the localizers included), ``stimuli``, and ``archive`` (files
the dataset's authors replaced and kept, e.g. ``archive/embeddings/v1/``: a subdataset of
its own beside ``stimuli``, so the current files stay where users look and the superseded
ones are there, versioned, for whoever needs to reproduce older work); top-level BIDS files
go to the superdataset (``""``). A ``derivatives/<name>/`` prefix no rule names (a stream
the authors add later: retinotopy, diffusion, mriqc are announced) becomes a subdataset of
its own, ``derivatives/<name>``, which the build reports as a new stream. ROI labels lose their hyphens in paths (``label-FFA-1`` ->
``label-FFA1``); the original key stays in the URL. Session labels are whatever the key
says (``ses-01``, ``ses-PrismaAnat``, ``ses-4BarScreenfLoc``): no rule assumes ``ses-NN``.
A key no rule matches gets ``None`` and is reported. A rule matches the whole key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..layout.names import ARCHIVE, PROJECT_DERIVATIVES, STIMULI, SUPERDATASET, derivative

# The bucket's own top-level description and README are kept beside the superdataset's: BIDS
# allows one of each at the root, and the root's describe this DataLad dataset.
BUCKET_DESCRIPTION_PATH = ".laion-fmri/bucket/dataset_description.json"
BUCKET_README_PATH = ".laion-fmri/bucket/README"


@dataclass(frozen=True)
class Route:
    subdataset: str  # relative to the superdataset; "" is the superdataset itself
    path: str  # relative to the subdataset


_LABEL = re.compile(r"(?<=_label-)([A-Za-z0-9-]+?)(?=_)")


def strip_label_hyphens(path: str) -> str:
    """``..._label-FFA-1_mask.nii.gz`` -> ``..._label-FFA1_mask.nii.gz``."""
    return _LABEL.sub(lambda m: m.group(1).replace("-", ""), path)


def _same(rest: str) -> str:
    return rest


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    subdataset: Callable[[re.Match[str]], str]
    path: Callable[[str], str] = _same


RULES: tuple[Rule, ...] = (
    Rule(re.compile(r"^(?P<sub>sub-[0-9]+)/(?P<rest>.+)$"), lambda m: m["sub"]),
    Rule(
        re.compile(r"^derivatives/(?P<stream>rois)/(?P<rest>.+)$"),
        lambda m: derivative(m["stream"]),
        strip_label_hyphens,
    ),
    Rule(
        re.compile(
            r"^derivatives/(?P<stream>glmsingle-tedana|anatomical|freesurfer|localizers|tedana)"
            r"/(?P<rest>.+)$"
        ),
        lambda m: derivative(m["stream"]),
    ),
    # any other stream: its own subdataset, named for the prefix (a BIDS-label-like name,
    # so no path trick can make a subdataset elsewhere); never one the project makes itself
    # (derivatives/splits: such keys stay unrouted and are reported)
    Rule(
        re.compile(
            r"^derivatives/(?!(?:" + "|".join(PROJECT_DERIVATIVES) + r")/)"
            r"(?P<stream>[A-Za-z0-9][A-Za-z0-9._-]*)/(?P<rest>.+)$"
        ),
        lambda m: derivative(m["stream"]),
    ),
    Rule(re.compile(r"^stimuli/(?P<rest>[^/]+)$"), lambda m: STIMULI),
    Rule(re.compile(r"^archive/(?P<rest>.+)$"), lambda m: ARCHIVE),
    Rule(
        re.compile(r"^(?P<rest>participants\.tsv|participants\.json|CHANGES)$"),
        lambda m: SUPERDATASET,
    ),
    Rule(
        re.compile(r"^(?P<rest>README)$"), lambda m: SUPERDATASET, lambda rest: BUCKET_README_PATH
    ),
    Rule(
        re.compile(r"^(?P<rest>dataset_description\.json)$"),
        lambda m: SUPERDATASET,
        lambda rest: BUCKET_DESCRIPTION_PATH,
    ),
)


def route(key: str) -> Route | None:
    """Where ``key`` goes in the superdataset, or None when no rule matches."""
    for rule in RULES:
        match = rule.pattern.fullmatch(key)  # '$' alone would also match before a '\n'
        if match:
            return Route(rule.subdataset(match), rule.path(match["rest"]))
    return None
