"""The README's main command, end to end, as a user runs it."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from docsnippets import SKIP_REASONS, Block, blocks
from laion_fmri_datalad.builder.storage import goes_to_git
from laion_fmri_datalad.devserver.fixture.bucket import iter_objects
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.history import changes_since_launch
from laion_fmri_datalad.devserver.fixture.published_splits import write_published_splits
from laion_fmri_datalad.devserver.fixture.spec import get_spec, is_denied
from laion_fmri_datalad.devserver.gitserver import serve_directory

GLM = "derivatives/glmsingle-tedana"
CLIP = "stimuli/task-images_desc-CLIP_embeddings.h5"


def annexed(key: str) -> bool:
    """Fetched by datalad get: registered (not denied) and annexed (not small text)."""
    return not is_denied(key) and not goes_to_git(key, 0)


@dataclass(frozen=True)
class DemoRun:
    workdir: Path
    out: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``make demo``'s command, run once: its directory (the documented context of the
    docs' blocks) and what it printed."""
    workdir = tmp_path_factory.mktemp("demo-run") / ".demo"  # where make demo puts it
    done = subprocess.run(
        [sys.executable, "-m", "laion_fmri_datalad.cli", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=1700,  # 13 steps; the 20 encoding jobs of step 13 take the longest
    )
    assert done.returncode == 0, done.stderr
    return DemoRun(workdir, done.stdout)


# The whole job: 4 minutes alone, three or four times that beside the suite's other workers
# (CI's run of it passed the suite's 900 s limit)
@pytest.mark.timeout(1800)
def test_demo_ends_with_verified_content_in_the_users_clone(demo: DemoRun) -> None:
    workdir = demo.workdir
    launch = {o.key: o.data for o in iter_objects(get_spec("tiny"), 0, state="launch")}
    launch_clip = launch[CLIP]
    current_clip = next(o.data for o in changes_since_launch(0, "tiny") if o.key == CLIP)
    out = demo.out
    assert "[10/13] verify" in out and " 0 failed" in out
    raw = [k for k in launch if k.startswith("sub-01/ses-01/") and annexed(k)]
    session = [k for k in launch if k.startswith(f"{GLM}/sub-01/ses-01/") and annexed(k)]
    assert raw and session
    assert f"{len(raw) + len(session) + 1} files" in out  # and the gated image file
    assert "gated files: 1 registered" in out
    clone = workdir / "clone"
    assert (clone / "stimuli/task-images_stimuli.h5").is_file()
    assert "trial-aligned stimuli of sub-01 ses-01: 144 images" in out  # 2 runs of 72
    betas = next(
        (clone / "derivatives/glmsingle-tedana/sub-01/ses-01/func").glob("*Betas_statmap.nii.gz")
    )
    assert betas.is_file()  # the symlink resolves: content is present
    assert (workdir / "superdataset/.gitmodules").is_file()
    # steps 4-5: the user's clone has the splits, their run record, and the release tag
    assert "splits made under datalad run" in out and "released 1.0.0" in out
    log = subprocess.run(
        ["git", "-C", str(clone), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert "[DATALAD RUNCMD] [laion-fmri] Make the train/test splits" in log
    assert '"cmd": "python code/make_splits.py' in log
    tags = subprocess.run(["git", "-C", str(clone), "tag"], capture_output=True, text=True).stdout
    assert tags.split() == ["1.0.0", "1.1.0"]
    assert "cite this version: " in out and "tag 1.1.0" in out
    # step 6: the bucket's 2026-09-28 change, a rebuild and release 1.1.0, whose CHANGES.md
    # entry names exactly the four recomputed files and the new archive
    assert "released 1.1.0" in out and "4 embedding files recomputed" in out
    entry = (workdir / "superdataset/CHANGES.md").read_text().split("\n## ")[1]
    assert entry.startswith("1.1.0") and "Changes since 1.0.0." in entry
    listed = re.findall(r"^  - `(.+)`$", entry, flags=re.M)
    models = ("CLIP", "DINOv2", "PEcore", "SigLIP2")
    assert sorted(listed) == sorted(
        ["dataset_description.json"]
        + [f"embeddings/v1/task-images_desc-{m}_embeddings.h5" for m in models]
        + [f"task-images_desc-{m}_embeddings.h5" for m in models]
    )
    assert (
        "### archive (new)\n- added: 5 files" in entry
        and "### stimuli\n- changed: 4 files" in entry
    )
    # step 11: the clone gets each release's bytes at its tag, verified against the key
    for tag, data in (("1.0.0", launch_clip), ("1.1.0", current_clip)):
        digest = hashlib.sha256(data).hexdigest()[:12]
        line = f"at {tag}: {CLIP} sha256 {digest}: the bytes of that release, key verified"
        assert line in out
    assert launch_clip != current_clip
    assert (clone / CLIP).read_bytes() == current_clip  # back on the branch: the newest
    # step 8: the loaders fetched what they needed and drew the figure
    assert "installing subdataset derivatives/rois with DataLad" in out
    assert "label-FFA1_mask.nii.gz" in out
    design = SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())
    ffa = design.roi_mask("FFA1") | design.roi_mask("FFA2")
    n_trials, n_voxels = len(design.schedule["ses-01"]), int(ffa[design.brain_mask].sum())
    assert n_trials and n_voxels
    assert f"FFA betas {n_trials} trials x {n_voxels} voxels (float32)" in out
    with Image.open(workdir / "sub-01_ses-01_FFA.png") as figure:
        assert figure.format == "PNG" and figure.size == (1200, 400)
    # step 13: the analysis dataset: its plan, the responses stage (one job per subject),
    # then 20 encoding jobs merged, the time per stage, every split's bar in the figure
    assert "plan: 20 encoding jobs requested, 0 done" in out
    assert "responses: 5 jobs (one per subject and voxel set)" in out
    assert "20 jobs: 0 already done, 20 run, 20 succeeded, 0 failed" in out
    assert "responses: merged 5 jobs of 5 task branches" in out
    assert re.search(r"encoding: merged 20 jobs of \d+ task branches", out), out[-2000:]
    assert "time per stage: plan" in out
    bars = re.search(
        r"R²/noise ceiling by split: random_0 (\S+), tau (\S+), cluster_k5_0 "
        r"(\S+), ood (\S+);",
        out,
    )
    assert bars is not None, out[-2000:]
    assert all(0 < float(v.rstrip(",")) < 1.5 for v in bars.groups())
    analysis = workdir / "analysis"
    summaries = sorted(analysis.glob("results/CLIP/*/*/*_roi-face_summary.tsv"))
    assert len(summaries) == 20
    commits = subprocess.run(
        ["git", "-C", str(analysis), "log", "--format=%s", "--grep", "Encoding job"],
        capture_output=True,
        text=True,
    ).stdout
    assert len(commits.splitlines()) == 20
    with Image.open(workdir / "encoding_face_CLIP.png") as figure:
        assert figure.format == "PNG"
    leftover = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert leftover.stdout == ""  # the server is stopped


@dataclass(frozen=True)
class Serving:
    store_url: str  # the demo's RIA store behind a static web server
    endpoint: str  # the demo's bucket, served again
    env: dict[str, str]


@pytest.fixture(scope="module")
def serving(demo: DemoRun) -> Iterator[Serving]:
    """``make serve`` (the demo's bucket and access service again, on the same port) and
    the demo's store behind a static web server, for the docs' blocks."""
    cli = [sys.executable, "-m", "laion_fmri_datalad.cli"]
    server = subprocess.Popen(
        [*cli, "serve", "--fixture", str(demo.workdir / "fixture"), "--data",
         str(demo.workdir / "s3")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    env = dict(os.environ)
    endpoint = ""
    for line in server.stdout:
        if line.startswith("endpoint: "):
            endpoint = line.split(": ", 1)[1].strip()
        if line.startswith("access service: "):
            env["LAION_FMRI_ACCESS_URL"] = line.split(": ", 1)[1].strip()
        if line.startswith("bucket: "):
            break
    assert "LAION_FMRI_ACCESS_URL" in env, "serve did not start"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PAGER"] = "cat"
    try:
        with serve_directory(demo.workdir / "ria") as url:
            yield Serving(f"ria+{url}", endpoint, env)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def placeholders(demo: DemoRun, serving: Serving) -> dict[str, str]:
    """What a reader puts in place of the docs' placeholders, here: the demo's store."""
    ria = demo.workdir / "ria"
    published = demo.workdir.parent / "published-splits"
    if not published.is_dir():  # the authors' split set, as the fixture writes it
        write_published_splits(
            published, regenerated=demo.workdir / "superdataset/derivatives/splits/regenerated"
        )
    return {
        "https://laion-fmri.s3.us-west-2.amazonaws.com": f"{serving.endpoint}/laion-fmri",
        "~/laion-fmri-splits": str(published),
        "ria+https://HOST/PATH": serving.store_url,
        "ria+file:///data/laion-fmri-store": f"ria+file://{ria}",
        "ria+file:///STORE": f"ria+file://{ria}",
    }


DOC_BLOCKS = blocks()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("block", DOC_BLOCKS, ids=[b.name for b in DOC_BLOCKS])
def test_documented_block_runs(
    block: Block, demo: DemoRun, serving: Serving, tmp_path: Path
) -> None:
    """Each block of the README and docs/ runs as written, where the docs assume it runs:
    beside ``.demo/`` after ``make demo``, with the user's clone as ``laion-fmri`` and the
    virtual environment as ``.venv`` (a block that clones, in an empty directory); the
    blocks run in order and share that clone, as a reader following them does."""
    if block.skip is not None:
        assert block.skip.startswith(SKIP_REASONS), block.skip
        pytest.skip(block.skip)
    here = demo.workdir.parent  # the repository's place: .demo/ beside the user's clone
    for name, target in ((".venv", Path(sys.executable).parents[1]), ("laion-fmri", ".demo/clone")):
        if not (here / name).is_symlink():
            (here / name).symlink_to(target)
    text = block.text
    if "datalad clone" in text:  # a block that clones starts in an empty directory
        here = tmp_path
    for placeholder, value in placeholders(demo, serving).items():
        text = text.replace(placeholder, value)
    if block.language == "python":
        script = tmp_path / "block.py"
        script.write_text(text)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", text]
    done = subprocess.run(
        command, cwd=here, env=serving.env, capture_output=True, text=True, timeout=540
    )
    assert done.returncode == 0, (
        f"{block.name}:\n{text}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
