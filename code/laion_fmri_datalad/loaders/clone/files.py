"""Which file holds what: pybids queries on the subdatasets of one subject.

Every question "where is X of sub-01" is answered here, by a query on the ``BIDSLayout`` of
the subdataset that holds it; installing that subdataset first if needed (through
:class:`Content`). Questions about what exists (sessions, ROIs, noise ceilings) are answered
from the listing the superdataset ships (``shipped.py``) when it matches, so a fresh clone
answers them without installing anything. Nothing here reads annexed content.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from bids.layout import Query

from ...checks.choices import unknown
from ...errors import LaionFmriError
from ...layout.ids import session_id
from ...layout.names import ANAT, GLM, ROIS
from .content import Content
from .index import layout
from .listed import subject_entities

ROI_RES = "1pt8"  # the betas' grid
ANAT_RES = ("1pt8", None)  # the betas' grid, or full resolution (no res entity)
HEMIS = ("L", "R")


class SubjectFiles:
    """The files of one subject in a clone, found with pybids."""

    def __init__(self, subject: str, content: Content) -> None:
        self.subject = subject
        self.label = subject.removeprefix("sub-")
        self.content = content
        self._layouts: dict[str, Any] = {}
        self._entities: dict[str, list[dict[str, Any]]] = {}

    def layout(self, subdataset: str) -> Any:
        """The subdataset's layout, looked up once per subject (finding its index asks git
        for the checked-out commit, which every query would otherwise repeat)."""
        if subdataset not in self._layouts:
            self._layouts[subdataset] = layout(self.content.ensure_installed(subdataset))
        return self._layouts[subdataset]

    def query(self, subdataset: str, **entities: Any) -> list[Path]:
        found = self.layout(subdataset).get(subject=self.label, return_type="filename", **entities)
        return sorted(Path(f) for f in found)

    def one(self, subdataset: str, what: str, **entities: Any) -> Path:
        found = self.query(subdataset, **entities)
        if len(found) != 1:
            wanted = ", ".join(f"{k}={v}" for k, v in entities.items())
            raise LaionFmriError(
                f"expected one {what} file of {self.subject} in {subdataset} ({wanted}), "
                f"found {len(found)}" + (f": {', '.join(p.name for p in found)}" if found else "")
            )
        return found[0]

    def entities(self, subdataset: str, **wanted: str | None) -> list[dict[str, Any]]:
        """Entities of this subject's files in ``subdataset`` that have the ``wanted``
        values (None: the entity is absent): from the shipped listing, else from pybids."""
        if subdataset not in self._entities:  # parsed or queried once per subdataset
            listed = subject_entities(self.content.root, subdataset, self.label)
            if listed is None:
                found = self.layout(subdataset).get(subject=self.label)
                listed = [f.get_entities() for f in found]
            self._entities[subdataset] = listed
        return [
            e for e in self._entities[subdataset] if all(e.get(k) == v for k, v in wanted.items())
        ]

    @cached_property
    def sessions(self) -> list[str]:
        return sorted({f"ses-{e['session']}" for e in self.entities(GLM) if "session" in e})

    def session(self, value: object) -> str:
        """``value`` as a session with betas (``ses-01``), or a ``UsageError`` naming them."""
        return _one_of(value, self.sessions, f"for {self.subject}")

    def betas(self, session: str) -> Path:
        return self.one(
            GLM,
            "betas",
            session=session[4:],
            desc="SingletrialBetas",
            stat="effect",
            suffix="statmap",
            extension=".nii.gz",
        )

    def model(self, session: str) -> Path:
        """GLMsingle's ``model.h5`` of a session (its betas voxel-major, DESIGN §2.13)."""
        return self.one(
            GLM,
            "GLMsingle model",
            session=session[4:],
            desc="GLMsingle",
            suffix="model",
            extension=".h5",
        )

    def trials(self, session: str) -> Path:
        return self.one(
            GLM,
            "trial table",
            session=session[4:],
            desc="SingletrialBetas",
            suffix="trials",
            extension=".tsv",
        )

    @cached_property
    def raw_sessions(self) -> list[str]:
        """The sessions with raw BOLD (``sub-XX`` subdataset; from its shipped listing)."""
        found = self.entities(self.subject, suffix="bold")
        return sorted({f"ses-{e['session']}" for e in found if "session" in e})

    def raw_session(self, value: object) -> str:
        """``value`` as a session with raw data, or a ``UsageError`` naming them."""
        return _one_of(value, self.raw_sessions, f"with raw data of {self.subject}")

    def raw_runs(self, session: str) -> list[int]:
        """The runs of a session's raw BOLD, as numbers (runs beyond 12 included)."""
        found = self.entities(self.subject, session=session[4:], suffix="bold")
        return sorted({int(e["run"]) for e in found if "run" in e})

    def raw_image(self, session: str, run: int, echo: int, part: str, suffix: str) -> Path:
        """A run's raw ``bold`` or ``sbref`` of one echo and part. An SBRef is named with or
        without ``part-`` (upstream's code and docs differ): a magnitude one without it is
        taken when the listing has no ``part-mag`` one."""

        what = f"{suffix} (run {run}, echo {echo}, part {part})"
        wanted = {"session": session[4:], "task": "images", "run": run, "echo": echo}
        found = self.query(self.subject, **wanted, part=part, suffix=suffix, extension=".nii.gz")
        if not found and part == "mag" and suffix == "sbref":
            found = self.query(
                self.subject, **wanted, part=Query.NONE, suffix=suffix, extension=".nii.gz"
            )
        if len(found) != 1:
            raise LaionFmriError(
                f"expected one {what} of {self.subject} {session}, found {len(found)}"
            )
        return found[0]

    def events(self, session: str) -> list[Path]:
        return self.query(
            self.subject, session=session[4:], task="images", suffix="events", extension=".tsv"
        )

    def session_noise_ceiling(self, session: str) -> Path:
        return self.one(
            GLM,
            "noise ceiling",
            session=session[4:],
            desc="Noiseceiling",
            suffix="statmap",
            extension=".nii.gz",
        )

    @cached_property
    def noise_ceiling_descs(self) -> list[str]:
        """The subject-level noise ceilings the listing has (``Noiseceiling4rep`` ...; any
        description that starts with ``noiseceiling`` in any case, ``noiseceiling33ses``
        too)."""
        found = self.entities(GLM, session=None, suffix="statmap", extension=".nii.gz")
        return sorted(
            {e["desc"] for e in found if e.get("desc", "").lower().startswith("noiseceiling")}
        )

    def subject_noise_ceiling(self, desc: str) -> Path:
        return self.one(
            GLM,
            "noise ceiling",
            session=Query.NONE,
            desc=desc,
            suffix="statmap",
            extension=".nii.gz",
        )

    def mean_rsquare(self) -> Path:
        return self.one(
            GLM,
            "mean R2",
            session=Query.NONE,
            stat="rsquare",
            desc="R2mean",
            suffix="statmap",
            extension=".nii.gz",
        )

    def anatomical_mask(self, res: str | None = ROI_RES) -> Path:
        return self.anatomical("mask", res, desc="brain")

    def anatomical(self, suffix: str, res: str | None, desc: str | None = None) -> Path:
        """``T1w``, ``T2w`` or (``desc="brain"``) ``mask`` of ``ses-PrismaAnat``, at
        ``res-1pt8`` or full resolution (``res=None``)."""
        return self.one(
            ANAT,
            f"{suffix} ({'full' if res is None else 'res-' + res})",
            res=Query.NONE if res is None else res,
            desc=Query.NONE if desc is None else desc,
            suffix=suffix,
            extension=".nii.gz",
        )

    def roi_surface(self, name: str, hemi: str, extension: str) -> Path:
        """The fsnative surface mask of an ROI: ``.func.gii`` or FreeSurfer ``.label``."""
        return self.one(
            ROIS,
            f"surface ROI ({extension})",
            label=name,
            hemi=hemi,
            space="fsnative",
            suffix="mask",
            extension=extension,
        )

    @cached_property
    def roi_catalogue(self) -> dict[str, list[str]]:
        """``{category: [ROI names]}``, both sorted, from the ``res-1pt8`` volume masks."""
        catalogue: dict[str, list[str]] = {}
        for entities in self.entities(ROIS, res=ROI_RES, suffix="mask", extension=".nii.gz"):
            if "category" in entities and "label" in entities:
                catalogue.setdefault(entities["category"], []).append(entities["label"])
        return {c: sorted(names, key=str.lower) for c, names in sorted(catalogue.items())}

    def roi(self, name: str) -> Path:
        return self.one(
            ROIS, "ROI mask", label=name, res=ROI_RES, suffix="mask", extension=".nii.gz"
        )


def _one_of(value: object, sessions: list[str], where: str) -> str:
    """``value`` (``ses-01``, ``01`` or ``1``) as one of ``sessions``, or a ``UsageError``."""
    try:
        name = session_id(value)
    except (LaionFmriError, ValueError):
        name = str(value)
    if name not in sessions:
        raise unknown("session", value, sessions, where)
    return name
