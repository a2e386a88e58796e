"""``runtime/children.py``: an interrupted command's descendants are found and stopped.

Only below a process of the test's own: the test process's other descendants (a worker's
session servers under ``make test``) are not touched."""

from __future__ import annotations

import subprocess
import time

import pytest

from laion_fmri_datalad.runtime.children import descendants, stop_descendants

pytestmark = pytest.mark.unit


def test_descendants_at_any_depth_are_found_and_stopped() -> None:
    # below the test's shell, a shell that ignores SIGTERM and sleeps in a loop: only the
    # SIGKILL after the grace ends it (and with it the outer shell's wait)
    inner = "trap '' TERM; while :; do sleep 0.1; done"
    outer = subprocess.Popen(["sh", "-c", f'sh -c "{inner}" & wait'])
    try:
        found: list[int] = []
        for _ in range(100):  # until the inner shell has started its sleep
            found = descendants(outer.pid)
            if len(found) >= 2:
                break
            time.sleep(0.05)
        assert len(found) >= 2 and outer.pid in descendants()
        assert stop_descendants(grace=0.5, pid=outer.pid) == len(found)
        assert outer.wait(timeout=5) is not None
        assert not descendants(outer.pid)
    finally:
        if outer.poll() is None:
            outer.kill()
