"""The synthetic bucket on a real SeaweedFS server: anonymous reads, 403s, versions, parts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from laion_fmri_datalad.devserver.fixture.bucket import Manifest
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.devserver.s3server import LocalS3Server
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.s3.client import current_objects, iter_listing, list_versions

DENIED_KEYS = (
    "sub-01/ses-31/func/sub-01_ses-31_task-images_run-01_events.tsv",
    "derivatives/glmsingle-tedana/sub-05/ses-31/func/"
    "sub-05_ses-31_task-images_desc-SingletrialBetas_trials.tsv",
    "stimuli/task-images_stimuli.h5",
)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        data: bytes = answer.read()
        return data


def test_listing_holds_every_object_with_versions(served: ServedBucket, manifest: Manifest) -> None:
    versions = list(iter_listing(served.location))
    latest = current_objects(iter(versions))
    assert set(latest) == {e.key for e in manifest.objects}
    assert all(o.version_id for o in versions)
    overwritten = sum(e.previous for e in manifest.objects)
    assert len(versions) == len(latest) + overwritten


def test_parallel_listing_by_folder_equals_the_plain_listing(served: ServedBucket) -> None:
    plain = sorted(iter_listing(served.location), key=lambda o: (o.key, o.version_id or ""))
    parallel = sorted(list_versions(served.location), key=lambda o: (o.key, o.version_id or ""))
    assert parallel == plain
    assert {o.key.split("/")[0] for o in parallel} >= {"sub-01", "derivatives", "stimuli"}


def test_anonymous_get_returns_the_fixture_bytes(served: ServedBucket, fixture_dir: Path) -> None:
    latest = current_objects(iter_listing(served.location))
    for key in (
        "participants.tsv",
        "sub-03/ses-02/func/sub-03_ses-02_task-images_run-02_echo-3_part-phase_bold.nii.gz",
        "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz",
        "stimuli/task-images_desc-CLIP_embeddings.h5",
    ):
        url = served.location.object_url(key, latest[key].version_id)
        assert get(url) == (fixture_dir / "objects" / key).read_bytes()


def test_denied_keys_are_listed_but_answer_403(served: ServedBucket) -> None:
    latest = current_objects(iter_listing(served.location))
    for key in DENIED_KEYS:
        assert key in latest
        with pytest.raises(urllib.error.HTTPError) as caught:
            get(served.location.object_url(key))
        caught.value.close()  # the 403's body holds its connection
        assert caught.value.code == 403


def test_older_versions_stay_retrievable(served: ServedBucket, fixture_dir: Path) -> None:
    versions = list(iter_listing(served.location))
    old = [o for o in versions if not o.is_latest]
    assert old
    for obj in old:
        assert (
            get(served.location.object_url(obj.key, obj.version_id))
            == (fixture_dir / "previous" / obj.key).read_bytes()
        )


def test_large_objects_have_multipart_etags(served: ServedBucket, manifest: Manifest) -> None:
    latest = current_objects(iter_listing(served.location))
    flagged = {e.key for e in manifest.objects if e.multipart}
    assert {k for k, o in latest.items() if o.multipart} == flagged
    assert all(latest[k].etag.endswith("-2") and latest[k].md5 is None for k in flagged)
    assert latest["participants.tsv"].md5 is not None


def test_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalS3Server(port=port)


def test_stopped_server_leaves_no_process(tmp_path: Path) -> None:
    server = LocalS3Server(tmp_path / "data").start()
    pid = server.pid
    assert pid is not None and server.running
    server.stop()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "laion_fmri_datalad.cli", *args]


def test_cli_bad_arguments_give_one_line_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        cases = {
            ("fixture", str(tmp_path / "f"), "--scale", "huge"): "unknown scale 'huge'",
            ("fixture", str(blocker / "sub")): "lies under the file",
            ("serve", "--fixture", str(tmp_path / "g"), "--port", str(busy)): "is in use",
            ("serve", "--port", "70000"): "port 70000 is not allowed",
        }
        for args, expected in cases.items():
            done = subprocess.run(cli(*args), capture_output=True, text=True, timeout=120)
            assert done.returncode == 2, (args, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert expected in lines[0]


def test_serve_prints_the_endpoint_and_stops_on_ctrl_c(
    small_fixture_dir: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        cli("serve", "--fixture", str(small_fixture_dir), "--data", str(tmp_path / "s3")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("endpoint: http://127.0.0.1:")
        endpoint = first.split()[1]
        assert get(f"{endpoint}/laion-fmri/participants.tsv").startswith(b"participant_id")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "s3")], capture_output=True, text=True
    ).stdout
    assert leftover == ""
    with pytest.raises(urllib.error.URLError):
        get(f"{endpoint}/laion-fmri/participants.tsv")


def test_restart_keeps_the_recorded_port_despite_time_wait(
    small_fixture_dir: Path, tmp_path: Path
) -> None:
    """The server closes its side of a finished connection first, so its port has sockets
    in TIME_WAIT right after it stops; a restart on the same data must still get it (every
    URL a clone recorded points there)."""
    from laion_fmri_datalad.devserver.localbucket import start_bucket

    first = start_bucket(small_fixture_dir, tmp_path / "data")
    port = first.server.port
    url = f"{first.server.endpoint_url}/{first.location.bucket}/README"
    for _ in range(5):  # finished connections, closed by the server
        with urllib.request.urlopen(url) as answer:
            assert answer.status == 200
    first.server.stop()
    again = start_bucket(small_fixture_dir, tmp_path / "data")
    try:
        assert again.server.port == port
        with urllib.request.urlopen(url) as answer:
            assert answer.status == 200
    finally:
        again.server.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stopped_at_any_moment_says_one_line_leaves_no_child_and_is_repaired(
    small_fixture_dir: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    """Ctrl-C or ``kill`` while the command starts (imports), while it uploads, and once it
    serves: exit 130, one line, no process of its session left; the next run on the same
    data directory serves the bucket (issue 38, item 3)."""
    data = tmp_path / "s3"
    # ``-m laion_fmri_datalad``, as the installed command: nothing imported before the handlers
    command = [sys.executable, "-m", "laion_fmri_datalad", "serve", "--fixture",
               str(small_fixture_dir), "--data", str(data)]  # fmt: skip
    for moment in (0.15, 0.6, 2.5):
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            time.sleep(moment)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if proc.returncode == 0:  # it was serving already: stopped as asked
            assert out.startswith("endpoint: ") and err == "", (moment, err)
        else:
            assert proc.returncode == 130, (moment, err)
            assert err.strip().splitlines() == ["laion-fmri-datalad: interrupted"], (moment, err)
        left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        assert left.stdout == "", (moment, left.stdout)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().split()[1]
        assert get(f"{endpoint}/laion-fmri/participants.tsv").startswith(b"participant_id")
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 0  # serving: stopped as asked
    finally:
        if proc.poll() is None:
            proc.kill()
