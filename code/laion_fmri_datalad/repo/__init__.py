"""The one boundary to git, git-annex and DataLad.

Every subprocess call to git or git-annex and every use of the DataLad Python API in the
product goes through this package (in the manner of datalad-next's runners): the process
environment (identity, loopback allowance, PATH) is set here, and every failure becomes a
``RepoError`` whose one line names the command, the repository and the first line of what
the tool said.
"""

from __future__ import annotations

from .errors import RepoError

__all__ = ["RepoError"]
