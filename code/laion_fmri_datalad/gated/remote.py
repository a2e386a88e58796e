"""``git-annex-remote-laionfmri``: a read-only git-annex special remote for the gated files.

It exchanges the user's token for presigned URLs at the access service, finds the file whose
SHA-256 is the key's, and downloads it into the file git-annex gives, resuming a partial
download with an HTTP Range request and asking for new URLs when they expire. The service URL
is the remote's ``url`` setting (public), overridden by ``LAION_FMRI_ACCESS_URL``; the token
is never written anywhere and never appears in a message.

    git annex initremote laion-fmri-gated type=external externaltype=laionfmri \\
        encryption=none autoenable=true url=https://laion-fmri.hebartlab.com
"""

from __future__ import annotations

import hashlib
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from annexremote import Master, RemoteError, SpecialRemote

from .client import AccessError, how_to_get_access, manifest, refresh
from .tokens import find_token, service_url

CHUNK = 1024 * 1024
DATASET_VERSION = "v1"  # the access service's default dataset version (DESIGN §2.9)


def key_sha256(key: str) -> str:
    """The hash of a ``SHA256E-s<size>--<hash>.<ext>`` key."""
    backend, _, rest = key.partition("-")
    if not backend.startswith("SHA256"):
        raise RemoteError(f"key {key} is not a SHA256 key; this remote serves only those")
    return rest.split("--", 1)[1].split(".", 1)[0]


class GatedRemote(SpecialRemote):  # type: ignore[misc]
    def initremote(self) -> None:
        if not self.annex.getconfig("url"):
            raise RemoteError("give the access service: url=https://...")

    def prepare(self) -> None:
        self.url = service_url(self.annex.getconfig("url") or None)

    def listconfigs(self) -> dict[str, str]:
        return {"url": "base URL of the LAION-fMRI access service"}

    def _files(self) -> dict[str, dict[str, Any]]:
        token = find_token()
        if token is None:
            raise RemoteError(how_to_get_access(self.url))
        try:
            answer = refresh(self.url, token, DATASET_VERSION)
        except AccessError as exc:
            raise RemoteError(str(exc)) from None
        return {str(f["sha256"]): f for f in answer.get("files", [])}

    def transfer_retrieve(self, key: str, filename: str) -> None:
        digest = key_sha256(key)
        target = Path(filename)
        for attempt in range(3):  # a URL that expired mid-way gets replaced
            entry = self._files().get(digest)
            if entry is None:
                raise RemoteError("the access service does not offer this file")
            try:
                self._download(str(entry["url"]), target, int(entry["size"]))
                break
            except _ExpiredURLError:
                if attempt == 2:
                    raise RemoteError("the download URLs kept expiring; try again") from None
        actual = _sha256(target)
        if actual != digest:
            target.unlink(missing_ok=True)
            raise RemoteError("the downloaded file does not match its checksum; removed it")

    def _download(self, url: str, target: Path, size: int) -> None:
        have = target.stat().st_size if target.exists() else 0
        if have > size:
            target.unlink()
            have = 0
        if have == size:
            return
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            response = urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as exc:
            exc.close()  # its body holds the connection
            if exc.code in (401, 403):
                raise _ExpiredURLError() from None
            raise RemoteError(f"download failed: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteError(f"download failed: {getattr(exc, 'reason', exc)}") from None
        with response, target.open("ab" if have and response.status == 206 else "wb") as out:
            done = have if response.status == 206 else 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                self.annex.progress(done)
        if target.stat().st_size != size:
            raise RemoteError(f"download ended early ({target.stat().st_size} of {size} bytes)")

    def checkpresent(self, key: str) -> bool:
        try:
            offered = {str(f["sha256"]) for f in manifest(self.url).get("files", [])}
        except AccessError as exc:
            raise RemoteError(str(exc)) from None
        return key_sha256(key) in offered

    def transfer_store(self, key: str, filename: str) -> None:
        raise RemoteError("the LAION-fMRI access service is read-only")

    def remove(self, key: str) -> None:
        raise RemoteError("the LAION-fMRI access service is read-only")


class _ExpiredURLError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    output = sys.stdout
    sys.stdout = sys.stderr  # nothing but the protocol on the channel git-annex reads
    master = Master(output)
    master.LinkRemote(GatedRemote(master))
    master.Listen()


if __name__ == "__main__":
    main()
