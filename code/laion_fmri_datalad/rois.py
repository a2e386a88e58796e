"""The ROI catalogue: categories, hyphen-free ROI names, and the bucket's hyphenated labels.

The bucket spells some labels with hyphens (``label-FFA-1``); paths in the superdataset
use the hyphen-free form (``label-FFA1``) so that the tree stays BIDS-valid, while URLs keep
the original key.
"""

from __future__ import annotations

ROI_CATEGORIES: dict[str, tuple[str, ...]] = {
    "body": ("EBA", "FBA"),
    "character": ("VWFA1", "VWFA2", "mfswords"),
    "face": ("OFA", "FFA1", "FFA2", "pSTSfaces"),
    "laion": ("laiongeneral", "laionEVC", "laiondorsal", "laionlateral", "laionventral"),
    "motion": ("MT", "MST"),
    "object": ("lobjects", "vobjects"),
    "place": ("PPA", "OPA", "MPA", "SPL"),
    "retinotopy": (
        "V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "V3A", "V3B", "hV4",
        "LO1", "LO2", "TO1", "TO2", "VO1", "VO2", "IPS0", "SPCS", "IPCS", "EVC",
    ),
}  # fmt: skip

# Labels as the bucket spells them (DESIGN §2.4), where that differs from the hyphen-free name.
BUCKET_LABELS: dict[str, str] = {
    "FFA1": "FFA-1",
    "FFA2": "FFA-2",
    "pSTSfaces": "pSTS-faces",
    "VWFA1": "VWFA-1",
    "VWFA2": "VWFA-2",
    "mfswords": "mfs-words",
    "lobjects": "l-objects",
    "vobjects": "v-objects",
    "laiongeneral": "laion-general",
    "laionEVC": "laion-EVC",
    "laiondorsal": "laion-dorsal",
    "laionlateral": "laion-lateral",
    "laionventral": "laion-ventral",
}


def bucket_label(roi: str) -> str:
    """The label as spelled in the bucket's keys."""
    return BUCKET_LABELS.get(roi, roi)


def all_rois() -> list[str]:
    return [roi for names in ROI_CATEGORIES.values() for roi in names]
