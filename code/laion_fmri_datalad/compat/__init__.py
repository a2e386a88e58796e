"""Code written for upstream's ``laion_fmri`` package, run unchanged on a clone.

Two ways in (``docs/porting.md``):

* ``laion-fmri-datalad compat [-d CLONE] -- COMMAND ...`` runs COMMAND with ``import
  laion_fmri`` resolving to this layer (``shim/`` first on ``PYTHONPATH``), ``laion-fmri`` on
  ``PATH`` for its subprocesses, and the clone as upstream's data directory (``runner.py``);
* ``install_as_laion_fmri(dataset)`` in a running Python, a notebook for instance, as
  PyMySQL's ``install_as_MySQLdb()`` does (``install.py``).

Neither installs anything under upstream's name, and neither shadows upstream's own package:
where ``laion_fmri`` is installed, one line says so and which to use. The names are those of
upstream at the revision its tutorial pins (``a9db514``) and that Brain-Score calls
(``api.py``, ``datadir.py``, ``embeddings.py``); a name the layer does not serve is one line
naming it and the nearest call that works.
"""

from __future__ import annotations

from .install import install_as_laion_fmri

__all__ = ["install_as_laion_fmri"]
