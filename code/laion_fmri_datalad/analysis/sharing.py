"""Content fetched once per analysis run, and shared by every job clone.

The choice: the driver gets every input of a stage once, into the analysis dataset's own
``inputs/laion-fmri`` (one ``datalad get``, in parallel); each job clone then installs its
subdatasets *from those installed copies* and gets content from them as hard links. The
alternative, ``datalad clone --reckless ephemeral`` from one prepared clone, shares the
annex object directory itself: a ``drop`` or a failing ``fsck`` in any job clone removes the
original's content, the jobs' outputs land in the original's annex, and every clone's
git-annex locks the same objects (with ``annex.pidlock`` on NFS/Lustre, one lock for all).
With hard links each clone is an ordinary repository: its drops and outputs are its own,
git-annex locks only its own objects, and the content stays in the analysis dataset for the
next run (on the same filesystem nothing is copied; across filesystems, e.g. node-local
``--scratch`` against a shared analysis dataset, git-annex falls back to a local copy: no
bytes from S3, but disk traffic per job, which is why the encoding jobs read one compact
responses file and never the betas).

How a job clone finds the copies: ``shared/ids/<dataset id>`` links to each installed
dataset of the analysis's inputs, and DataLad tries
``datalad.get.subdataset-source-candidate-000shared = shared/ids/{id}`` first when it
installs a subdataset; git-annex then prefers that ``origin`` (``annex-cost`` 50, below the
web's 200) and hard-links from it (``annex.hardlink``). The same ``shared`` directory holds
the voxel-major betas cache (``$LAION_FMRI_CACHE_DIR``), built once per session, one Dask
task a session in parallel before the responses jobs, and read by every job (written under
an ``flock`` and renamed into place; on Lustre, mount with ``-o flock``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config.variables import CACHE_DIR
from ..layout.discovery import is_dataset
from ..repo.dataset import dataset_id, registered_subdatasets
from ..repo.env import config_env

CANDIDATE_ENV = "DATALAD_GET_SUBDATASET__SOURCE__CANDIDATE__000SHARED"
IDS = "ids"
CACHE = "cache"


def default_shared(analysis: Path) -> Path:
    return analysis / ".git" / "laion-fmri" / "shared"


def installed_datasets(root: Path) -> list[Path]:
    """``root`` and every installed dataset below it, through the subdatasets' records."""
    found = [root]
    for sub in sorted(registered_subdatasets(root)):
        path = root / sub
        if is_dataset(path) and (path / ".git").exists():
            found += installed_datasets(path)
    return found


def link_datasets(shared: Path, root: Path) -> int:
    """Point ``shared/ids/<id>`` at every installed dataset under ``root`` (replacing a link
    that points elsewhere); how many there are."""
    ids = shared / IDS
    ids.mkdir(parents=True, exist_ok=True)
    datasets = installed_datasets(root)
    for path in datasets:
        link = ids / dataset_id(path)
        if link.is_symlink() and str(link.readlink()) == str(path):
            continue
        partial = link.with_name(f".{link.name}.{os.getpid()}")
        partial.unlink(missing_ok=True)
        partial.symlink_to(path)
        partial.replace(link)  # atomic: a concurrent reader sees the old link or the new
    return len(datasets)


def betas_cache_dir(shared: Path) -> Path:
    """Where the jobs' betas cache lives (``$LAION_FMRI_CACHE_DIR/betas``)."""
    return shared / CACHE / "betas"


def build_session_cache(superdataset: str, subject: str, betas: str, shared: str) -> bool:
    """Build the voxel-major cache of one session's ``betas`` in the shared directory from the analysis
    dataset's fetched betas, over the brain mask the responses job uses (a Dask task: the
    sessions of a subject are built in parallel, before its responses job reads them)."""
    from ..loaders.api.subject import load_subject
    from ..loaders.betas.cache import ensure_cache

    sub = load_subject(subject, dataset=Path(superdataset), fetch=False)
    brain = sub.get_brain_mask().reshape(sub.shape)
    return ensure_cache(Path(betas), brain, directory=betas_cache_dir(Path(shared)))


def job_env(shared: Path) -> dict[str, str]:
    """What every git, git-annex and DataLad call of a job clone adds to its environment."""
    env = config_env(annex_hardlink="true", remote_origin_annex__cost="50")
    env[CANDIDATE_ENV] = f"{shared / IDS}/{{id}}"
    env[CACHE_DIR] = str(shared / CACHE)
    return env
