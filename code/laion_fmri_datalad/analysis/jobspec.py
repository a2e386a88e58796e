"""What the jobs of an analysis are: an encoding job (subject, split, ROI set, embedding),
a responses job (subject, voxel set), and the runnable ``Job`` either becomes (its command,
declared inputs and outputs). Pure values: the request expands into these, the runner, the
merge and the figure read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from ..checks.choices import unknown
from ..errors import UsageError

EMBEDDINGS = ("CLIP", "DINOv2", "PEcore", "SigLIP2")
STATS = ("r", "r2", "r2overnc")  # the per-voxel maps of a job
RESULTS = "results"
RESPONSES = "responses"
SCRIPT = "code/encode.py"
RESPONSES_SCRIPT = "code/responses.py"
WHOLE_BRAIN = "all"  # as an ROI set of the analysis: every voxel of the brain mask
STAGES = ("responses", "encoding")
RANGED_MARKER = "Read by byte ranges:"  # a run record's line: some inputs are never got
RANGED_SUFFIX = "_model.h5"  # what those inputs are: sessions' GLMsingle model files
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RESPONSES_END = "_responses.h5"
_JOB_SUBJECT = re.compile(r"\[laion-fmri\] \w+ job (\S+)$")


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

    def job(self, responses: ResponsesSpec, inputs: list[str], noise_ceiling: str) -> Job:
        """The runnable job, reading ``responses`` (never the betas) and ``inputs``."""
        argv = (
            *self.arguments(),
            "--responses",
            responses.output,
            "--noise-ceiling",
            noise_ceiling,
        )
        return Job(self.job_id, "encoding", SCRIPT, argv, tuple(inputs), tuple(self.outputs))


@dataclass(frozen=True, order=True)
class ResponsesSpec:
    """One subject's image responses over a voxel set: ROI names and categories joined by
    ``+`` (sorted), or ``all`` (the whole brain mask)."""

    subject: str
    voxel_set: str

    @classmethod
    def covering(cls, subject: str, roi_sets: list[str]) -> ResponsesSpec:
        """The voxel set of one responses file that covers every ROI set asked for."""
        tokens = sorted({t for s in roi_sets for t in s.split("+")})
        return cls(subject, WHOLE_BRAIN if WHOLE_BRAIN in tokens else "+".join(tokens))

    def covers(self, roi: str) -> bool:
        return self.voxel_set == WHOLE_BRAIN or set(roi.split("+")) <= set(
            self.voxel_set.split("+")
        )

    @property
    def job_id(self) -> str:
        return f"responses_{self.subject}_roi-{self.voxel_set}"

    @property
    def output(self) -> str:
        return f"{RESPONSES}/{self.subject}/{self.subject}_roi-{self.voxel_set}{_RESPONSES_END}"

    @classmethod
    def from_output(cls, path: str) -> ResponsesSpec | None:
        """The spec whose ``output`` is ``path`` (a file name will do); None for another
        file."""
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(_RESPONSES_END) or "_roi-" not in name:
            return None
        subject, _, rest = name.partition("_roi-")
        return cls(subject, rest.removesuffix(_RESPONSES_END))

    def job(self, inputs: list[str], ranged: list[str]) -> Job:
        """The runnable job: ``inputs`` got whole, ``ranged`` read by byte ranges."""
        argv = ("--subject", self.subject, "--voxels", self.voxel_set)
        return Job(
            self.job_id,
            "responses",
            RESPONSES_SCRIPT,
            argv,
            (*inputs, *ranged),
            (self.output,),
            tuple(ranged),
        )


@dataclass(frozen=True)
class Job:
    """A job as a worker runs it: ``python SCRIPT ARGV`` under ``datalad run`` with its
    inputs and outputs declared (paths relative to the analysis dataset). ``ranged``: the
    inputs it reads by byte ranges (``model.h5``), declared but never got whole: the worker
    gets the others and runs with ``--assume-ready inputs``."""

    job_id: str
    stage: str
    script: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    ranged: tuple[str, ...] = ()

    @property
    def got(self) -> tuple[str, ...]:
        """The inputs got whole before the command runs."""
        return tuple(p for p in self.inputs if p not in self.ranged)

    @property
    def message(self) -> str:
        """The run record's subject; ``job_of`` reads the job id back."""
        return f"[laion-fmri] {self.stage.capitalize()} job {self.job_id}"

    def record_lines(self) -> str:
        """What the run record's ``inputs`` do not say: which of them the job read by byte
        ranges (``datalad rerun`` gets every input whole unless told otherwise)."""
        if not self.ranged:
            return ""
        return (
            f"{RANGED_MARKER} the {len(self.ranged)} inputs ending {RANGED_SUFFIX}; get the "
            "others, then 'datalad rerun --assume-ready inputs'"
        )


def job_of(subject: str) -> str | None:
    """The job id in a commit subject made from ``Job.message`` (after DataLad's
    ``[DATALAD RUNCMD]``), or None."""
    found = _JOB_SUBJECT.search(subject)
    return found.group(1) if found else None


def ranged_inputs(message: str, inputs: list[str]) -> list[str]:
    """The inputs of a run record that its job read by byte ranges (its message says so)."""
    if RANGED_MARKER not in message:
        return []
    return [path for path in inputs if path.endswith(RANGED_SUFFIX)]


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
