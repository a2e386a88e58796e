"""The README's main command: the whole job on the embedded synthetic bucket.

Serve the synthetic bucket, build the superdataset, publish it to a RIA store, clone it
into a fresh directory as a user would, ``datalad get`` a session of raw data and of
betas, verify what arrived, and load FFA betas and noise ceilings from the clone into a
figure. Leaves ``.demo/superdataset``, ``.demo/clone`` and ``.demo/sub-01_ses-01_FFA.png``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..builder.builder import build
from ..builder.datasets import remove_dataset
from ..builder.routing import route
from ..gated.client import request_access
from ..gated.register import register_gated
from ..gated.tokens import TOKEN_ENV
from ..loaders import load_subject
from ..progress import progress_bar
from ..provenance.cite import render
from ..provenance.release import release
from ..publish import publish
from ..repo import datalad
from ..repo.git import git
from ..reports import Done
from ..splits.run import make_splits
from ..verify import VerifyReport, verify_present
from .figure import roi_figure
from .fixture.bucket import write_fixture
from .localbucket import start_bucket
from .s3server import ensure_writable_dir

REPOSITORY = Path(__file__).resolve().parents[3]
GETS = ("sub-01/ses-01", "derivatives/glmsingle-tedana/sub-01/ses-01")
FIGURE = "sub-01_ses-01_FFA.png"
GATED = "stimuli/task-images_stimuli.h5"
STEPS = 10
RELEASE = "1.0.0"


def _step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def _ensure_superdataset(path: Path) -> Path:
    """A clone of this repository (the superdataset), or a new dataset when run from an
    installed package."""
    if path.exists() or not (REPOSITORY / ".datalad" / "config").is_file():
        return path
    git(None, "clone", "--quiet", "--no-tags", str(REPOSITORY), str(path))
    return path


def _get(clone: Path, paths: tuple[str, ...]) -> VerifyReport:
    datalad.call("get", path=[str(clone / p) for p in paths], dataset=str(clone))
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
    """Request access at the local service (the token goes to this process's environment
    only, never to the user's cache file) and get the gated image file."""
    form = {"name": "Demo User", "email": "demo@example.org", "institution": "Demo",
            "purpose": "the README's demo", "accept_terms": True}  # fmt: skip
    saved = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = request_access(access_url, form)
    try:
        return _get(clone, (GATED,))
    finally:
        if saved is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = saved


def run_demo(
    workdir: Path, scale: str = "tiny", seed: int = 0, port: int | None = None, jobs: int = 8
) -> Done:
    workdir = ensure_writable_dir(Path(workdir), "demo directory").absolute()
    fixture = workdir / "fixture"
    _step(1, f"synthetic bucket ({scale}, seed {seed}) -> {fixture}")
    with progress_bar("writing objects") as advance:
        write_fixture(fixture, scale, seed, progress=advance)
    with progress_bar("uploading objects") as advance:
        served = start_bucket(fixture, workdir / "s3", port, progress=advance, jobs=jobs)
    try:
        location = served.location
        _step(2, f"SeaweedFS serves s3://{location.bucket} at {location.endpoint_url}")
        superdataset = _ensure_superdataset(workdir / "superdataset")
        _step(3, f"build the superdataset at {superdataset}")
        report = build(superdataset, location, jobs=jobs, progress=progress_bar)
        print(report.details())
        print(f"  {report.summary()}")
        if not report.ok:
            return Done("the build failed; see the failures above", ok=False)
        print(f"  {register_gated(superdataset, served.access.url).summary()}")
        _step(4, "make the train/test splits with datalad run (derivatives/splits)")
        print(f"  {make_splits(superdataset).summary()}")
        _step(5, f"release {RELEASE}: tags, CHANGES.md, CITATION.cff")
        print(f"  {release(superdataset, RELEASE).summary()}")
        store = f"ria+file://{workdir / 'ria'}"
        _step(6, f"publish to the RIA store {store}")
        published = publish(superdataset, store)
        print(f"  {published.summary()}")
        clone = workdir / "clone"
        remove_dataset(clone)
        _step(7, f"datalad clone '{published.clone_url}' {clone}")
        datalad.call("clone", source=published.clone_url, path=str(clone))
        _step(8, "datalad get " + " ".join(GETS) + f", then {GATED} with an access token")
        verified = _get(clone, GETS)
        verified.merge(_get_gated(clone, served.access.url))
        _step(9, "verify the content against its git-annex keys (git annex fsck)")
        print(f"  {verified.summary()}")
        for path in GETS:
            shown = sorted(p.name for p in (clone / path).rglob("*") if p.is_file())[:3]
            print(f"  {path}: " + ", ".join(shown) + ", ...")
        if not verified.ok:
            return Done(f"content that does not match its key: {', '.join(verified.failed)}", False)
        _step(10, "load FFA (FFA1 + FFA2) betas and noise ceilings of sub-01 ses-01 from the clone")
        with _loader_log_shown():
            figure = roi_figure(clone, workdir / FIGURE)
        print(f"  {figure.summary()}")
        sub = load_subject("sub-01", clone)
        images = sub.get_trial_images("ses-01")
        clip = sub.get_trial_embeddings("ses-01", "CLIP")
        print(f"  trial-aligned stimuli of sub-01 ses-01: {len(images)} images "
              f"({images[0].mode} {images[0].size[0]}x{images[0].size[1]}), CLIP {clip.shape}")  # fmt: skip
        print(f"  cite this version: {render(clone, 'text')}")
    finally:
        served.server.stop()
    return Done(
        f"server stopped; explore {superdataset} and {clone} (make serve restarts the bucket)"
    )
