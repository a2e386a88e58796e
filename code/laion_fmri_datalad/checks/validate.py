"""The one place each kind of value a user gives is checked: job counts, versions, paths to
write to or read from, names, URLs and ids.

Every check runs before anything is written and raises a one-line ``UsageError`` naming the
value and what is allowed. The command line (``cli/options.py``) and the Python API call the
same functions, so ``-J 0`` and ``download(n_jobs=0)`` fail alike.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from ..errors import UsageError

MAX_JOBS = 64
SEMVER = re.compile(r"(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})")  # <= 9 digits each
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")  # an AWS region: us-west-2, ap-southeast-1
# git's check-ref-format for one remote name, kept to what DataLad siblings use
REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# kernel file systems: nothing of a dataset, a store or a fixture belongs there
SYSTEM_TREES = ("/proc", "/sys", "/dev")
RIA_SCHEMES = ("ria+file", "ria+ssh", "ria+http", "ria+https")
LABEL = re.compile(r"[A-Za-z0-9]+")  # a BIDS label


def jobs(value: object, what: str = "n_jobs") -> int:
    """A number of parallel jobs: an int 1-64 (the command line converts its digits)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_JOBS:
        raise UsageError(f"{what} {value!r} is not allowed; use a whole number 1-{MAX_JOBS}")
    return value


def version(value: object) -> tuple[int, int, int]:
    """A release version ``MAJOR.MINOR.PATCH`` (semantic versioning; a tag-style leading
    ``v`` is allowed, suffixes are not)."""
    found = SEMVER.fullmatch(value.removeprefix("v")) if isinstance(value, str) else None
    if found is None:
        raise UsageError(
            f"version {value!r} is not allowed; use MAJOR.MINOR.PATCH like '1.0.0' or 'v1.0.0' "
            "(each part at most 9 digits)"
        )
    major, minor, patch = (int(g) for g in found.groups())
    return major, minor, patch


def later_version(value: object, last: str | None) -> tuple[int, int, int]:
    """``value`` as a version that comes after ``last`` (the newest release), if any."""
    wanted = version(value)
    if last is not None and SEMVER.fullmatch(last.removeprefix("v")) and wanted < version(last):
        raise UsageError(f"version {value!r} is lower than the last release {last!r}")
    return wanted


def region(value: object) -> str:
    """An S3 region name (``us-west-2``)."""
    if not isinstance(value, str) or not REGION.fullmatch(value):
        raise UsageError(f"region {value!r} is not allowed; use an S3 region like 'us-west-2'")
    return value


def existing_dataset(path: Path, what: str) -> Path:
    """A DataLad dataset that is there (its directory with ``.git`` and ``.datalad/config``)."""
    given = Path(path).expanduser()
    if not given.exists():
        raise UsageError(f"{what} {str(path)!r} does not exist; give a DataLad dataset")
    if not given.is_dir():
        raise UsageError(f"{what} {str(path)!r} is a file; give a DataLad dataset")
    from ..layout.discovery import is_dataset  # layout imports checks: asked here

    if not is_dataset(given):
        raise UsageError(f"{what} {str(path)!r} is not a DataLad dataset")
    return given


def _system_tree(path: Path) -> str | None:
    resolved = str(path.resolve())
    for tree in SYSTEM_TREES:
        if resolved == tree or resolved.startswith(tree + "/"):
            return tree
    return None


def directory_to_write(path: Path, what: str) -> Path:
    """A directory a command will create or write into: not a file, not in a kernel file
    system, and its nearest existing ancestor a writable directory."""
    path = Path(path).expanduser().absolute()
    tree = _system_tree(path)
    if tree is not None:
        raise UsageError(f"{what} {str(path)!r} is inside {tree}; choose a directory of yours")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {str(path)!r} is a file; give a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{what} {str(path)!r} lies under the file {str(existing)!r}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {str(path)!r}: {str(existing)!r} is not writable")
    return path


def directory_name(value: str) -> Path:
    """A directory named on the command line: never the empty string, which ``Path``
    would quietly turn into the current directory."""
    if not value:
        raise UsageError("'' is not a directory name; give a path (. for the current directory)")
    return Path(value)


def own_directory(path: Path, what: str, marks: tuple[str, ...]) -> Path:
    """A directory a command creates and then keeps as its own (a demo's working directory,
    a server's data, a fixture): new, empty, or holding one of ``marks``, the names the
    command writes there first. A file, a git repository or DataLad dataset, or a non-empty
    directory without a mark belongs to someone else and is refused, before anything is
    written; the message names the path as given."""
    given = str(path)
    path = directory_to_write(path, what)
    if not path.is_dir():
        return path
    for name, kind in ((".datalad", "a DataLad dataset"), (".git", "a git repository")):
        if (path / name).exists():
            raise UsageError(f"{what} {given!r} is {kind}; give a new or empty directory")
    if not any((path / mark).exists() for mark in marks) and any(path.iterdir()):
        raise UsageError(
            f"{what} {given!r} is not empty and was not made by this command "
            f"(it has no {marks[0]}); give a new or empty directory"
        )
    return path


def claim_directory(path: Path, mark: str) -> None:
    """Create ``path`` and write ``mark`` in it, so that a later run knows it as its own."""
    path.mkdir(parents=True, exist_ok=True)
    (path / mark).touch()


