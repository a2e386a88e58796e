"""An analysis dataset the YODA way: the superdataset as ``inputs/laion-fmri``, the
reference analysis in ``code/``, results in ``results/``, and a RIA store that jobs push
their branches and outputs to (sibling ``output``, storage ``output-storage``).

It is made in a temporary directory beside the target and moved into place at the end, so
an interrupted ``analysis create`` leaves nothing at the target (run it again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import urlparse

from .. import __version__
from ..checks import validate
from ..errors import UsageError
from ..layout.discovery import is_dataset
from ..layout.names import ANALYSIS_INPUTS
from ..repo import datalad
from ..repo.dataset import remove_dataset
from ..repo.git import config_get
from .jobspec import RESPONSES_SCRIPT, RESULTS, SCRIPT
from .software import ENVIRONMENT, write_pin

OUTPUT = "output"  # the store's git sibling; its annex storage is OUTPUT + "-storage"
STORAGE = f"{OUTPUT}-storage"
MARKER = ".laion-fmri-analysis"  # in .datalad/: what tells an analysis dataset


def _template(name: str) -> str:
    return (resources.files(__package__) / "templates" / name).read_text()


def _script(path: str, module: str, example: str, what: str) -> str:
    fields = {"path": path, "module": module, "example": example, "what": what}
    return Template(_template("job_script.py.tmpl")).substitute(
        fields, version=__version__, environment=ENVIRONMENT
    )


SCRIPTS = {
    SCRIPT: _script(
        SCRIPT,
        "laion_fmri_datalad.analysis.encodejob",
        "--subject sub-01 --split random_0 --roi face --embedding CLIP \\\n"
        "        --responses responses/sub-01/sub-01_roi-face_responses.h5 --noise-ceiling NC",
        "The reference encoding analysis of LAION-fMRI, one job: ridge regression from the "
        "embedding\nto the subject's responses, alpha per voxel by 5-fold cross-validation on "
        "the training images",
    ),
    RESPONSES_SCRIPT: _script(
        RESPONSES_SCRIPT,
        "laion_fmri_datalad.analysis.responses",
        "--subject sub-01 --voxels face",
        "The responses of one subject over a voxel set: betas z-scored within each session,"
        "\naveraged over every show of an image, written as one chunked HDF5",
    ),
}
README = _template("README.md")

ATTRIBUTES = f"{RESULTS}/**/*.tsv annex.largefiles=nothing\n"


@dataclass(frozen=True)
class CreatedAnalysis:
    path: Path
    source: str
    store: str
    ok: bool = True

    def summary(self) -> str:
        return f"analysis dataset at {self.path}: {ANALYSIS_INPUTS} from {self.source}, outputs to {self.store}"


def default_store(target: Path) -> str:
    return f"ria+file://{target.parent / (target.name + '-outputs')}"


def is_analysis_dataset(path: Path) -> bool:
    return (path / ".datalad" / MARKER).is_file()


def require_analysis_dataset(path: Path) -> Path:
    path = Path(path).absolute()
    if not is_analysis_dataset(path):
        raise UsageError(
            f"{str(path)!r} is not an analysis dataset; make one with "
            "`laion-fmri-datalad analysis create DIR`"
        )
    return path


def _check_source(source: str) -> str:
    parsed = urlparse(source)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else source).expanduser().absolute()
        if not is_dataset(path):
            raise UsageError(
                f"source {source!r} is not a DataLad dataset; give a clone of the "
                "LAION-fMRI superdataset, its URL or a ria+ URL with #~laion-fmri"
            )
        return str(path)
    if parsed.scheme.startswith("ria+") or parsed.scheme in ("http", "https", "ssh"):
        return source
    raise UsageError(
        f"source {source!r} is not allowed; give a path, an http(s)/ssh URL or a ria+ URL"
    )


def create_analysis(target: Path, source: str, store: str | None = None) -> CreatedAnalysis:
    """Make the analysis dataset at ``target`` (absent or empty) with ``source``
    installed as ``inputs/laion-fmri`` and the store ``store`` (default: ``<target>-outputs``
    beside it) as its output sibling."""
    target = validate.directory_to_write(target, "analysis dataset")
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"analysis dataset {str(target)!r} exists and is not empty")
    source = _check_source(source)
    store = validate.ria_url(store or default_store(target))
    work = target.with_name(f".{target.name}.partial-{os.getpid()}")
    remove_dataset(work)  # left by an interrupted create of ours (same pid: rare)
    try:
        datalad.call("create", path=str(work), cfg_proc="yoda")
        datalad.call("clone", source=source, path=str(work / ANALYSIS_INPUTS), dataset=str(work))
        for path, text in SCRIPTS.items():
            (work / path).write_text(text)
        write_pin(work)
        (work / "README.md").write_text(README)
        with (work / ".gitattributes").open("a") as attributes:
            attributes.write(ATTRIBUTES)
        (work / ".datalad" / MARKER).write_text(f"laion-fmri-datalad {__version__}\n")
        datalad.call(
            "save",
            dataset=str(work),
            message="[laion-fmri] Analysis dataset: inputs, reference encoding analysis, README",
        )
        datalad.call(
            "create_sibling_ria",
            dataset=str(work),
            url=store,
            name=OUTPUT,
            new_store_ok=True,
            storage_sibling=True,
        )
        datalad.call("push", dataset=str(work), to=OUTPUT)
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        remove_dataset(work)
        raise
    return CreatedAnalysis(target, source, store)


def output_url(analysis: Path) -> str:
    """Where jobs push their branches: the store's repository of this dataset."""
    url = config_get(analysis, f"remote.{OUTPUT}.url")
    if not url:
        raise UsageError(f"{analysis} has no '{OUTPUT}' sibling; was it made by analysis create?")
    return url


def pin_software(analysis: Path) -> str:
    """Record the running software in ``analysis``'s ``code/environment.txt`` and save it;
    the lines that changed (none: nothing saved)."""
    from .software import differences, parse

    analysis = require_analysis_dataset(analysis)
    path = analysis / ENVIRONMENT
    before = parse(path.read_text()) if path.is_file() else {}
    write_pin(analysis)
    changed = differences(before, parse(path.read_text()))
    if changed:
        datalad.call(
            "save",
            dataset=str(analysis),
            path=[str(path)],
            message="[laion-fmri] Pin the analysis's software: " + "; ".join(changed)[:400],
        )
    return "; ".join(changed) or "the pin names the running software already"
