"""git-annex keys and their hash directories, computed the way git-annex computes them.

Pure functions; ``tests/test_annexkeys.py`` checks them against git-annex itself.
"""

from __future__ import annotations

import hashlib
import string

MAX_EXTENSION_LENGTH = 4  # git-annex's default annex.maxextensionlength
MAX_EXTENSIONS = 2
_VALID_EXTENSION_CHARS = set(string.ascii_letters + string.digits)
_MIXED_CHARS = "0123456789zqjxkmvwgpfZQJXKMVWGPF"


def key_extension(filename: str) -> str:
    """The extension an ``*E`` backend appends: up to two short alphanumeric parts."""
    name = filename.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return ""
    parts = name.lstrip(".").split(".")[1:]
    kept: list[str] = []
    for part in reversed(parts):
        if len(part) > MAX_EXTENSION_LENGTH:
            break
        kept.append(part)
    kept = [p for p in kept if p and set(p) <= _VALID_EXTENSION_CHARS][:MAX_EXTENSIONS]
    return "".join("." + p for p in reversed(kept))


def md5e_key(md5: str, size: int, filename: str) -> str:
    return f"MD5E-s{size}--{md5.lower()}{key_extension(filename)}"


def sha256e_key(sha256: str, size: int, filename: str) -> str:
    return f"SHA256E-s{size}--{sha256.lower()}{key_extension(filename)}"


def hashdir_lower(key: str) -> str:
    """``aaa/bbb/``: the directory of a key's logs on the git-annex branch."""
    digest = hashlib.md5(key.encode()).hexdigest()
    return f"{digest[:3]}/{digest[3:6]}/"


def hashdir_mixed(key: str) -> str:
    """``Xx/Yy/``: the directory of a key's object under ``.git/annex/objects``."""
    digest = hashlib.md5(key.encode()).digest()
    word = int.from_bytes(digest[:4], "little")
    chars = [_MIXED_CHARS[(word >> (6 * i)) & 31] for i in range(6)]
    swapped = "".join(chars[i + 1] + chars[i] for i in range(0, 6, 2))
    return f"{swapped[:2]}/{swapped[2:4]}/"


def object_path(key: str) -> str:
    """Path of the content of ``key`` relative to the repository's top."""
    return f".git/annex/objects/{hashdir_mixed(key)}{key}/{key}"


def symlink_target(path: str, key: str) -> str:
    """The relative symlink git-annex makes for an annexed file at ``path``."""
    depth = path.count("/")
    return "../" * depth + object_path(key)