def directory_to_read(path: Path, what: str) -> Path:
    """An existing directory a command reads from."""
    path = Path(path).expanduser().absolute()
    if not path.is_dir():
        state = "is a file" if path.exists() else "does not exist"
        raise UsageError(f"{what} {str(path)!r} {state}; give an existing directory")
    return path


def file_to_write(path: Path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """A file a function writes: its directory exists and is writable, it is not a
    directory, and its name ends in one of ``suffixes`` (if given)."""
    path = Path(path).expanduser()
    if suffixes and not path.name.endswith(suffixes):
        raise UsageError(f"{what} {str(path)!r} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise UsageError(f"{what} {str(path)!r} is a directory; give a file name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{what} {str(path)!r}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {str(path)!r}: the directory {str(parent)!r} is not writable")
    return path


def remote_name(value: object, what: str = "sibling name") -> str:
    """A git remote (DataLad sibling) name: letters, digits, ``.``, ``_``, ``-``."""
    if not isinstance(value, str) or not REMOTE_NAME.fullmatch(value):
        raise UsageError(
            f"{what} {value!r} is not allowed; use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def ria_url(value: object) -> str:
    """A RIA store URL DataLad can create: ``ria+file:///absolute/path`` (a directory that
    can be written), or ``ria+ssh://``/``ria+http(s)://`` with a host."""
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in RIA_SCHEMES:
        raise UsageError(
            f"store {value!r} is not allowed; use ria+file:///absolute/path, "
            "ria+ssh://host/path or ria+https://host/path"
        )
    if parsed.scheme == "ria+file":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise UsageError(
                f"store {value!r} is not an absolute path (ria+file://{parsed.netloc}"
                f"{parsed.path} would be read as /{parsed.path.lstrip('/')}); write "
                f"ria+file://{Path(parsed.netloc + parsed.path).absolute()}"
            )
        directory_to_write(Path(parsed.path), "store")
    elif not parsed.netloc:
        raise UsageError(f"store {value!r} names no host")
    return str(value)


GIT_BASE_SCHEMES = ("https", "http", "ssh", "file")
REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def publish_target(value: object) -> str:
    """Where ``publish --to`` goes: a RIA store (``ria+...``, see ``ria_url``), or a git
    host's base URL under which each dataset is one repository (``https://github.com/ORG``,
    ``ssh://git@host/ORG``, ``file:///srv/git``). Returns ``"ria"`` or ``"git"``."""
    if isinstance(value, str) and value.startswith("ria+"):
        ria_url(value)
        return "ria"
    parsed = urlparse(value) if isinstance(value, str) else None
    allowed = (
        "use a RIA store (ria+file:///path, ria+ssh://host/path, ria+https://host/path) or "
        "a git host's base URL (https://HOST/ORG, ssh://git@HOST/ORG, file:///path)"
    )
    if parsed is None or parsed.scheme not in GIT_BASE_SCHEMES:
        raise UsageError(f"publish target {value!r} is not allowed; {allowed}")
    if parsed.scheme == "file":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise UsageError(f"publish target {value!r} is not an absolute file:/// URL")
        directory_to_write(Path(parsed.path), "git host directory")
    elif not parsed.hostname:
        raise UsageError(f"publish target {value!r} names no host; {allowed}")
    if parsed.query or parsed.fragment or parsed.path.rstrip("/").endswith(".git"):
        raise UsageError(
            f"publish target {value!r} is a repository, not a base URL; give the "
            "organisation or group the repositories go under (e.g. https://github.com/ORG)"
        )
    return "git"


def repo_name(value: object, what: str = "repository name") -> str:
    """A repository name on a git host: letters, digits, ``.``, ``_``, ``-``."""
    if not isinstance(value, str) or not REPO_NAME.fullmatch(value) or value.endswith(".git"):
        raise UsageError(
            f"{what} {value!r} is not allowed; use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def http_url(value: object, what: str) -> str:
    """An ``http(s)://host[:port]/...`` URL."""
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"{what} {value!r} is not allowed; use http(s)://host[:port]/...")
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number 0-65535
    except ValueError:
        raise UsageError(f"{what} {value!r} has a port that is not a number 0-65535") from None
    return str(value)


def nonempty(value: object, what: str, example: str) -> str:
    """A name that must not be empty or blank, like a subject id."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{what} {value!r} is not allowed; give one like {example!r}")
    return value


def port_number(value: object) -> int:
    """A TCP port 1-65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise UsageError(f"port {value!r} is not allowed; use 1-65535")
    return value


def entity_values(entity: str, value: object) -> list[str]:
    """The values of a BIDS entity filter: a label or a list of them, each a string of
    letters and digits (with or without the ``entity-`` prefix) or a whole number."""
    items = list(value) if isinstance(value, list | tuple | set) else [value]
    if not items:
        raise UsageError(f"{entity} is an empty list; give one or more values or None")
    out = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            out.append(str(item))
        elif isinstance(item, str) and item and LABEL.fullmatch(item.removeprefix(f"{entity}-")):
            out.append(item)
        else:
            raise UsageError(
                f"{entity} {item!r} is not allowed; give labels of letters and digits "
                f"like '{entity}-01' or '01', or whole numbers"
            )
    return out


def text_values(entity: str, value: object) -> list[str]:
    """The values of a free-text filter (``suffix``, ``extension``): a non-empty string or
    a non-empty list of them."""
    items = list(value) if isinstance(value, list | tuple | set) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise UsageError(f"{entity} {value!r} is not allowed; give text like 'bold'")
    return [str(v) for v in items]
