"""Sphinx configuration for Concord's documentation.

Build with ``make docs`` (or ``sphinx-build -W -b html docs docs/_build/html``).
The pages are hand-written: there is no autodoc, so the docs build does not
depend on the packages importing, and no intersphinx, so it needs no network.
"""

from importlib import metadata

project = "Concord"
author = "the Concord authors"
project_copyright = "the Concord authors"

# The installed distribution knows its version (setup.py is the one source).
try:
    release = metadata.version("concord")
except metadata.PackageNotFoundError:  # building from a tree that is not installed
    release = "unknown"
version = ".".join(release.split(".")[:2])

extensions: list[str] = []

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []

html_theme = "alabaster"  # ships with Sphinx: nothing to download
html_title = f"Concord {release}"
html_theme_options = {
    "description": "One IaaS engine, two standards: OCCI 1.2 and CIMI 2.0",
    "fixed_sidebar": True,
}
