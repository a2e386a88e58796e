"""The dataset's own history, replayed (DESIGN §2.8): the bucket changes after a release,
the superdataset is rebuilt and released again, and a user's clone gets each release's
bytes at that release's tag.

The change of 2026-09-28 recomputed 116 OOD rows of the four embedding files and kept the
originals under ``archive/embeddings/v1/``; ``fixture.history`` makes those objects, this
module puts them on the served bucket (a versioned one, as the real bucket may be: the old
versions stay readable at the URLs that 1.0.0 recorded) and checks a clone at both tags.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..repo import datalad
from ..repo.contentcheck import verify_present
from ..repo.pins import move_to
from .fixture.history import CHANGED_ON, changes_since_launch, embedding_key
from .fixture.model import FixtureObject
from .localbucket import ServedBucket
from .s3load import admin_client, put_object

MODEL = "CLIP"  # the embedding file the clone checks at each tag


def apply_change(served: ServedBucket, seed: int, scale: str) -> list[FixtureObject]:
    """Upload the 2026-09-28 change to the served bucket; returns what was uploaded."""
    changes = changes_since_launch(seed, scale)
    client = admin_client(served.server)
    for obj in changes:
        put_object(client, served.location.bucket, obj.key, obj.data, obj.multipart)
    return changes


def change_line(changes: list[FixtureObject]) -> str:
    changed = [o.key for o in changes if o.key.startswith("stimuli/")]
    added = [o.key for o in changes if not o.key.startswith("stimuli/")]
    return (
        f"the bucket changes as the real one did on {CHANGED_ON}: {len(changed)} embedding "
        f"files recomputed (116 OOD rows), {len(added)} originals kept under "
        f"{added[0].rsplit('/', 1)[0]}/"
    )


@dataclass
class TagCheck:
    """What a clone got for one file at one release tag."""

    tag: str
    path: str
    sha256: str
    expected: str
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.sha256 == self.expected and not self.failed

    def line(self) -> str:
        verdict = "the bytes of that release" if self.sha256 == self.expected else "WRONG BYTES"
        fsck = "key verified" if not self.failed else f"fsck failed: {', '.join(self.failed)}"
        return f"at {self.tag}: {self.path} sha256 {self.sha256[:12]}: {verdict}, {fsck}"


def check_at_tag(clone: Path, tag: str, expected: bytes) -> TagCheck:
    """Check ``tag`` out in the user's clone (the subdatasets too), get the embedding
    file with DataLad, and compare its bytes with ``expected``; fsck it against its key."""
    path = embedding_key(MODEL)
    datalad.call("get", dataset=str(clone), path=[str(clone / "stimuli")], get_data=False)
    # the superdataset and every installed subdataset, as laion-fmri-datalad checkout does
    move_to(clone, tag)
    datalad.call("get", dataset=str(clone), path=[str(clone / path)])
    data = (clone / path).read_bytes()
    verified = verify_present(clone / "stimuli", [str(clone / path)])
    return TagCheck(
        tag,
        path,
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(expected).hexdigest(),
        failed=verified.failed + ([] if verified.verified else [path]),
    )
