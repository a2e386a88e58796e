"""The functional localizer maps (upstream's ``localizer_statmap_path`` and
``localizer_effect_path``), from ``derivatives/localizers/`` of a clone.

``sub-XX/ses-<S>/func/sub-XX_ses-<S>_task-<T>[_run-NN]_{hemi-<H>_space-fsnative|space-T1w_
res-<R>}_contrast-<C>_stat-{z,effect}_statmap.{func.gii,nii.gz}``: run-combined z maps of
contrasts, and per-run condition estimates (none for the pooled ``MotionLoc``). The path is
returned with its content present (got through DataLad when needed); a value that names no
file is an error listing the values that do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import find_superdataset, resolve_subjects
from ...layout.entities import name_entities
from ...layout.ids import run_number
from ...layout.names import LOCALIZERS
from ..clone.content import Content

LOCALIZER_TASKS = ("floc", "oloc", "MotionLeft", "MotionRight", "MotionLoc")
VOLUME_RESOLUTIONS = ("1pt8", "1pt5")
SPACES = ("fsnative", "T1w")


def map_name(
    subject: str,
    task: str,
    session: str,
    run: int | str | None,
    contrast: str,
    stat: str,
    space: str,
    hemi: str | None,
    res: str,
) -> str:
    """The file name of one localizer map (pure; values checked by the caller)."""
    parts = [subject, session, f"task-{task}"]
    if run is not None:
        parts.append(f"run-{run_number(run):02d}")
    if space == "fsnative":
        parts += [f"hemi-{hemi}", "space-fsnative"]
        extension = ".func.gii"
    else:
        parts += ["space-T1w", f"res-{res}"]
        extension = ".nii.gz"
    return "_".join([*parts, f"contrast-{contrast}", f"stat-{stat}", "statmap"]) + extension


def _path(
    dataset: str | os.PathLike[str] | None,
    subject: str,
    task: str,
    session: str,
    run: int | str | None,
    contrast: str,
    stat: str,
    space: str,
    hemi: str | None,
    res: str,
    fetch: bool,
) -> Path:
    if task not in LOCALIZER_TASKS:
        raise unknown("localizer task", task, LOCALIZER_TASKS)
    if space not in SPACES:
        raise unknown("space", space, SPACES, "for localizer maps")
    if space == "fsnative" and hemi not in ("L", "R"):
        raise UsageError(f"hemi {hemi!r} is not allowed: space='fsnative' needs hemi 'L' or 'R'")
    if space == "T1w" and res not in VOLUME_RESOLUTIONS:
        raise unknown("res", res, VOLUME_RESOLUTIONS, "for T1w localizer maps")
    content = Content(find_superdataset(dataset), fetch=fetch)
    sub = resolve_subjects(content.root, [subject])[0]
    ses = session if session.startswith("ses-") else f"ses-{session}"
    folder = content.ensure_installed(LOCALIZERS) / sub / ses / "func"
    path = folder / map_name(sub, task, ses, run, contrast, stat, space, hemi, res)
    if not (path.is_symlink() or path.exists()):
        known = [
            name_entities(p.name) for p in folder.glob(f"{sub}_{ses}_task-{task}_*stat-{stat}_*")
        ]
        values = sorted({e["contrast"] for e in known})
        kind = "contrast" if stat == "z" else "condition"
        if known and contrast not in values:
            raise unknown(kind, contrast, values, f"of task {task} in {ses} ({stat} maps)")
        runs = sorted({e["run"] for e in known if "run" in e})
        # the listing says how many runs there are (upstream gives two counts)
        wanted = name_entities(path.name).get("run")
        if wanted is not None and runs and wanted not in runs:
            raise UsageError(
                f"no run {run!r} of task {task} in {sub} {ses}; runs with {stat} maps: "
                + ", ".join(f"run-{r}" for r in runs)
            )
        sessions = sorted(p.name for p in folder.parent.parent.glob("ses-*"))
        raise UsageError(
            f"no {stat} map {path.name} in {LOCALIZERS}; sessions with localizers: "
            + ", ".join(sessions)
        )
    content.ensure_present([path])
    return path


def localizer_statmap_path(
    subject: str,
    task: str,
    contrast: str,
    session: str,
    space: str = "fsnative",
    hemi: str | None = None,
    res: str = "1pt5",
    dataset: str | os.PathLike[str] | None = None,
    *,
    fetch: bool = True,
) -> Path:
    """The run-combined z map of ``contrast`` (e.g. ``faceVsOthers``) of ``task`` in
    ``session`` (``4BarScreenfLoc`` or ``ses-4BarScreenfLoc``): per hemisphere on the
    fsnative surface (``hemi``), or in T1w space at ``res`` ``1pt5`` or ``1pt8``."""
    return _path(dataset, subject, task, session, None, contrast, "z", space, hemi, res, fetch)


def localizer_effect_path(
    subject: str,
    task: str,
    condition: str,
    session: str,
    run: int | str,
    space: str = "fsnative",
    hemi: str | None = None,
    res: str = "1pt5",
    dataset: str | os.PathLike[str] | None = None,
    *,
    fetch: bool = True,
) -> Path:
    """A per-run condition estimate (``stat-effect``) of ``task``; ``MotionLoc`` (the pooled
    map) has none."""
    if task == "MotionLoc":
        raise UsageError(
            "task 'MotionLoc' is the pooled map and has no per-run effect maps; "
            "use 'MotionLeft' or 'MotionRight'"
        )
    return _path(dataset, subject, task, session, run, condition, "effect", space, hemi, res, fetch)
