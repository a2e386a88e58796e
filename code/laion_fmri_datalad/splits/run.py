"""Making the splits in a superdataset under ``datalad run``, so the commit carries the
command, its inputs and its outputs, and ``datalad rerun`` can reproduce them."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..layout.bidsfiles import generated_files
from ..layout.discovery import is_dataset
from ..layout.endpoint import serves_from_loopback
from ..layout.names import SPLITS
from ..repo import datalad
from ..repo.git import rev_parse
from .api import REGENERATED

SCRIPT = "code/make_splits.py"
METADATA = "stimuli/task-images_metadata.csv"
EMBEDDINGS = "stimuli/task-images_desc-CLIP_embeddings.h5"
OUT = f"{SPLITS}/{REGENERATED}"
COMMAND = f"python {SCRIPT} --metadata {METADATA} --embeddings {EMBEDDINGS} --out {OUT}"
OUTPUTS = [f"{OUT}/*/*.json"]
MESSAGE = "[laion-fmri] Make the train/test splits of the seven pools"
README = """\
# LAION-fMRI train/test splits

Two sets, each `<set>/<pool>/<split>.json` (`{name, pool, splitter, params, n_train,
n_test, variants}`; `pool` is a descriptive label, the directory is the pool id):

* `published/`: the split files the dataset's authors publish, imported with
  `laion-fmri-datalad splits import SOURCE` (annexed with SHA256 keys; the commit records
  the source: a `datalad run` copying from a directory, or `datalad download-url`, whose
  URLs git-annex also keeps).
* `regenerated/`: made by `code/make_splits.py` of the superdataset under `datalad run`:
  see the commit that last changed this subdataset in the superdataset
  (`git log -- derivatives/splits`) for the command, inputs and outputs, and
  `datalad rerun` it to reproduce these files byte for byte.

`laion-fmri-datalad splits compare` says, per split, whether the two sets agree.
"""


@dataclass
class SplitRun:
    commit: str | None  # None: the outputs were already up to date
    ok: bool = True  # a failed run raises instead

    def summary(self) -> str:
        if self.commit is None:
            return "splits already up to date (datalad run made no change)"
        return f"splits made under datalad run: commit {self.commit[:10]}"


def ensure_splits_dataset(superdataset: Path) -> None:
    target = superdataset / SPLITS
    if is_dataset(target):
        return
    datalad.call("create", path=str(target), dataset=str(superdataset), cfg_proc="text2git")
    description = {
        "Name": "LAION-fMRI train/test splits",
        "BIDSVersion": "1.10.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "laion-fmri-datalad make_splits", "CodeURL": SCRIPT}],
    }
    (target / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    (target / "README.md").write_text(README)
    for relpath, data in generated_files(SPLITS).items():  # the split files, declared
        (target / relpath).write_bytes(data)
    datalad.call(
        "save",
        dataset=str(superdataset),
        path=[str(target)],
        recursive=True,
        message="[laion-fmri] Add the splits subdataset",
    )


def make_splits(dataset: Path) -> SplitRun:
    """Run the split script in ``superdataset`` with ``datalad run``."""
    superdataset = Path(dataset).absolute()
    if not (superdataset / SCRIPT).is_file():
        raise UsageError(
            f"{str(superdataset)!r} has no {SCRIPT}: make splits in a clone of the "
            "laion-fmri superdataset repository (it carries the script it records)"
        )
    ensure_splits_dataset(superdataset)
    before = rev_parse(superdataset, "HEAD")
    with contextlib.chdir(superdataset):  # the command runs (and is recorded) at the root
        datalad.call(
            "run",
            cmd=COMMAND,
            dataset=str(superdataset),
            inputs=[METADATA, EMBEDDINGS],
            outputs=OUTPUTS,
            message=MESSAGE,
            loopback=serves_from_loopback(superdataset),  # the inputs come from the bucket
        )
    after = rev_parse(superdataset, "HEAD")
    return SplitRun(after if after != before else None)
