"""The package's errors: one base class; each subclass also derives from the builtin it refines."""

from __future__ import annotations


class LaionFmriError(Exception):
    """Base class of every error this package raises on purpose."""


class UsageError(LaionFmriError, ValueError):
    """A value given by the user is not allowed; the message names it and what is allowed."""


class ServerError(LaionFmriError, RuntimeError):
    """The local S3 server could not be started or did not answer."""


class BucketError(LaionFmriError, RuntimeError):
    """The bucket could not be listed or read (unknown bucket, unreachable endpoint, ...)."""


class BuildError(LaionFmriError, RuntimeError):
    """Building or updating the superdataset failed for one or more items."""


class RepoError(LaionFmriError, RuntimeError):
    """A git, git-annex or DataLad command failed; the message names the command, the
    repository and the first line of what the tool said."""


class MissingContentError(LaionFmriError, FileNotFoundError):
    """A file the loaders need is registered in the dataset but its content is not here."""


class DataMismatchError(LaionFmriError, ValueError):
    """Two files of the dataset that must agree do not (a trial table and its betas, a
    ``model.h5`` and its mask); the message names both files' figures."""


class PinWarning(UserWarning):
    """An installed subdataset is not at the commit the checked-out superdataset records:
    what is read there is another version than the one the superdataset (and its citation)
    names. The message names the subdataset, both commits and the command that fixes it."""
