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

from ...checks import validate
from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import resolve_subjects
from ...layout.entities import values_in
from ...layout.names import (
    ANAT,
    EMBEDDING_MODELS,
    FREESURFER,
    GLM,
    LOCALIZERS,
    ROIS,
    TEDANA,
    embedding_file,
)
from ...repo.git import tracked_files
from .content import Content, is_installed
from .filters import AVERAGES, ENTITIES, STRICT, bare, matches
from .listed import listed_sizes
from .selection import Selected, describe_file
from .streams import chosen_streams, clone_streams

STIMULI = "stimuli"
IMAGES = ("task-images_stimuli.h5", "task-images_metadata.csv")
EMBEDDINGS = tuple(embedding_file(m) for m in EMBEDDING_MODELS)
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


def _files_of(
    content: Content, subdataset: str, dry_run: bool
) -> tuple[Path, dict[str, int | None], bool]:
    """The root of ``subdataset`` and its files: for a dry run of one not installed, from
    the listing the superdataset ships (with sizes: nothing is installed); otherwise the
    installed subdataset's tracked files (installing it), sizes then read from the files.
    The third value says whether the files are listed."""
    root = content.root / subdataset
    if dry_run and not is_installed(root):
        listed = listed_sizes(content.root, subdataset)
        if listed is not None:
            return root, listed, True
    root = content.ensure_installed(subdataset)
    return root, dict.fromkeys(tracked_files(root)), False


def _candidates(
    content: Content, scopes: list[tuple[str, str]], dry_run: bool, sizes: dict[Path, int | None]
) -> dict[str, tuple[Path, str]]:
    """Superdataset-relative path -> (path, subdataset) of every file in scope; a listed
    file's size goes into ``sizes``."""
    found: dict[str, tuple[Path, str]] = {}
    trees: dict[str, tuple[Path, dict[str, int | None], bool]] = {}
    for subdataset, prefix in scopes:
        if subdataset not in trees:
            trees[subdataset] = _files_of(content, subdataset, dry_run)
        root, files, from_listing = trees[subdataset]
        for rel, size in files.items():
            name = rel.rsplit("/", 1)[-1]
            if not rel.startswith(prefix) or "/" not in rel or name.startswith("."):
                continue
            if prefix == "" and not name.startswith("sub-"):
                continue  # raw: the subject's BIDS files, not the subdataset's own
            found[f"{subdataset}/{rel}"] = (root / rel, subdataset)
            if from_listing:
                sizes[root / rel] = size
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
    dry_run: bool = False,
) -> list[Selected]:
    """The files ``download`` gets (installing the subdatasets involved, no content); for
    a ``dry_run``, from the shipped listings where a subdataset is not installed, so
    nothing is installed."""
    subjects = resolve_subjects(content.root, "all" if subject is None else subject)
    listed: dict[Path, int | None] = {}
    scopes = _scopes(subjects, include, stream, clone_streams(content.root))
    found = _candidates(content, scopes, dry_run, listed)
    _check(list(found), filters)
    chosen = {k: v for k, v in found.items() if matches(k, filters)}
    if stream is None and not include.anatomical:
        anat, files, from_listing = _files_of(content, ANAT, dry_run)
        for sub in subjects:  # pinned: the loaders' default voxels
            rel = BRAIN_MASK.format(sub=sub)
            chosen[f"{ANAT}/{rel}"] = (anat / rel, ANAT)
            if from_listing:
                listed[anat / rel] = files.get(rel)
    names = [*(IMAGES if include.stimuli else ()), *(EMBEDDINGS if include.embeddings else ())]
    if names:
        stimuli, files, from_listing = _files_of(content, STIMULI, dry_run)
        names += [IMAGES[1]] if include.embeddings and IMAGES[1] not in names else []
        if from_listing:
            listed.update({stimuli / n: files.get(n) for n in names})
        for name in names:
            if matches(f"{STIMULI}/{name}", {k: v for k, v in filters.items() if k in STRICT}):
                chosen[f"{STIMULI}/{name}"] = (stimuli / name, STIMULI)
    if not chosen:
        raise UsageError(
            f"no file of {', '.join(subjects)} matches "
            + " ".join(f"{k}={','.join(v)}" for k, v in filters.items())
            + "; each value exists on its own"
        )
    return [
        Selected(path, sub, listed[path] or 0, True, False)
        if path in listed
        else describe_file(path, sub)
        for _, (path, sub) in sorted(chosen.items())
    ]
