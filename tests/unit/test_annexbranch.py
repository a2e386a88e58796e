"""What a git host's git-annex branch leaves out (``publishing/annexbranch.py``)."""

from __future__ import annotations

import pytest

from laion_fmri_datalad.publishing.annexbranch import PUBLISHER, public_remote_log, public_uuid_log

pytestmark = pytest.mark.unit

REMOTE_LOG = (
    "1111 autoenable=true name=ria-storage type=external externaltype=ora "
    "url=ria+file:///home/ada/ria timestamp=1s\n"
    "2222 name=stash type=directory directory=/mnt/stash encryption=none timestamp=1s\n"
    "3333 autoenable=true externaltype=laionfmri name=laionfmri type=external timestamp=1s\n"
    "4444 name=store type=external externaltype=ora url=ria+https://data.example/ria timestamp=1s\n"
)
UUID_LOG = (
    "aaaa ada@laptop:/home/ada/laion-fmri/sub-01 timestamp=1s\n"
    "1111 [ria-storage] timestamp=1s\n"
    "bbbb web timestamp=1s\n"
)


def test_local_remotes_are_left_out_and_reachable_ones_kept() -> None:
    kept = public_remote_log(REMOTE_LOG)
    assert [line.split()[0] for line in kept.splitlines()] == ["3333", "4444"]


def test_descriptions_naming_a_local_path_are_replaced() -> None:
    public = public_uuid_log(UUID_LOG).splitlines()
    assert public[0] == f"aaaa {PUBLISHER} timestamp=1s"
    assert public[1:] == UUID_LOG.splitlines()[1:]
