"""Upstream's ``download``, carried out with DataLad on a clone.

What is chosen: per subject the GLMsingle derivatives and the ROIs (and, pinned as upstream
pins its mask, the ``res-1pt8`` anatomical brain mask the loaders read first); with
``include_anatomical``, ``include_freesurfer``, ``include_localizers``, ``include_tedana``
and ``include_raw``
those streams of the subject; with ``include_stimuli`` the image HDF5 (gated) and the
stimulus metadata; with ``include_embeddings`` the four embedding files. Filters follow
upstream's rules (:mod:`.downloadfilter`: ``ses`` strict, other entities permissive); each
value given must exist for its entity among the files in scope (stricter than upstream,
which downloads nothing and warns). Files present are not got again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import validate
from ...choices import unknown
from ...errors import UsageError
from ...layout.discovery import resolve_subjects
from ...layout.entities import values_in
from ...layout.names import ANAT, FREESURFER, GLM, LOCALIZERS, ROIS, TEDANA
from ...repo.git import tracked_files
from .content import Content
from .filters import AVERAGES, ENTITIES, STRICT, bare, matches
from .selection import Selected, describe_file
from .streams import chosen_streams, clone_streams

STIMULI = "stimuli"
IMAGES = ("task-images_stimuli.h5", "task-images_metadata.csv")
EMBEDDINGS = tuple(
    f"task-images_desc-{m}_embeddings.h5" for m in ("CLIP", "DINOv2", "PEcore", "SigLIP2")
)
BRAIN_MASK = (
    "{sub}/ses-PrismaAnat/anat/{sub}_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
)


@dataclass(frozen=True)
class Includes:
    stimuli: bool = False
    embeddings: bool = False
    freesurfer: bool = False
    anatomical: bool = False
    raw: bool = False
    localizers: bool = False
    tedana: bool = False


def filter_values(**given: Any) -> dict[str, list[str]]:
    """The filters given (not None), each a list of bare values."""
    out: dict[str, list[str]] = {}
    for entity, value in given.items():
        if entity not in (*ENTITIES, *STRICT):
            raise unknown("filter", entity, [*ENTITIES, *STRICT])
        if value is None:
            continue
        if entity in ENTITIES:
            items = validate.entity_values(entity, value)
        else:  # suffix, extension: any text
            items = validate.text_values(entity, value)
        out[entity] = [bare(entity, v) for v in items]
    return out


def _scopes(
    subjects: list[str], include: Includes, stream: Any, known: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    """(subdataset, path prefix inside it) to choose from."""
    if stream is not None:
        chosen = chosen_streams(stream, known)
        return [
            (known[n] or s, "" if known[n] is None else f"{s}/") for n in chosen for s in subjects
        ]
    datasets = [GLM, ROIS]
    datasets += [ANAT] if include.anatomical else []
    datasets += [FREESURFER] if include.freesurfer else []
    datasets += [LOCALIZERS] if include.localizers else []
    datasets += [TEDANA] if include.tedana else []
    scopes = [(d, f"{s}/") for d in datasets for s in subjects]
    return scopes + ([(s, "") for s in subjects] if include.raw else [])


def _candidates(content: Content, scopes: list[tuple[str, str]]) -> dict[str, tuple[Path, str]]:
    """Superdataset-relative path -> (path, subdataset) of every file in scope."""
    found: dict[str, tuple[Path, str]] = {}
    for subdataset, prefix in scopes:
        root = content.ensure_installed(subdataset)
        for rel in tracked_files(root):
            name = rel.rsplit("/", 1)[-1]
            if not rel.startswith(prefix) or "/" not in rel or name.startswith("."):
                continue
            if prefix == "" and not name.startswith("sub-"):
                continue  # raw: the subject's BIDS files, not the subdataset's own
            found[f"{subdataset}/{rel}"] = (root / rel, subdataset)
    return found


def _check(candidates: list[str], filters: dict[str, list[str]]) -> None:
    for entity, values in filters.items():
        known: set[str] = set()
        for key in candidates:
            known |= values_in(key, entity)
        if entity == "ses":
            known.add(AVERAGES)
        for value in values:
            if value not in known:
                raise unknown(entity, value, sorted(known, key=str.lower))


def plan(
    content: Content,
    subject: Any,
    filters: dict[str, list[str]],
    include: Includes,
    stream: Any = None,
) -> list[Selected]:
    """The files ``download`` gets (installing the subdatasets involved, no content)."""
    subjects = resolve_subjects(content.root, "all" if subject is None else subject)
    found = _candidates(content, _scopes(subjects, include, stream, clone_streams(content.root)))
    _check(list(found), filters)
    chosen = {k: v for k, v in found.items() if matches(k, filters)}
    if stream is None and not include.anatomical:
        for sub in subjects:  # pinned: the loaders' default voxels
            rel = BRAIN_MASK.format(sub=sub)
            chosen[f"{ANAT}/{rel}"] = (content.ensure_installed(ANAT) / rel, ANAT)
    names = [*(IMAGES if include.stimuli else ()), *(EMBEDDINGS if include.embeddings else ())]
    if names:
        stimuli = content.ensure_installed(STIMULI)
        names += [IMAGES[1]] if include.embeddings and IMAGES[1] not in names else []
        for name in names:
            if matches(f"{STIMULI}/{name}", {k: v for k, v in filters.items() if k in STRICT}):
                chosen[f"{STIMULI}/{name}"] = (stimuli / name, STIMULI)
    if not chosen:
        raise UsageError(
            f"no file of {', '.join(subjects)} matches "
            + " ".join(f"{k}={','.join(v)}" for k, v in filters.items())
            + "; each value exists on its own"
        )
    return [describe_file(path, sub) for _, (path, sub) in sorted(chosen.items())]
