"""The README's main command: the whole job on the embedded synthetic bucket.

Serve the synthetic bucket as first released, build the superdataset, make the splits,
release 1.0.0; change the bucket as the real one changed (DESIGN §2.8), rebuild, release
1.1.0; publish to a RIA store, clone it as a user would, ``datalad get`` a session of raw
data and of betas and the gated images, verify what arrived, check that the clone gets each
release's embedding bytes at its tag, load FFA betas and noise ceilings from the clone into
a figure and cite the clone's version; then create an analysis dataset and run the CLIP
encoding analysis of the face ROIs for every subject on four splits, fanned out on Dask and
merged, into a second figure (step 13). Leaves ``.demo/superdataset``, ``.demo/clone``,
``.demo/analysis`` and the figures; the steps are listed in ``docs/building.md``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import request, run_jobs
from ..analysis.create import create_analysis
from ..builder.builder import build
from ..builder.routing import route
from ..config import REQUEST_ID
from ..gated.client import request_access
from ..gated.register import register_gated
from ..layout.discovery import is_dataset
from ..loaders import load_subject
from ..provenance.cite import render
from ..provenance.release import CHANGES, ReleaseReport, release
from ..publishing.publish import publish
from ..repo import datalad
from ..repo.contentcheck import VerifyReport, verify_present
from ..repo.dataset import remove_dataset
from ..repo.git import git
from ..repo.pins import move_to
from ..runtime.progress import progress_bar
from ..runtime.reports import Done
from ..splits.run import make_splits
from .encodingfigure import encoding_figure
from .figure import roi_figure
from .fixture.bucket import write_fixture
from .fixture.history import embedding_key
from .localbucket import ServedBucket, start_bucket
from .replay import MODEL, TagCheck, apply_change, change_line, check_at_tag
from .s3server import ensure_writable_dir

REPOSITORY = Path(__file__).resolve().parents[3]
GETS = ("sub-01/ses-01", "derivatives/glmsingle-tedana/sub-01/ses-01")
FIGURE = "sub-01_ses-01_FFA.png"
GATED = "stimuli/task-images_stimuli.h5"
STEPS = 13
FIRST_RELEASE = "1.0.0"
SECOND_RELEASE = "1.1.0"


def _step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def _ensure_superdataset(path: Path) -> Path:
    """A clone of this repository (the superdataset), or a new dataset when run from an
    installed package."""
    if path.exists() or not is_dataset(REPOSITORY):
        return path
    git(None, "clone", "--quiet", "--no-tags", str(REPOSITORY), str(path))
    return path


def _get(
    clone: Path, paths: tuple[str, ...], extra_env: dict[str, str] | None = None
) -> VerifyReport:
    datalad.call(
        "get", path=[str(clone / p) for p in paths], dataset=str(clone), extra_env=extra_env
    )
    report = VerifyReport()
    for path in paths:
        routed = route(path)  # the clone's layout is the bucket's, routed
        assert routed is not None
        report.merge(verify_present(clone / routed.subdataset, [str(clone / path)]))
    return report


@contextmanager
def _loader_log_shown() -> Iterator[None]:
    """Print what the loaders fetch through DataLad (their INFO log), indented."""
    logger = logging.getLogger("laion_fmri_datalad.loaders")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = True


def _get_gated(clone: Path, access_url: str) -> VerifyReport:
    """Request access at the local service (the token goes to the environment of that one
    get, never to the user's cache file) and get the gated image file."""
    form = {
        "name": "Demo User",
        "email": "demo@example.org",
        "institution": "Demo",
        "purpose": "the README's demo",
        "accept_terms": True,
    }
    return _get(clone, (GATED,), {REQUEST_ID: request_access(access_url, form)})


@dataclass
class Demo:
    """Where the demo works, and what its steps hand to each other."""

    workdir: Path
    scale: str
    seed: int
    jobs: int
    served: ServedBucket
    superdataset: Path = field(init=False)
    clone: Path = field(init=False)
    launch_bytes: bytes = b""
    current_bytes: bytes = b""

    def __post_init__(self) -> None:
        self.superdataset = self.workdir / "superdataset"
        self.clone = self.workdir / "clone"


def _fresh(workdir: Path) -> None:
    """Each demo tells the story from the start: the datasets, stores and server data of a
    previous run, finished or interrupted, go (the fixture is rewritten anyway)."""
    for name in ("superdataset", "ria", "clone", "s3", "analysis", "analysis-outputs"):
        remove_dataset(workdir / name)


def _build_and_release(demo: Demo, version: str) -> ReleaseReport | None:
    report = build(demo.superdataset, demo.served.location, jobs=demo.jobs, progress=progress_bar)
    print(report.details())
    print(f"  {report.summary()}")
    if not report.ok:
        return None
    print(f"  {register_gated(demo.superdataset, demo.served.access.url).summary()}")
    if version == FIRST_RELEASE:
        _step(4, "make the train/test splits with datalad run (derivatives/splits)")
        print(f"  {make_splits(demo.superdataset).summary()}")
        _step(5, f"release {version}: tags, CHANGES.md, CITATION.cff")
    released = release(demo.superdataset, version)
    print(f"  {released.summary()}")
    return released


def _change_and_rerelease(demo: Demo) -> bool:
    changes = apply_change(demo.served, demo.seed, demo.scale)
    print(f"  {change_line(changes)}")
    key = embedding_key(MODEL)
    demo.current_bytes = next(o.data for o in changes if o.key == key)
    print(f"  rebuild, then release {SECOND_RELEASE}:")
    released = _build_and_release(demo, SECOND_RELEASE)
    if released is None:
        return False
    for dataset in released.datasets:
        counts = [(kind, len(paths)) for kind, paths in dataset.kinds() if paths]
        shown = ", ".join(f"{n} {kind}" for kind, n in counts)
        print(f"  {CHANGES} names for {dataset.path}{' (new)' if dataset.new else ''}: {shown}")
    return True


def _clone_and_get(demo: Demo) -> VerifyReport:
    store = f"ria+file://{demo.workdir / 'ria'}"
    _step(7, f"publish to the RIA store {store}")
    published = publish(demo.superdataset, store)
    print(f"  {published.summary()}")
    _step(8, f"datalad clone '{published.clone_url}' {demo.clone}")
    datalad.call("clone", source=published.clone_url, path=str(demo.clone))
    _step(9, "datalad get " + " ".join(GETS) + f", then {GATED} with an access token")
    verified = _get(demo.clone, GETS)
    verified.merge(_get_gated(demo.clone, demo.served.access.url))
    _step(10, "verify the content against its git-annex keys (git annex fsck)")
    print(f"  {verified.summary()}")
    for path in GETS:
        shown = sorted(p.name for p in (demo.clone / path).rglob("*") if p.is_file())[:3]
        print(f"  {path}: " + ", ".join(shown) + ", ...")
    return verified


def _releases_in_the_clone(demo: Demo) -> list[TagCheck]:
    _step(
        11,
        f"the clone at each release: {MODEL} embeddings at {FIRST_RELEASE}, then at "
        f"{SECOND_RELEASE}",
    )
    branch = git(demo.clone, "symbolic-ref", "--short", "HEAD").strip()
    checks = [
        check_at_tag(demo.clone, FIRST_RELEASE, demo.launch_bytes),
        check_at_tag(demo.clone, SECOND_RELEASE, demo.current_bytes),
    ]
    for check in checks:
        print(f"  {check.line()}")
    move_to(demo.clone, branch)  # the newest release: back on the branch, subdatasets too
    return checks


def _load(demo: Demo) -> None:
    _step(12, "load FFA (FFA1 + FFA2) betas and noise ceilings of sub-01 ses-01 from the clone")
    with _loader_log_shown():
        figure = roi_figure(demo.clone, demo.workdir / FIGURE)
    print(f"  {figure.summary()}")
    sub = load_subject("sub-01", demo.clone)
    images = sub.get_trial_images("ses-01")
    clip = sub.get_trial_embeddings("ses-01", "CLIP")
    print(
        f"  trial-aligned stimuli of sub-01 ses-01: {len(images)} images "
        f"({images[0].mode} {images[0].size[0]}x{images[0].size[1]}), CLIP {clip.shape}"
    )
    print(f"  cite this version: {render(demo.clone, 'text')}")


ANALYSIS_SPLITS = ["random_0", "tau", "cluster_k5_0", "ood"]
ENCODING_FIGURE = "encoding_face_CLIP.png"


def _analysis(demo: Demo, source: str) -> bool:
    analysis = demo.workdir / "analysis"
    _step(
        13,
        f"an analysis dataset at {analysis}: the responses stage (each subject's betas read "
        f"once), then CLIP encoding of the face ROIs, 5 subjects, splits "
        f"{', '.join(ANALYSIS_SPLITS)}, on 2 Dask workers",
    )
    print(f"  {create_analysis(analysis, source).summary()}")
    jobs = request(analysis, ["all"], ANALYSIS_SPLITS, ["face"], ["CLIP"])
    report = run_jobs(analysis, jobs, workers=2, stage_bar=progress_bar, announce=print)
    if report.details():
        print(report.details())
    print(f"  {report.summary()}")
    if not report.ok:
        return False
    figure = encoding_figure(analysis, jobs, demo.workdir / ENCODING_FIGURE, ANALYSIS_SPLITS)
    print(f"  {figure.summary()}")
    print(
        f"  rerun any job: cd {analysis} && datalad rerun <commit of git log --grep 'Encoding job'>"
    )
    return True


def run_demo(
    workdir: Path, scale: str = "tiny", seed: int = 0, port: int | None = None, jobs: int = 8
) -> Done:
    workdir = ensure_writable_dir(Path(workdir), "demo directory").absolute()
    _fresh(workdir)
    fixture = workdir / "fixture"
    _step(1, f"synthetic bucket ({scale}, seed {seed}) as first released -> {fixture}")
    with progress_bar("writing objects") as advance:
        write_fixture(fixture, scale, seed, progress=advance, state="launch")
    with progress_bar("uploading objects") as advance:
        served = start_bucket(fixture, workdir / "s3", port, progress=advance, jobs=jobs)
    demo = Demo(workdir, scale, seed, jobs, served)
    demo.launch_bytes = (fixture / "objects" / embedding_key(MODEL)).read_bytes()
    try:
        location = served.location
        _step(2, f"SeaweedFS serves s3://{location.bucket} at {location.endpoint_url}")
        _ensure_superdataset(demo.superdataset)
        _step(3, f"build the superdataset at {demo.superdataset}")
        if _build_and_release(demo, FIRST_RELEASE) is None:
            return Done("the build failed; see the failures above", ok=False)
        _step(6, f"the bucket changes after {FIRST_RELEASE}; rebuild and release {SECOND_RELEASE}")
        if not _change_and_rerelease(demo):
            return Done("the rebuild failed; see the failures above", ok=False)
        verified = _clone_and_get(demo)
        if not verified.ok:
            return Done(f"content that does not match its key: {', '.join(verified.failed)}", False)
        checks = _releases_in_the_clone(demo)
        if not all(check.ok for check in checks):
            return Done("a release's bytes did not arrive in the clone; see above", ok=False)
        _load(demo)
        if not _analysis(demo, f"ria+file://{demo.workdir / 'ria'}#~laion-fmri"):
            return Done("an encoding job failed; see its log above", ok=False)
    finally:
        served.server.stop()
    return Done(
        f"server stopped; explore {demo.superdataset}, {demo.clone} and "
        f"{demo.workdir / 'analysis'} (make serve restarts the bucket)"
    )
