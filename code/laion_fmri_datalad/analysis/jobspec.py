"""What one encoding job is: its subject, split, ROI set and embedding, its name, and the
files it writes. Pure values: the request expands into these, the runner, the merge and
the figure read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from ..choices import unknown
from ..errors import UsageError

EMBEDDINGS = ("CLIP", "DINOv2", "PEcore", "SigLIP2")
STATS = ("r", "r2", "r2overnc")  # the per-voxel maps of a job
RESULTS = "results"
SCRIPT = "code/encode.py"
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, order=True)
class JobSpec:
    """One fit: ``embedding`` features of ``subject``'s images to the repeat-averaged betas
    of ``roi`` (an ROI, a category or a list joined by ``+``), trained and tested on
    ``split`` of the subject's pool."""

    embedding: str
    split: str
    subject: str
    roi: str

    def __post_init__(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise unknown("embedding", self.embedding, EMBEDDINGS)
        for name, value in (("split", self.split), ("subject", self.subject)):
            if not _LABEL.match(value):
                raise UsageError(f"{name} {value!r} is not allowed; use letters, digits, _ . -")
        if not all(_LABEL.match(part) for part in self.roi.split("+")):
            raise UsageError(
                f"roi {self.roi!r} is not allowed; give ROI names or categories joined by '+'"
            )

    @property
    def job_id(self) -> str:
        """The job's name: its branch is ``job/<job_id>``, its log ``<job_id>.log``."""
        return f"{self.embedding}_{self.split}_{self.subject}_roi-{self.roi}"

    @property
    def out_dir(self) -> str:
        return f"{RESULTS}/{self.embedding}/{self.split}/{self.subject}"

    @property
    def stem(self) -> str:
        return f"{self.out_dir}/{self.subject}_roi-{self.roi}"

    def statmap(self, stat: str) -> str:
        return f"{self.stem}_stat-{stat}_statmap.nii.gz"

    @property
    def summary(self) -> str:
        """The TSV of the job: one row per ROI of the set, then ``all``."""
        return f"{self.stem}_summary.tsv"

    @property
    def outputs(self) -> list[str]:
        return [*(self.statmap(s) for s in STATS), self.summary]

    @property
    def rois(self) -> list[str]:
        return self.roi.split("+")

    def arguments(self) -> list[str]:
        return [
            "--subject",
            self.subject,
            "--split",
            self.split,
            "--roi",
            self.roi,
            "--embedding",
            self.embedding,
        ]


def expand(
    subjects: list[str], splits: list[str], rois: list[str], embeddings: list[str]
) -> list[JobSpec]:
    """Every combination, one job each, in a stable order (duplicates once)."""
    for name, values in (
        ("subject", subjects),
        ("split", splits),
        ("roi", rois),
        ("embedding", embeddings),
    ):
        if not values:
            raise UsageError(f"no {name} given; give at least one")
    jobs = {JobSpec(e, sp, su, r) for e, sp, su, r in product(embeddings, splits, subjects, rois)}
    return sorted(jobs)
