"""Creating the superdataset and its subdatasets, and recording subdatasets in the parent."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import UsageError
from ..layout.discovery import is_dataset
from ..repo import datalad
from ..repo.dataset import remove_dataset
from ..repo.git import git
from .storage import LARGEFILES_RULE

DESCRIPTIONS: dict[str, dict[str, object]] = {
    "stimuli": {
        "Name": "LAION-fMRI stimuli: metadata, embeddings, segmentations, captions, images",
        "DatasetType": "derivative",
        "License": "Embeddings, segmentations, captions and metadata: CC0-1.0. "
        "The images (task-images_stimuli.h5) are available only under the LAION-fMRI Data "
        "Use Agreement.",
    },
    "archive": {
        "Name": "LAION-fMRI archive: files replaced in later versions of the dataset, kept "
        "as first released (e.g. embeddings/v1/)",
        "DatasetType": "derivative",
        "License": "CC0-1.0",
    },
}


def description_for(subdataset: str) -> dict[str, object] | None:
    """The generated ``dataset_description.json`` of a subdataset (used where the bucket
    provides none); None for a subject's raw subdataset, which is a directory of the root's
    raw BIDS dataset (BIDS allows no description there)."""
    if subdataset.startswith("sub-"):
        return None
    payload: dict[str, object]
    if subdataset.startswith("derivatives/"):
        stream = subdataset.split("/", 1)[1]
        payload = {
            "Name": f"LAION-fMRI derivatives: {stream}",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": stream}],
            "License": "CC0-1.0",
        }
    else:
        payload = dict(DESCRIPTIONS.get(subdataset, {"Name": subdataset}))
    payload["BIDSVersion"] = "1.10.0"
    return payload


def description_bytes(subdataset: str) -> bytes | None:
    payload = description_for(subdataset)
    if payload is None:
        return None
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def ensure_superdataset(target: Path) -> Path:
    """Use ``target`` if it is a DataLad dataset; create one there if it is new or empty."""
    target = target.absolute()
    if is_dataset(target):
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(
            f"target '{target}' is neither a DataLad dataset nor an empty directory; "
            "give a dataset (e.g. a clone of this repository) or a new directory"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"target '{target}' cannot be created: {exc.strerror}") from None
    datalad.call("create", path=str(target), annex=False)
    (target / "dataset_description.json").write_bytes(
        (
            json.dumps(
                {"Name": "LAION-fMRI", "BIDSVersion": "1.10.0", "DatasetType": "raw"},
                indent=2,
            )
            + "\n"
        ).encode()
    )
    git(target, "add", "dataset_description.json")
    git(target, "commit", "-q", "-m", "[laion-fmri-build] add dataset_description.json")
    return target


def ensure_subdataset(superdataset: Path, subdataset: str) -> tuple[Path, bool]:
    """Create the subdataset at ``superdataset/subdataset`` unless it exists.

    It is created stand-alone (no commit in the superdataset yet): the build records every
    new or changed subdataset in one superdataset commit. Creation happens in a scratch
    directory renamed into place at the end, so an interrupted build leaves nothing half
    made.
    """
    path = superdataset / subdataset
    if is_dataset(path):
        return path, False
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(
            f"'{path}' exists and is not a DataLad dataset; move it away and build again"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.name}.creating-*"):  # of a killed build
        remove_dataset(leftover)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.creating-", dir=path.parent))
    scratch.chmod(0o777 & ~current_umask())  # mkdtemp makes it 0700: use the user's umask
    try:
        datalad.call("create", path=str(scratch), force=True)
        attributes = scratch / ".gitattributes"
        attributes.write_text(
            attributes.read_text() + f"* annex.largefiles={LARGEFILES_RULE}\n"
            "**/.laion-fmri/** annex.largefiles=nothing\n"
        )
        git(scratch, "add", ".gitattributes")
        git(scratch, "commit", "-q", "-m", "[laion-fmri-build] keep small text files in git")
        if path.exists():
            path.rmdir()
        scratch.rename(path)
    except BaseException:
        remove_dataset(scratch)
        raise
    return path, True


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
