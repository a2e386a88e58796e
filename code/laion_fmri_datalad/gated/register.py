"""Registering the gated files in ``stimuli/`` under keys from the service's public manifest.

The public bucket lists the gated image file but answers 403, so the builder withholds it.
Here it gets a verifiable ``SHA256E`` key from the manifest (size and SHA-256), made present
in the ``laion-fmri-gated`` special remote, which ``git annex init`` enables in every clone
(``autoenable=true``). Only the service URL, which is public, is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..builder.annexkeys import sha256e_key
from ..builder.commits import commit_superdataset
from ..builder.gitplumbing import TreeChanges
from ..builder.keysafety import key_refusal
from ..errors import BuildError
from ..repo.annex import annex
from ..repo.git import config_get, git, git_oneline
from .client import manifest

REMOTE = "laion-fmri-gated"
STIMULI = "stimuli"
COMMIT = "[laion-fmri-build] Register the gated files of the access service's manifest"


@dataclass
class GatedReport:
    registered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    committed: bool = False
    ok: bool = True  # a file that cannot be registered raises instead

    def summary(self) -> str:
        return (
            f"gated files: {len(self.registered)} registered, {len(self.unchanged)} unchanged "
            f"(special remote {REMOTE})"
        )


def _ensure_remote(stimuli: Path, url: str) -> str:
    if not config_get(stimuli, f"remote.{REMOTE}.annex-uuid"):
        annex(
            stimuli,
            "initremote",
            REMOTE,
            "type=external",
            "externaltype=laionfmri",
            "encryption=none",
            "autoenable=true",
            f"url={url}",
        )
    else:
        annex(stimuli, "enableremote", REMOTE, f"url={url}")
    return git_oneline(stimuli, "config", f"remote.{REMOTE}.annex-uuid")


def register_gated(dataset: Path, access_url: str) -> GatedReport:
    """Register every file of the service's manifest in ``stimuli/``; commit if anything
    changed (in ``stimuli`` and in the superdataset)."""
    superdataset = Path(dataset).absolute()
    stimuli = superdataset / STIMULI
    if not (stimuli / ".git").exists():
        raise BuildError(f"{stimuli} is not installed; build the superdataset first")
    files = manifest(access_url).get("files", [])
    for entry in files:  # the service's names become paths: the builder's refusal applies
        refusal = key_refusal(str(entry.get("name", "")))
        if refusal is not None:
            raise BuildError(
                f"the access service's manifest names {str(entry.get('name'))!r}, which "
                f"{refusal}; nothing was registered"
            )
    report = GatedReport()
    uuid = _ensure_remote(stimuli, access_url)
    for entry in files:
        name = str(entry["name"])
        key = sha256e_key(str(entry["sha256"]), int(entry["size"]), name)
        path = stimuli / name
        if path.is_symlink() and path.readlink().name == key:
            report.unchanged.append(name)
            continue
        annex(stimuli, "fromkey", "--force", key, name)
        annex(stimuli, "setpresentkey", key, uuid, "1")
        report.registered.append(name)
    if report.registered:
        git(stimuli, "add", "--", *report.registered)
    status = git(stimuli, "status", "--porcelain", "--untracked-files=no")
    if status:
        git(stimuli, "commit", "-q", "-m", COMMIT)
    report.committed = commit_superdataset(superdataset, [STIMULI], TreeChanges(), COMMIT)
    return report
