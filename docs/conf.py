"""Sphinx configuration: the user and maintainer docs, built with warnings as errors
(``make docs``), the command-line reference generated from the parser (``_ext``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

from laion_fmri_datalad import __version__  # noqa: E402

project = "LAION-fMRI as a DataLad superdataset"
author = "the laion-fmri-datalad authors"
release = version = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "cli_reference", "env_variables"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
html_title = project
